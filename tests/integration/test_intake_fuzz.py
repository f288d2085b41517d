"""Whatever a client sends, intake never answers 5xx (5xx makes clients retry forever)."""

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "type",
        "userId",
        "anonymousId",
        "messageId",
        "timestamp",
        "sentAt",
        "context",
        "integrations",
        "traits",
        "properties",
        "event",
        "name",
        "groupId",
        "previousId",
        "writeKey",
    ]
)
messages = st.dictionaries(
    field_names,
    json_values | st.sampled_from(["track", "identify", "page", "2026-11-23T10:00:00Z", "x" * 120, ""]),
    max_size=8,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(messages | json_values, max_size=6).map(lambda b: json.dumps({"batch": b}).encode()),
    messages.map(lambda m: json.dumps(m).encode()),
    st.dictionaries(
        st.sampled_from(["batch", "context", "integrations", "sentAt", "writeKey"]), json_values
    ).map(lambda b: json.dumps(b).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/v1/batch", "/v1/track", "/v1/identify", "/v1/page", "/v1/alias", "/v1/group"]),
    body=bodies,
    compress=st.booleans(),
    encoding=st.sampled_from([None, "gzip", "deflate"]),
)
def test_malformed_bodies_never_produce_5xx(intake, path, body, compress, encoding):
    raw = gzip.compress(body) if compress else body
    headers = {"content-encoding": encoding} if encoding else {}
    answer = intake(path, raw=raw, headers=headers)
    assert answer.status < 500, answer.body
    assert answer.status in (200, 400), answer.body
    payload = answer.json()
    if answer.status == 400:
        assert set(payload) == {"code", "message"} and payload["message"]
    else:
        assert payload["success"] is True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["user_id", "email", "phone", "anonymous_id", "loyalty_card", "Bad Type", "%", "é"])
    | st.text(min_size=1, max_size=12),
    value=st.text(min_size=1, max_size=40),
)
def test_profile_lookups_of_any_identifier_never_produce_5xx(profiles_api, kind, value):
    from urllib.parse import quote

    answer = profiles_api("GET", f"/v1/profiles/{quote(kind, safe='')}/{quote(value, safe='')}")
    assert answer.status in (400, 404), answer.body  # nothing is stored: a lookup never finds anyone
    assert set(answer.json()) >= {"code", "message"}, answer.body
