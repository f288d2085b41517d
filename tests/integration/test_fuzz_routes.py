"""Every route of the API, fed generated input — lone surrogates, deep nesting, far-future and year-1
dates, huge numbers, bytes that are not UTF-8, any key or none — never answers 5xx; a valid message
beside bad ones is never lost; and nothing intake accepts fails later in the event processor."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asusual.intake.models import SegmentMessage
from asusual.local.functions import API_FUNCTIONS, INTAKE_API
from asusual.local.gateway import api_gateway_event
from asusual.local.openapi import document

from .conftest import basic

pytestmark = pytest.mark.slow

ROUTES = sorted((path, method.upper()) for path, ops in document()["paths"].items() for method in ops)
INTAKE = {rule for _method, rule in INTAKE_API.routes()}  # the batch and one per Segment call type
KEYS = [None, "web_local_key", "browser_local_key", "read_local_key", "admin_local_key", "\ud800", "x" * 5000]

nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["\ud800", "a\udfffb", "\x00", "null", "None", "{{ name }}", "{% raw %}", "' OR 1=1", "<a@b.c>"]
    ),
    st.sampled_from(['"x" <a@example.com>', "a@example.com, b@example.com", "8 (916) 123-45-67", "+0"]),
)
dates = st.sampled_from(
    ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+03:00",
     "2099-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-11-23T09:00:00Z", "2026-02-30", "not a date", ""]
)  # fmt: skip
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([10**40, -(10**30), 1e308]),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, nasty_text, dates)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=16,
)
# the Segment message's fields as the model declares them, and the other APIs' body fields
SEGMENT_FIELDS = sorted(f.alias or name for name, f in SegmentMessage.model_fields.items())
OTHER_FIELDS = (
    "writeKey email subscriptions products identifier placement channel merged_profile_id source_id"
)
FIELDS = [
    *SEGMENT_FIELDS,
    *OTHER_FIELDS.split(),
    "scope",
    "label",
    "overlap_hours",
    "price",
    "order_id",
    "seasons",
]
objects = st.dictionaries(st.sampled_from(FIELDS) | nasty_text, values, max_size=8)


def _deep(depth: int) -> str:
    return (
        '{"type": "track", "userId": "u", "event": "E", "properties": '
        + '{"a": ' * depth
        + "1"
        + "}" * depth
        + "}"
    )


raw_bodies = st.one_of(
    objects.map(lambda o: json.dumps(o).encode()),
    values.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda d: _deep(d).encode()),
    st.binary(max_size=64),
    st.just(b'{"a": "\xff\xfe"}'),
    st.just(b""),
)


# a browser's Origin, or none (a server): allowed for browser_local, another shop's, or junk
ORIGINS = [None, "http://127.0.0.1:5173", "https://evil.example", "null", "http://[::1", "x" * 5000]


def call(
    runtime: Any, method: str, target: str, body: bytes, key: str | None, origin: str | None = None
) -> tuple[int, bytes]:
    path = target.split("?", 1)[0]
    function = next(f for f in API_FUNCTIONS if f.serves(method, path))
    headers = {"content-type": "application/json"}
    if origin is not None:
        headers["origin"] = origin
    if key is not None:
        try:
            headers["authorization"] = basic(key) if path in INTAKE else f"Bearer {key}"
        except UnicodeEncodeError:  # a key no HTTP client could send in a header: sent in the body
            body = json.dumps({"writeKey": key}).encode()
    result = runtime.invoke(function.name, function.handler, api_gateway_event(method, target, headers, body))
    return result["statusCode"], (result.get("body") or "").encode("utf-8", "surrogatepass")


def fill(path: str, draw: Any) -> str:
    segments = []
    for segment in path.split("/"):
        if segment.startswith("{"):
            value = draw(nasty_text.filter(bool))
            segments.append(quote(value.encode("utf-8", "surrogatepass"), safe=""))
        else:
            segments.append(segment)
    return "/".join(segments)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_route_answers_generated_input_without_5xx(runtime, data):
    path, method = data.draw(st.sampled_from([r for r in ROUTES if r[0] not in INTAKE]))
    target = fill(path, data.draw)
    if data.draw(st.booleans()):
        query = data.draw(
            st.dictionaries(
                st.sampled_from(["token", "limit", "profile_id", "overlap_hours"]), nasty_text, max_size=3
            )
        )
        target += "?" + "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in query.items())
    key, origin = data.draw(st.sampled_from(KEYS)), data.draw(st.sampled_from(ORIGINS))
    status, body = call(runtime, method, target, data.draw(raw_bodies), key, origin)
    assert status < 500, (method, target, status, body[:300])


VALID = {"type": "track", "event": "Product Viewed", "properties": {"product_id": "sku-1"}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_intake_never_5xx_never_loses_a_valid_message_and_the_processor_takes_all_it_accepted(
    runtime, intake, data
):
    path = data.draw(st.sampled_from(sorted(INTAKE)))
    n = data.draw(st.integers(min_value=0, max_value=10**9))
    valid = {**VALID, "userId": f"fuzz-{n}", "messageId": f"valid-{n}"}
    if path == "/v1/batch":
        others = data.draw(st.lists(objects | values, max_size=5))
        position = data.draw(st.integers(min_value=0, max_value=len(others)))
        envelope = data.draw(
            st.dictionaries(st.sampled_from(["context", "integrations", "sentAt"]), values, max_size=2)
        )
        items = [*others[:position], valid, *others[position:]]
        body = json.dumps({**envelope, "batch": items}).encode()
    else:
        position = 0
        body = json.dumps({**data.draw(objects), **({} if path != "/v1/track" else valid)}).encode()
    answer = intake(path, raw=body)
    assert answer.status < 500, answer.body
    if path == "/v1/batch" and answer.status == 200:
        rejected = {r["index"]: r["reason"] for r in answer.json().get("rejected", [])}
        # the valid message is lost only to what the client's batch merged into it: a bad batch
        # context, integrations or sentAt, named as the batch's
        reason = rejected.get(position, "")
        assert position not in rejected or reason.endswith("(merged into every message)"), reason
    report = runtime.run()  # whatever intake accepted, the event processor takes: no failure, no DLQ
    assert report["queues"]["events"]["failed"] == report["queues"]["events"]["dead_lettered"] == 0, report
