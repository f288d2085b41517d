"""No key is ever logged: every API driven with real keys (Bearer, Basic base64(key:), writeKey in
the body), refused keys too, the package logger at DEBUG, every event logged whole (what
POWERTOOLS_LOGGER_LOG_EVENT=true does), the root logger (powertools, botocore) at DEBUG, and the
local gateway over real HTTP: no raw key, nor its Basic form, anywhere in what was written."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from asusual.access.keys import generate_key
from asusual.access.models import KeyScope
from asusual.local.functions import API_FUNCTIONS
from asusual.local.gateway import LocalGateway
from asusual.local.runtime import ADMIN_KEY
from asusual.observability import logger
from tests.integration.api_calls import as_text_body, authorization, call, event_for, invoke
from tests.integration.conftest import Answer

TRACK = {"userId": "u-1", "event": "Order Completed", "properties": {"order_id": "o-1"}}


@pytest.fixture
def issued(runtime) -> dict[str, str]:
    """Real keys (asu_ format) made through the admin API, and two that were never issued."""
    created = call(runtime, "POST", "/v1/sources", key=ADMIN_KEY,
                   body={"source_id": "pos", "name": "POS", "channel": "store"})  # fmt: skip
    read = call(runtime, "POST", "/v1/keys", key=ADMIN_KEY, body={"scope": "read", "label": "site"})
    admin = call(runtime, "POST", "/v1/keys", key=ADMIN_KEY, body={"scope": "admin", "label": "ops"})
    assert created.status == read.status == admin.status == 201
    return {
        "write": created.json()["key"],
        "read": read.json()["key"],
        "admin": admin.json()["key"],
        "unknown write": generate_key(KeyScope.WRITE),
        "unknown admin": generate_key(KeyScope.ADMIN),
    }


def logging_event_too(runtime: Any, event: dict[str, Any]) -> Answer:
    """Invoke as with POWERTOOLS_LOGGER_LOG_EVENT=true: the whole event is logged first."""
    method = event["requestContext"]["http"]["method"]
    function = next(f for f in API_FUNCTIONS if f.serves(method, event["rawPath"]))
    handler = logger.inject_lambda_context(log_event=True)(function.load().lambda_handler)
    result = runtime.invoke(function.name, handler, event)
    return Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())


def forms(key: str) -> list[str]:
    """A key as it may appear: itself, and the Basic credentials carrying it."""
    return [key, base64.b64encode(f"{key}:".encode()).decode(), base64.b64encode(key.encode()).decode()]


def assert_nowhere(text: str, keys: dict[str, str]) -> None:
    leaked = [name for name, key in keys.items() for form in forms(key) if form in text]
    assert not leaked, f"keys in the logs: {leaked}"


def requests(keys: dict[str, str]) -> list[tuple[str, str, str, Any, int]]:
    """(method, target, key, body, expected status) across every API function."""
    write, read, admin = keys["write"], keys["read"], keys["admin"]
    decide = {
        "identifier": {"type": "user_id", "value": "u-1"},
        "placement": "site_greeting",
        "channel": "web",
    }
    product = {"product_id": "sku-1", "name": "Cat food", "price": 10, "currency": "RUB"}
    return [
        ("POST", "/v1/track", write, TRACK, 200),
        ("POST", "/v1/batch", write, {"batch": [TRACK, {"type": "track", "event": "no user"}]}, 200),
        ("POST", "/v1/track", read, TRACK, 403),
        ("POST", "/v1/track", keys["unknown write"], TRACK, 401),
        ("GET", "/v1/profiles/user_id/u-1", read, None, 404),
        ("GET", "/v1/profiles/user_id/u-1", write, None, 403),
        ("POST", "/v1/profiles/p_1/unmerge", admin, {"merged_profile_id": "p_2"}, 404),
        ("POST", "/v1/decide", read, decide, 200),
        ("GET", "/v1/messages/m_1/why", read, None, 404),
        ("GET", "/v1/messages?profile_id=p_1", read, None, 200),
        ("POST", "/v1/catalog/products", admin, product, 200),
        ("GET", "/v1/catalog/products/sku-1", read, None, 200),
        ("GET", "/v1/sources", admin, None, 200),
        ("GET", "/v1/sources", read, None, 403),
        ("GET", "/v1/sources", keys["unknown admin"], None, 401),
        ("POST", "/v1/sources/pos/rotate", admin, {"overlap_hours": 1}, 200),
        ("GET", "/v1/keys", admin, None, 200),
        ("POST", "/v1/keys", admin, {"scope": "read", "label": "more"}, 201),
        ("DELETE", "/v1/keys/0123456789ab", admin, None, 404),
    ]


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_no_key_is_logged_by_any_api_whatever_the_caller_sends(runtime, issued, log_text, auth):
    for method, target, key, body, status in requests(issued):
        for invoke_with in (invoke, logging_event_too):
            event = event_for(method, target, key=key, body=body, auth=auth)
            for sent in (event, as_text_body(event)):
                answer = invoke_with(runtime, sent)
                assert answer.status == status, (method, target, answer.body)
    runtime.run()  # the event processor and dispatcher log too
    text = log_text()
    assert_nowhere(text, issued)
    # the logs were captured, whole events included, with their credentials blanked
    assert (
        '"authorization":"<redacted>"' in text.replace(" ", "") and '"message":"source key rotated"' in text
    )
    assert '"message":"rejected messages"' in text


def test_no_key_is_logged_when_intake_gets_it_as_write_key_in_the_body(runtime, issued, log_text):
    for key, status in ((issued["write"], 200), (issued["unknown write"], 401), (issued["read"], 403)):
        for message in (TRACK, {"batch": [TRACK, {"type": "track"}]}):
            body = {**message, "writeKey": key}
            target = "/v1/batch" if "batch" in message else "/v1/track"
            for invoke_with in (invoke, logging_event_too):
                event = event_for("POST", target, body=body)
                for sent in (event, as_text_body(event)):
                    assert invoke_with(runtime, sent).status == status
    runtime.run()
    text = log_text()
    assert_nowhere(text, issued)
    assert "writeKey" in text and "asu_w_<redacted>" in text  # the logged event body, key replaced


def test_no_key_is_logged_through_the_local_gateway(runtime, issued, log_text):
    gateway = LocalGateway(runtime, port=0).start()
    try:
        for method, target, key, body, status in requests(issued):
            for auth in ("bearer", "basic"):
                request = urllib.request.Request(
                    gateway.url + target, data=json.dumps(body).encode() if body is not None else None,
                    method=method, headers={"Content-Type": "application/json",
                                            "Authorization": authorization(key, auth)},
                )  # fmt: skip
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        got = response.status
                except urllib.error.HTTPError as err:
                    got = err.code
                assert got == status, (method, target, auth)
    finally:
        gateway.stop()
    assert_nowhere(log_text(), issued)
