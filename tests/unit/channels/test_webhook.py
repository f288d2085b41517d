from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from asusual import clock
from asusual.channels.webhook import (
    WEBHOOK_FIELDS,
    WebhookSender,
    sign_webhook,
    verify_webhook,
    webhook_body,
)
from asusual.clock import ManualClock
from asusual.delivery.models import DeliveryChannel, PermanentFailure
from asusual.errors import Forbidden, TransientError
from tests.unit.delivery import SENT, message

SECRET = b"whsec_" + b"k" * 26
NOW = SENT + timedelta(seconds=2)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers ``status`` / ``answer``."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"id": "pos-42"}'
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.received.append(
                Received("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/asusual?k=1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sender(url: str, **options: Any) -> WebhookSender:
    return WebhookSender(url, SECRET, clock=lambda: NOW, **options)


def test_webhook_sender_post_is_signed_and_carries_the_message(receiver):
    msg = message(channel=DeliveryChannel.STORE, to="store-17", html=None)
    receipt = sender(receiver.url).send(msg)

    assert receipt.provider_id == "pos-42"
    [request] = receiver.received
    assert request.method == "POST" and request.path == "/hooks/asusual?k=1"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-asusual-message-id"] == "m_1"
    assert headers["idempotency-key"] == "birthday:p_1:2026"
    assert headers["x-asusual-timestamp"] == str(int(NOW.timestamp()))
    verify_webhook(request.body, headers["x-asusual-signature"], [SECRET], now=NOW + timedelta(seconds=30))

    body = json.loads(request.body)
    assert tuple(body) == WEBHOOK_FIELDS
    assert body["id"] == "m_1" and body["channel"] == "store" and body["to"] == "store-17"
    assert body["body"] == "Анна, для вас скидка 15% до воскресенья."
    assert body["sent_at"] == "2026-11-23T09:00:00Z"
    assert body["local_sent_at"] == "2026-11-23T12:00:00+03:00"
    assert body["why_url"] == msg.why_url and body["topic"] == "marketing"


def test_webhook_sender_without_clock_signs_with_the_system_clock(receiver):
    previous = clock.set_clock(ManualClock(NOW + timedelta(hours=5), frozen=True))
    try:
        WebhookSender(receiver.url, SECRET).send(message())
    finally:
        clock.set_clock(previous)
    headers = {k.lower(): v for k, v in receiver.received[0].headers.items()}
    assert headers["x-asusual-timestamp"] == str(int((NOW + timedelta(hours=5)).timestamp()))


def test_webhook_sender_answer_without_id_returns_no_provider_id(receiver):
    receiver.status, receiver.answer = 204, b""
    assert sender(receiver.url).send(message()).provider_id is None
    receiver.status, receiver.answer = 200, b"<html>ok</html>"
    assert sender(receiver.url).send(message()).provider_id is None


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
def test_webhook_sender_retryable_status_is_transient_error(receiver, status):
    receiver.status = status
    with pytest.raises(TransientError, match=str(status)):
        sender(receiver.url).send(message())


def test_webhook_sender_retry_after_in_seconds_is_honoured(receiver):
    receiver.status, receiver.headers = 429, {"Retry-After": "120"}
    with pytest.raises(TransientError) as caught:
        sender(receiver.url).send(message())
    assert caught.value.retry_after == 120


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_webhook_sender_client_error_status_is_permanent_failure(receiver, status):
    receiver.status = status
    with pytest.raises(PermanentFailure, match=str(status)):
        sender(receiver.url).send(message())


def test_webhook_sender_redirect_is_not_followed_and_is_permanent_failure(receiver):
    receiver.status, receiver.headers = 302, {"Location": "/elsewhere"}
    with pytest.raises(PermanentFailure, match="302"):
        sender(receiver.url).send(message())
    assert [r.path for r in receiver.received] == ["/hooks/asusual?k=1"]


def test_webhook_sender_connection_refused_is_transient_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="cannot be reached"):
        sender(f"http://127.0.0.1:{port}/hook").send(message())


def test_webhook_sender_timeout_is_transient_error():
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        with pytest.raises(TransientError, match="cannot be reached"):
            sender(url, timeout=0.2).send(message())


def test_webhook_sender_error_names_the_host_not_the_url():
    def refuse(request: object, timeout: float) -> object:
        raise OSError("boom")

    with pytest.raises(TransientError) as caught:
        sender("https://user:pw@pos.example.com/hook?key=secret", opener=refuse).send(message())
    assert "pos.example.com" in str(caught.value) and "secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "/relative", "https://"])
def test_webhook_sender_non_http_url_is_a_value_error(url):
    with pytest.raises(ValueError, match="http"):
        WebhookSender(url, SECRET)


def test_webhook_sender_empty_secret_is_a_value_error():
    with pytest.raises(ValueError, match="secret"):
        WebhookSender("https://pos.example.com/hook", b"")


def test_verify_webhook_stale_timestamp_is_forbidden():
    body = webhook_body(message())
    header = sign_webhook(body, SECRET, int(NOW.timestamp()))
    verify_webhook(body, header, [SECRET], now=NOW + timedelta(seconds=300))
    with pytest.raises(Forbidden) as caught:
        verify_webhook(body, header, [SECRET], now=NOW + timedelta(seconds=301))
    assert caught.value.code == "stale_signature"
    with pytest.raises(Forbidden, match="too old"):
        verify_webhook(body, header, [SECRET], now=NOW - timedelta(hours=1))


def test_verify_webhook_tampered_body_or_other_secret_is_forbidden():
    body = webhook_body(message())
    header = sign_webhook(body, SECRET, int(NOW.timestamp()))
    for args in [(body + b" ", header, [SECRET]), (body, header, [b"other"])]:
        with pytest.raises(Forbidden) as caught:
            verify_webhook(*args, now=NOW)
        assert caught.value.code == "invalid_signature"


def test_verify_webhook_new_timestamp_on_old_signature_is_forbidden():
    body = webhook_body(message())
    old = sign_webhook(body, SECRET, int(NOW.timestamp()) - 3600)
    replayed = f"t={int(NOW.timestamp())},{old.split(',')[1]}"
    with pytest.raises(Forbidden, match="invalid signature"):
        verify_webhook(body, replayed, [SECRET], now=NOW)


def test_verify_webhook_rotated_secrets_and_several_signatures_verify():
    body = b'{"id":"m_1"}'
    ts = int(NOW.timestamp())
    verify_webhook(body, sign_webhook(body, b"old", ts), [b"new", b"old"], now=NOW)
    both = f"t={ts},v1={'0' * 64},v1={sign_webhook(body, b'new', ts).split('v1=')[1]}"
    verify_webhook(body, both, [b"new"], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=,v1=",
        "t=abc,v1=00",
        "v1=00",
        "t=1",
        "t=1,t=2,v1=00",
        "t=١٢,v1=00",
        "t=1,v1=é",
        "t=" + "9" * 40,
    ],
)
def test_verify_webhook_malformed_header_is_forbidden(header):
    with pytest.raises(Forbidden) as caught:
        verify_webhook(b"{}", header, [SECRET], now=NOW)
    assert caught.value.code == "invalid_signature"


def test_sign_webhook_format_is_timestamp_and_hex_hmac():
    import hashlib
    import hmac

    header = sign_webhook(b'{"a":1}', b"key", 1700000000)
    expected = hmac.new(b"key", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_webhook_naive_now_is_a_value_error():
    body = b"{}"
    header = sign_webhook(body, SECRET, int(NOW.timestamp()))
    with pytest.raises(ValueError, match="timezone"):
        verify_webhook(body, header, [SECRET], now=NOW.replace(tzinfo=None))
