"""Signed webhooks: the store POS and call-center channels.

The sender POSTs the message as JSON. The ``X-Asusual-Signature`` header is
``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` (the timestamp is signed with the body,
so a captured request cannot be replayed later with a new timestamp). Receivers check it with
:func:`verify_webhook` (or its equivalent in their language), reject old timestamps, and deduplicate
on ``X-Asusual-Message-Id``: a message is sent again when a previous attempt's answer was lost.

Outcomes: a 2xx answer is a delivery; 408, 425, 429, 5xx, timeouts and connection failures are
:class:`TransientError` (``Retry-After`` honoured when given in seconds); any other answer (other 4xx,
and redirects, which are not followed: a POST must not silently turn into a GET elsewhere) is a
:class:`PermanentFailure`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from asusual import clock as system_clock
from asusual.delivery.models import RECORD_FIELDS, OutgoingMessage, PermanentFailure, SendReceipt
from asusual.errors import Forbidden, TransientError

SIGNATURE_HEADER = "X-Asusual-Signature"
TIMESTAMP_HEADER = "X-Asusual-Timestamp"
MESSAGE_ID_HEADER = "X-Asusual-Message-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
WEBHOOK_FIELDS = (*RECORD_FIELDS, "topic")  # what a POS or call-center system receives
RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_HEADER_LENGTH = 1024
MAX_ANSWER_BYTES = 64 * 1024  # of the receiver's answer, read for its id
_SECONDS = re.compile(r"[0-9]{1,9}")


def sign_webhook(body: bytes, secret: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def verify_webhook(
    body: bytes, header: str, secrets: Sequence[bytes], *, now: datetime, tolerance_seconds: int = 300
) -> None:
    """Check a received webhook: returns when ``header`` signs ``body`` with one of ``secrets`` at
    most ``tolerance_seconds`` away from ``now``; raises Forbidden (``invalid_signature`` or
    ``stale_signature``) otherwise. Several ``v1`` entries are accepted (any one may match)."""
    if not secrets:
        raise ValueError("verify_webhook needs at least one secret")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parsed = _parse_signature(header)
    if parsed is None:
        raise Forbidden("webhook: malformed signature header", code="invalid_signature")
    timestamp, signatures = parsed
    matched = False
    for secret in secrets:
        expected = _digest(body, secret, timestamp).encode("ascii")
        for signature in signatures:
            matched |= hmac.compare_digest(expected, signature.encode("ascii"))
    if not matched:
        raise Forbidden("webhook: invalid signature", code="invalid_signature")
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise Forbidden("webhook: the signature is too old (or from the future)", code="stale_signature")


class WebhookSender:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        opener: Callable[..., Any] | None = None,
    ) -> None:
        """``opener(request, timeout=...)`` opens a ``urllib.request.Request`` (default: urllib
        without redirects); ``clock`` gives the signing time (default: :func:`asusual.clock.now`)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook URL must be an absolute http(s) URL")
        if not secret:
            raise ValueError("webhook secret must not be empty")
        self._url = url
        self._host = parts.hostname  # errors name the host only: the URL may carry a credential
        self._secret = secret
        self._timeout = timeout
        self._clock = clock or system_clock.now
        self._open = opener or _OPENER.open

    def send(self, message: OutgoingMessage) -> SendReceipt:
        body = webhook_body(message)
        timestamp = int(self._clock().timestamp())
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked (http/https) in __init__
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "asusual-webhook/1",
                SIGNATURE_HEADER: sign_webhook(body, self._secret, timestamp),
                TIMESTAMP_HEADER: str(timestamp),
                MESSAGE_ID_HEADER: message.id,
                IDEMPOTENCY_HEADER: message.send_once_key,
            },
        )
        try:
            response = self._open(request, timeout=self._timeout)
        except urllib.error.HTTPError as exc:  # urllib's answer to a status other than 2xx
            with contextlib.suppress(Exception):
                exc.close()  # the error holds the open answer
            raise self._refusal(exc.code, exc.headers) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransientError(f"webhook: {self._host} cannot be reached ({reason}); retry") from exc
        with response:
            status = _status(response)
            if not 200 <= status < 300:
                raise self._refusal(status, response.headers)
            return SendReceipt(provider_id=_answer_id(response))

    def _refusal(self, status: int, headers: _Headers | None) -> Exception:
        """The error for an answer other than 2xx."""
        if status in RETRYABLE_STATUSES or status >= 500:
            return TransientError(
                f"webhook: {self._host} answered {status}; retry", retry_after=_retry_after(headers)
            )
        return PermanentFailure(f"webhook: {self._host} refused the message ({status})")


def webhook_body(message: OutgoingMessage) -> bytes:
    """The JSON the receiver gets: the message's fields in :data:`WEBHOOK_FIELDS` order."""
    data = message.model_dump(mode="json")
    fields = {f: data[f] for f in WEBHOOK_FIELDS}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect())


def _digest(body: bytes, secret: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse_signature(header: object) -> tuple[int, list[str]] | None:
    """(timestamp, v1 signatures) of a ``t=...,v1=...`` header, or None when it is malformed."""
    if not isinstance(header, str) or len(header) > MAX_HEADER_LENGTH or not header.isascii():
        return None
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or len(timestamps[0]) > 12 or not signatures:
        return None
    return int(timestamps[0]), signatures


def _status(response: Any) -> int:
    status = getattr(response, "status", None)
    return int(status if status is not None else response.getcode())


def _answer_id(response: Any) -> str | None:
    """The ``id`` of a JSON object answer, if any. The message is delivered whatever the answer:
    failing to read it is not an error (a retry would deliver it twice)."""
    try:
        answer = json.loads(response.read(MAX_ANSWER_BYTES) or b"null")
    except (ValueError, OSError, http.client.HTTPException):
        return None
    value = answer.get("id") if isinstance(answer, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _retry_after(headers: _Headers | None) -> int:
    value = ((headers.get("Retry-After") if headers is not None else None) or "").strip()
    return min(int(value), 3600) if _SECONDS.fullmatch(value) else 1
