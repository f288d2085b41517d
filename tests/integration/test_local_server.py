"""The local server over real HTTP: the stock Segment client, time travel, queue draining."""

import json
from datetime import UTC, datetime

import pytest

from asusual.intake.models import EventType
from asusual.local.gateway import API_METHODS, LocalGateway
from asusual.local.runtime import Consumer, Schedule
from asusual.store.queues import decode_event
from tests.integration.local_http import http

pytestmark = pytest.mark.slow


@pytest.fixture
def server(runtime):
    gateway = LocalGateway(runtime, port=0).start()
    yield gateway
    gateway.stop()


@pytest.mark.parametrize("gzip", [False, True])
def test_segment_python_client_calls_land_on_the_queue_with_their_fields(server, runtime, gzip):
    from segment.analytics.client import Client

    errors = []
    client = Client(
        write_key="web_local_key",
        host=server.url,
        sync_mode=True,
        gzip=gzip,
        on_error=lambda e, batch: errors.append(e),
        max_retries=0,
    )
    client.identify("user-42", {"email": "anna@example.com", "firstName": "Анна"}, anonymous_id="anon-1")
    client.track("user-42", "Product Viewed", {"product_id": "sku-1", "price": 12.5})
    client.page("user-42", category="Shop", name="Home", properties={"path": "/"})
    client.flush()
    assert errors == []
    events = {e.type.value: e for e in (decode_event(m["Body"]) for m in runtime.peek("events"))}
    assert set(events) == {"identify", "track", "page"}
    identify, track, page = events["identify"], events["track"], events["page"]
    assert identify.user_id == "user-42" and identify.anonymous_id == "anon-1"
    assert identify.traits == {"email": "anna@example.com", "firstName": "Анна"}
    assert track.event == "Product Viewed" and track.properties == {"product_id": "sku-1", "price": 12.5}
    assert page.name == "Home" and page.properties["path"] == "/"
    for event in events.values():
        assert event.source.source_id == "web_local" and event.source.channel.value == "web"
        assert not event.message_id_generated  # the client's messageId is kept
        assert event.context["library"]["name"] == "analytics-python"
        assert event.sent_at is not None and event.received_at is not None


def test_segment_client_with_unknown_key_gets_401_with_code_and_message(server):
    from segment.analytics.client import Client
    from segment.analytics.request import APIError

    client = Client(write_key="wrong", host=server.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as err:
        client.track("u", "E")
    assert (err.value.status, err.value.code) == (401, "unauthorized")


def test_local_clock_set_moves_time_for_intake_and_needs_admin_key(server, runtime):
    assert (
        http(server, "POST", "/_local/clock", {"now": "2027-02-28T23:30:00Z"}, key="read_local_key")[0] == 403
    )
    assert http(server, "POST", "/_local/clock", {"now": "2027-02-28T23:30:00Z"}, key=None)[0] == 401
    status, body = http(server, "POST", "/_local/clock", {"now": "2027-03-01T02:30:00+03:00", "frozen": True})
    assert status == 200 and body == {"now": "2027-02-28T23:30:00+00:00", "frozen": True}
    assert http(server, "GET", "/_local/clock")[1]["now"] == "2027-02-28T23:30:00+00:00"
    http(server, "POST", "/v1/page", {"anonymousId": "a"}, key="web_local_key")
    [message] = runtime.peek("events")
    assert decode_event(message["Body"]).received_at == datetime(2027, 2, 28, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "now"),
        ({"now": "soon"}, "now"),
        ({"now": "2027-01-01T00:00:00"}, "now"),
        ({"now": "2027-01-01T00:00:00Z", "frozen": "yes"}, "frozen"),
    ],
)
def test_local_clock_bad_input_is_400_naming_the_field(server, body, field):
    status, answer = http(server, "POST", "/_local/clock", body)
    assert status == 400 and answer["message"].split(":")[0] == field


def test_local_run_drains_queue_into_consumer_with_partial_failures_and_dlq(server, runtime):
    seen = []

    def consumer(event, context):
        failures = []
        for record in event["Records"]:
            message = decode_event(record["body"])
            seen.append((message.message_id, record["attributes"]["ApproximateReceiveCount"]))
            assert record["eventSource"] == "aws:sqs"
            if message.message_id.startswith("poison"):
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    runtime.add_consumer("events", Consumer("event_processor", consumer))
    batch = [{"type": "page", "anonymousId": "a", "messageId": f"ok-{i}"} for i in range(12)]
    batch.append({"type": "page", "anonymousId": "a", "messageId": "poison-1"})
    assert http(server, "POST", "/v1/batch", {"batch": batch}, key="web_local_key")[0] == 200
    status, report = http(server, "POST", "/_local/run")
    assert status == 200
    assert report["queues"]["events"] == {"delivered": 12, "failed": 5, "waiting": 0, "dead_lettered": 1}
    assert sorted(m for m, _ in seen if m.startswith("ok")) == sorted(f"ok-{i}" for i in range(12))
    assert [count for m, count in seen if m == "poison-1"] == ["1", "2", "3", "4", "5"]


def test_local_run_fires_due_schedules_by_the_clock(server, runtime):
    fired = []
    runtime.schedules.clear()  # only the probe schedule (the sweeps are tested on their own)
    runtime.add_schedule(
        Schedule(
            "hourly",
            every=__import__("datetime").timedelta(hours=1),
            function_name="sweep",
            handler=lambda e, c: fired.append((e["time"], runtime.clock.now().isoformat())),
        )
    )
    http(server, "POST", "/_local/clock", {"now": "2027-01-01T10:00:00Z", "frozen": True})
    assert http(server, "POST", "/_local/run")[1]["schedules"] == {"hourly": 1}
    assert http(server, "POST", "/_local/run")[1]["schedules"] == {"hourly": 0}
    http(server, "POST", "/_local/clock", {"now": "2027-01-01T13:00:00Z"})
    assert http(server, "POST", "/_local/run")[1]["schedules"] == {"hourly": 3}
    # each missed tick fires with the clock at that tick, as EventBridge would have invoked it
    assert [t for t, _ in fired] == [
        "2027-01-01T10:00:00Z",
        "2027-01-01T11:00:00Z",
        "2027-01-01T12:00:00Z",
        "2027-01-01T13:00:00Z",
    ]
    assert [now[:19] for _, now in fired] == [t[:19] for t, _ in fired]
    assert http(server, "GET", "/_local/clock")[1]["now"].startswith("2027-01-01T13:00")


def test_local_outbox_is_an_empty_list_before_delivery_exists(server):
    assert http(server, "GET", "/_local/outbox") == (200, [])


def test_openapi_json_is_served_and_lists_every_intake_route(server):
    status, document = http(server, "GET", "/openapi.json", key=None)
    assert status == 200
    assert {f"/v1/{k}" for k in ("batch", *EventType)} <= set(document["paths"])


def test_unknown_path_is_404_json(server):
    assert http(server, "GET", "/nope", key=None) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_local/clock"), ("POST", "/_local/clock"), ("POST", "/_local/run"), ("GET", "/_local/outbox")],
)
@pytest.mark.parametrize(("key", "status"), [(None, 401), ("read_local_key", 403), ("web_local_key", 403)])
def test_local_routes_need_the_admin_key(server, method, path, key, status):
    body = {"now": "2027-01-01T00:00:00Z"} if method == "POST" else None
    assert http(server, method, path, body, key=key)[0] == status


def test_local_outbox_lists_a_delivered_message_with_every_design_field(server, runtime):
    from asusual.delivery.models import RECORD_FIELDS

    http(server, "POST", "/_local/clock", {"now": "2027-01-12T09:00:00Z", "frozen": True})
    identify = {"userId": "u-1", "traits": {"email": "ivan@example.com", "firstName": "Иван",
                                            "timezone": "Asia/Yekaterinburg"}}  # fmt: skip
    order = {"userId": "u-1", "event": "Order Completed",
             "properties": {"order_id": "o-1", "total": 990, "currency": "RUB"}}  # fmt: skip
    assert http(server, "POST", "/v1/identify", identify, key="web_local_key")[0] == 200
    assert http(server, "POST", "/v1/track", order, key="web_local_key")[0] == 200
    http(server, "POST", "/_local/run")
    status, [message] = http(server, "GET", "/_local/outbox")
    assert status == 200
    assert RECORD_FIELDS == ("id", "profile_id", "channel", "to", "subject", "body", "trigger", "template",
                             "locale", "sent_at", "local_sent_at", "why_url")  # fmt: skip
    assert set(RECORD_FIELDS) <= set(message)
    assert message["channel"] == "email" and message["to"] == "ivan@example.com"
    assert message["trigger"] == "order_placed" and message["locale"] == "ru"
    assert message["sent_at"] == "2027-01-12T09:00:00Z"
    assert message["local_sent_at"] == "2027-01-12T14:00:00+05:00"
    assert "o-1" in message["subject"] and message["body"] and message["template"].startswith("order_placed")
    # the why link points at this gateway, whatever its port, and opens without a key
    assert message["why_url"].startswith(server.url + "/v1/messages/")
    status, why = http(server, "GET", message["why_url"][len(server.url) :], key=None)
    assert status == 200 and why["explanation"]["message_id"] == message["id"]


def test_local_run_consumes_what_a_schedule_tick_emits_at_the_time_of_that_tick(server, runtime):
    from asusual.store import clients

    consumed = []
    runtime.schedules.clear()

    def sweep(event, context):
        clients.sqs().send_message(QueueUrl=runtime.queue_urls["intents"], MessageBody=event["time"])

    def dispatcher(event, context):
        consumed.extend((r["body"], runtime.clock.now().isoformat()[:19]) for r in event["Records"])
        return {"batchItemFailures": []}

    runtime.add_schedule(Schedule("hourly", every=__import__("datetime").timedelta(hours=1),
                                  function_name="sweep", handler=sweep))  # fmt: skip
    runtime.add_consumer("intents", Consumer("dispatcher", dispatcher))
    http(server, "POST", "/_local/clock", {"now": "2027-01-01T10:00:00Z", "frozen": True})
    http(server, "POST", "/_local/run")
    http(server, "POST", "/_local/clock", {"now": "2027-01-01T13:30:00Z"})
    report = http(server, "POST", "/_local/run")[1]
    assert report["queues"]["intents"]["delivered"] == 3
    # a message a 11:00 tick emits is consumed at 11:00, as the event source mapping would at once
    assert consumed == [(f"2027-01-01T{h}:00:00Z", f"2027-01-01T{h}:00:00") for h in (10, 11, 12, 13)]


def raw_http(gateway, method, path, body=b"", headers=None):
    """(status, headers, body) of one request with any method, over a fresh connection."""
    import http.client

    host, port = gateway.server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "FOO", "PUT", "PATCH", "GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/nope", "/v1", "/_local/nope"])
def test_request_matching_no_route_is_api_gateways_404_json_whatever_the_method(server, method, path):
    status, headers, body = raw_http(
        server, method, path, b'{"a": 1}', {"Authorization": "Bearer admin_local_key"}
    )
    assert (status, headers["Content-Type"], body) == (404, "application/json", b'{"message":"Not Found"}')


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("OPTIONS", "/v1/profiles/user_id/u-1"),  # no page calls it: no preflight route
        ("PATCH", "/v1/track"),  # a method no route of the API uses, on a function's path
        ("FOO", "/v1/batch"),
        ("PATCH", "/v1/sources"),
        ("PATCH", "/v1/profiles/user_id/u-1"),
        ("TRACE", "/v1/decide"),
        ("OPTIONS", "/_local/clock"),  # a local route, with a method it does not have
        ("PUT", "/_local/run"),
        ("POST", "/openapi.json"),
    ],
)
def test_method_no_route_uses_is_api_gateways_404_json_not_501_html(server, method, path):
    status, headers, body = raw_http(
        server, method, path, headers={"Authorization": "Bearer admin_local_key"}
    )
    assert (status, headers["Content-Type"], body) == (404, "application/json", b'{"message":"Not Found"}')


@pytest.mark.parametrize("path", ["/nope", "/v1/track", "/_local/clock", "/openapi.json"])
def test_head_is_404_with_the_json_headers_and_no_body_and_the_connection_stays_usable(server, path):
    import http.client

    host, port = server.server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert (head.status, head.getheader("Content-Type"), head.getheader("Content-Length")) == (
            404,
            "application/json",
            "23",
        )
        assert head.read() == b""
        connection.request("GET", "/_local/health")  # the same connection: the HEAD answer sent no body
        after = connection.getresponse()
        assert (after.status, after.read()) == (200, b'{"ok": true}')
    finally:
        connection.close()


def test_path_inside_a_function_is_answered_by_the_function_with_its_own_404(server):
    status, _headers, body = raw_http(server, "POST", "/v1/track/extra", b"{}")
    assert (status, json.loads(body)) == (
        404,
        {"code": "not_found", "message": "no route POST /v1/track/extra"},
    )


def test_gateway_methods_are_the_methods_of_the_api_document():
    from pathlib import Path

    document = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text("utf-8"))
    documented = {method.upper() for operations in document["paths"].values() for method in operations}
    assert documented | {"OPTIONS"} == API_METHODS  # a preflight is CORS, not an operation


@pytest.fixture
def key_cache_seconds(monkeypatch):
    """The key cache's TTL, short (the runtime started after this reads it)."""
    monkeypatch.setenv("ASUSUAL_KEY_CACHE_SECONDS", "2")
    return 2.0


def create_source(server, source_id, **fields):
    status, created = http(
        server,
        "POST",
        "/v1/sources",
        {"source_id": source_id, "name": source_id, "channel": "store", "country": "RU", **fields},
    )
    assert status == 201, created
    return created["key"]


TRACK = {"userId": "u", "event": "E"}


def test_revoked_key_is_refused_within_the_cache_ttl_of_real_time_while_the_clock_is_frozen(
    key_cache_seconds, server
):
    import time

    http(server, "POST", "/_local/clock", {"now": "2027-01-01T10:00:00Z", "frozen": True})
    key = create_source(server, "pos-frozen")
    cached_at = time.monotonic()
    assert http(server, "POST", "/v1/track", TRACK, key=key)[0] == 200  # the intake caches the key
    assert http(server, "DELETE", "/v1/sources/pos-frozen")[0] == 200
    time.sleep(max(0.0, cached_at + key_cache_seconds + 0.1 - time.monotonic()))
    status, answer = http(server, "POST", "/v1/track", TRACK, key=key)
    assert (status, answer["code"]) == (401, "unauthorized")
    assert http(server, "GET", "/_local/clock")[1] == {"now": "2027-01-01T10:00:00+00:00", "frozen": True}


def test_throttled_key_recovers_after_real_seconds_while_the_clock_is_frozen(server):
    import time

    http(server, "POST", "/_local/clock", {"now": "2027-01-01T10:00:00Z", "frozen": True})
    key = create_source(server, "pos-slow", rate_limit=1, burst=1)
    assert http(server, "POST", "/v1/track", TRACK, key=key)[0] == 200
    throttled_at = time.monotonic()
    status, answer = http(server, "POST", "/v1/track", TRACK, key=key)
    assert (status, answer["code"]) == (429, "throttled")
    time.sleep(max(0.0, throttled_at + 1.1 - time.monotonic()))
    assert http(server, "POST", "/v1/track", TRACK, key=key)[0] == 200
