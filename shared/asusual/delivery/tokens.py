"""Signed, expiring link tokens for the links a message carries (one-click unsubscribe, "why am I
getting this").

A token is ``<payload>.<signature>``: the payload is the claims as compact JSON (short keys, the
expiry in epoch seconds), base64url without padding; the signature is the HMAC-SHA256 of the
payload's ASCII text with the first secret, base64url without padding. Every secret verifies, so
a new secret is put first and the old one kept until the links it signed have expired.

The claims are not encrypted: a token only ever holds ids the customer's own message shows, never
an address or a name (links are logged by mail scanners and proxies). ``to`` is read from tokens
signed before that, not written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from asusual.errors import Forbidden

MAX_TOKEN_LENGTH = 4096  # longer input is refused before any decoding
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class LinkPurpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    WHY = "why"
    CONFIRM_CONSENT = "confirm_consent"  # confirmed opt-in: the address confirms an asserted consent


class LinkClaims(BaseModel):
    model_config = ConfigDict(frozen=True)

    purpose: LinkPurpose
    message_id: str
    profile_id: str
    channel: str
    topic: str
    to: str | None = None
    expires_at: datetime


# claim name in the token -> field of LinkClaims (the expiry is handled apart: epoch seconds)
_SHORT = {"p": "purpose", "m": "message_id", "u": "profile_id", "c": "channel", "t": "topic", "a": "to"}


def sign_link(claims: LinkClaims, secrets: Sequence[bytes]) -> str:
    """The token for ``claims``, signed with ``secrets[0]``. The expiry is kept to the second
    (rounded down: a link never lives longer than asked)."""
    if not secrets:
        raise ValueError("sign_link needs at least one secret")
    if claims.expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    compact: dict[str, Any] = {
        short: getattr(claims, name) for short, name in _SHORT.items() if getattr(claims, name) is not None
    }
    compact["e"] = int(claims.expires_at.timestamp())
    text = json.dumps(compact, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    payload = _b64encode(text.encode())
    return f"{payload}.{_signature(payload, secrets[0])}"


def verify_link(token: str, secrets: Sequence[bytes], *, purpose: LinkPurpose, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token made for ``purpose``; otherwise Forbidden with code
    ``invalid_link`` (garbage, tampering, unknown secret), ``wrong_link`` (another purpose) or
    ``link_expired``."""
    if not secrets:
        raise ValueError("verify_link needs at least one secret")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    claims = _genuine_claims(token, secrets)
    if claims is None:
        raise Forbidden("token: invalid signature", code="invalid_link")
    if claims.purpose != purpose:
        raise Forbidden(f"token: made for {claims.purpose.value}, not {purpose.value}", code="wrong_link")
    if now >= claims.expires_at:
        raise Forbidden("token: the link has expired", code="link_expired")
    return claims


def link_url(base_url: str, path: str, token: str) -> str:
    """``base_url`` (with or without a path prefix or trailing slash) + ``path`` + the token as the
    ``token`` query parameter, keeping any query ``path`` already has."""
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ValueError(f"link base URL must be an absolute http(s) URL, got {base_url!r}")
    target = urlsplit(path)
    joined_path = base.path.rstrip("/") + "/" + target.path.lstrip("/")
    query = urlencode([*parse_qsl(target.query, keep_blank_values=True), ("token", token)])
    return urlunsplit((base.scheme, base.netloc, joined_path, query, ""))


def _genuine_claims(token: object, secrets: Sequence[bytes]) -> LinkClaims | None:
    """The claims when the token is well formed and signed by one of ``secrets``, else None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        return None
    payload, signature = token.split(".")
    given = signature.encode("ascii")
    matched = False
    for secret in secrets:  # every secret is compared, whichever matches
        matched |= hmac.compare_digest(_signature(payload, secret).encode("ascii"), given)
    if not matched:
        return None
    try:
        compact = json.loads(_b64decode(payload))
        if not isinstance(compact, dict):
            return None
        expires = compact.get("e")
        if not isinstance(expires, int) or isinstance(expires, bool):
            return None
        fields = {name: compact[short] for short, name in _SHORT.items() if short in compact}
        return LinkClaims.model_validate(
            {**fields, "expires_at": datetime.fromtimestamp(expires, UTC)}, strict=False
        )
    except (ValueError, TypeError, OverflowError, OSError, ValidationError):
        return None


def _signature(payload: str, secret: bytes) -> str:
    return _b64encode(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
