import gzip
import json
from datetime import timedelta

import pytest

from asusual.access import service
from asusual.access.models import Channel
from asusual.errors import Throttled
from asusual.intake.models import EventType

from .conftest import basic


def test_track_with_segment_basic_auth_lands_on_queue_with_source_and_channel(intake, queued, clock):
    answer = intake(
        "/v1/track",
        {"userId": "u1", "event": "Product Viewed", "messageId": "m1", "properties": {"product_id": "sku-1"}},
    )
    assert answer.status == 200 and answer.json() == {"success": True}
    [event] = queued()
    assert event.message_id == "m1" and event.type is EventType.TRACK
    assert event.source.source_id == "web_local" and event.source.channel is Channel.WEB
    assert event.source.country == "RU"
    assert event.received_at == clock.now() and event.properties == {"product_id": "sku-1"}


@pytest.mark.parametrize("kind", ["identify", "track", "page", "screen", "group", "alias"])
def test_each_single_endpoint_enqueues_its_type(intake, queued, kind):
    body = {
        "userId": "u1",
        "anonymousId": "a1",
        "event": "E",
        "groupId": "g",
        "previousId": "a0",
        "name": "Home",
    }
    assert intake(f"/v1/{kind}", body).status == 200
    assert [e.type.value for e in queued()] == [kind]


def test_basic_auth_without_colon_and_bearer_and_body_write_key_all_authenticate(intake, queued):
    body = {"anonymousId": "a", "name": "Home"}
    assert (
        intake("/v1/page", body, headers={"authorization": basic("web_local_key", colon=False)}).status == 200
    )
    assert intake("/v1/page", body, headers={"authorization": "Bearer app_local_key"}).status == 200
    assert intake("/v1/page", {**body, "writeKey": "store_local_key"}, key=None).status == 200
    assert sorted(e.source.channel.value for e in queued()) == ["app", "store", "web"]


def test_store_source_defaults_travel_with_the_event(intake, queued):
    intake("/v1/track", {"userId": "u", "event": "Order Completed"}, key="store_local_key")
    [event] = queued()
    assert (event.source.timezone, event.source.store_id) == ("Europe/Moscow", "store-001")


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(None, 401, "unauthorized"), ("unknown_key", 401, "unauthorized"), ("read_local_key", 403, "forbidden")],
)
def test_missing_unknown_or_non_write_key_is_refused_and_nothing_enqueued(intake, queued, key, status, code):
    answer = intake("/v1/track", {"userId": "u", "event": "E"}, key=key)
    assert answer.status == status
    assert answer.json()["code"] == code
    assert "Authorization" in answer.json()["message"]
    assert queued() == []


def test_unknown_key_is_401(intake):
    assert intake("/v1/batch", {"batch": []}, key="nope").status == 401


def test_revoked_source_key_is_401_after_the_cache_ttl(intake, runtime, clock):
    assert intake("/v1/page", {"anonymousId": "a"}).status == 200
    service.revoke_source(runtime.access_repository(), "web_local")
    clock.advance(timedelta(seconds=61))
    answer = intake("/v1/page", {"anonymousId": "a"})
    assert answer.status == 401 and answer.json()["code"] == "unauthorized"


def test_rotated_key_overlap_then_old_key_refused(intake, runtime, clock):
    new = service.rotate_source_key(
        runtime.access_repository(), "web_local", now=clock.now(), overlap=timedelta(hours=1)
    )
    assert intake("/v1/page", {"anonymousId": "a"}, key=new.key).status == 200
    assert intake("/v1/page", {"anonymousId": "a"}).status == 200  # old key, inside the overlap
    clock.advance(timedelta(hours=1, seconds=1))
    assert intake("/v1/page", {"anonymousId": "a"}).status == 401
    assert intake("/v1/page", {"anonymousId": "a"}, key=new.key).status == 200


def test_batch_with_invalid_items_enqueues_valid_and_lists_rejections(intake, queued):
    answer = intake(
        "/v1/batch",
        {
            "batch": [
                {"type": "track", "userId": "u", "event": "A", "messageId": "ok-1"},
                {"type": "track", "userId": "u", "messageId": "bad-1"},
                {"type": "identify", "userId": "u", "messageId": "ok-2"},
                {"type": "page", "messageId": "bad-2"},
            ]
        },
    )
    assert answer.status == 200
    assert answer.json() == {
        "success": True,
        "rejected": [
            {"index": 1, "messageId": "bad-1", "reason": "batch[1].event: required for track"},
            {
                "index": 3,
                "messageId": "bad-2",
                "reason": "batch[3].userId or anonymousId: one of them is required",
            },
        ],
    }
    assert sorted(e.message_id for e in queued()) == ["ok-1", "ok-2"]


def test_batch_of_only_invalid_items_is_still_200_with_every_rejection(intake, queued):
    answer = intake("/v1/batch", {"batch": [{"type": "track"}, {"type": "nope", "userId": "u"}]})
    assert answer.status == 200
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]
    assert queued() == []


def test_rejections_are_counted_in_a_metric(intake, capsys):
    intake("/v1/batch", {"batch": [{"type": "track"}, {"type": "page", "anonymousId": "a"}]})
    metric_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(
        m.get("MessagesRejected") == [1.0] and m.get("MessagesAccepted") == [1.0] for m in metric_lines
    )


def test_gzip_batch_is_accepted(intake, queued):
    raw = gzip.compress(
        json.dumps({"batch": [{"type": "page", "anonymousId": "a", "messageId": "gz"}]}).encode()
    )
    assert intake("/v1/batch", raw=raw, headers={"content-encoding": "gzip"}).status == 200
    assert [e.message_id for e in queued()] == ["gz"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{oops", "invalid_json"),
        (b"[]", "invalid_json"),
        (b"", "invalid_json"),
        (json.dumps({"batch": "x"}).encode(), "invalid_batch"),
        (json.dumps({"batch": [], "pad": "x" * 600_000}).encode(), "body_too_large"),
        (json.dumps({"batch": [{"type": "page", "anonymousId": "a"}] * 2501}).encode(), "batch_too_large"),
    ],
)
def test_unusable_body_is_400_with_code_and_message(intake, queued, raw, code):
    answer = intake("/v1/batch", raw=raw)
    assert answer.status == 400
    assert answer.json()["code"] == code and answer.json()["message"]
    assert queued() == []


def test_full_batch_of_2500_messages_is_sent_in_sqs_sized_batches(intake, monkeypatch):
    # moto's SQS slows quadratically with thousands of messages: record the calls instead.
    from asusual.store import clients

    calls = []

    def record(**kwargs):
        calls.append(kwargs["Entries"])
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}

    monkeypatch.setattr(clients.sqs(), "send_message_batch", record)
    items = [{"type": "track", "userId": f"u{i}", "event": "E", "messageId": f"m{i}"} for i in range(2500)]
    assert intake("/v1/batch", {"batch": items}).json() == {"success": True}
    bodies = [json.loads(e["MessageBody"]) for call in calls for e in call]
    assert sorted(b["message_id"] for b in bodies) == sorted(f"m{i}" for i in range(2500))
    assert all(len(call) <= 10 and sum(len(e["MessageBody"]) for e in call) <= 256 * 1024 for call in calls)


def test_batch_spanning_several_sqs_batches_lands_every_message_once(intake, queued):
    items = [{"type": "track", "userId": f"u{i}", "event": "E", "messageId": f"m{i}"} for i in range(35)]
    assert intake("/v1/batch", {"batch": items}).json() == {"success": True}
    assert sorted(e.message_id for e in queued()) == sorted(f"m{i}" for i in range(35))


def test_large_messages_are_split_within_the_sqs_batch_size(intake, queued):
    items = [
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "messageId": f"m{i}",
            "properties": {"blob": "x" * 30_000},
        }
        for i in range(15)
    ]
    assert intake("/v1/batch", {"batch": items}).status == 200
    assert len(queued()) == 15


def test_queue_throttling_is_429_with_retry_after(intake, monkeypatch):
    from asusual.store.queues import SqsEventPublisher

    def throttled(self, events):
        raise Throttled("the events queue is throttled; retry", retry_after=3)

    monkeypatch.setattr(SqsEventPublisher, "publish", throttled)
    answer = intake("/v1/track", {"userId": "u", "event": "E"})
    assert answer.status == 429 and answer.headers["Retry-After"] == "3"


def test_queue_outage_is_503_with_retry_after(intake, monkeypatch, runtime):
    from botocore.exceptions import EndpointConnectionError

    from asusual.store import clients

    def down(**_kwargs):
        raise EndpointConnectionError(endpoint_url="https://sqs")

    monkeypatch.setattr(clients.sqs(), "send_message_batch", down)
    answer = intake("/v1/track", {"userId": "u", "event": "E"})
    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert "events queue" in answer.json()["message"]


def test_sqs_entries_failing_twice_are_retried_then_succeed(intake, queued, monkeypatch):
    from asusual.store import clients

    client = clients.sqs()
    real = client.send_message_batch
    calls = []

    def flaky(**kwargs):
        calls.append(len(kwargs["Entries"]))
        if len(calls) <= 2:
            first = kwargs["Entries"][0]
            response = (
                real(**{**kwargs, "Entries": kwargs["Entries"][1:]}) if len(kwargs["Entries"]) > 1 else {}
            )
            return {
                **response,
                "Failed": [{"Id": first["Id"], "SenderFault": False, "Code": "InternalError"}],
            }
        return real(**kwargs)

    monkeypatch.setattr(client, "send_message_batch", flaky)
    items = [{"type": "page", "anonymousId": "a", "messageId": f"m{i}"} for i in range(3)]
    assert intake("/v1/batch", {"batch": items}).status == 200
    assert calls == [3, 1, 1]
    assert sorted(e.message_id for e in queued()) == ["m0", "m1", "m2"]


def test_source_rate_limit_answers_429_with_retry_after(intake, runtime, clock):
    issued = service.create_source(
        runtime.access_repository(),
        source_id="slow",
        name="Slow POS",
        channel=Channel.STORE,
        now=clock.now(),
        rate_limit=1,
        burst=2,
    )
    for _ in range(2):
        assert intake("/v1/page", {"anonymousId": "a"}, key=issued.key).status == 200
    answer = intake("/v1/page", {"anonymousId": "a"}, key=issued.key)
    assert answer.status == 429 and int(answer.headers["Retry-After"]) >= 1
    clock.advance(timedelta(seconds=1))
    assert intake("/v1/page", {"anonymousId": "a"}, key=issued.key).status == 200


def test_unknown_route_is_404_json(intake):
    answer = intake("/v1/nope", {})
    assert answer.status == 404 and answer.json()["code"] == "not_found"


def test_unexpected_error_is_500_without_details(intake, monkeypatch):
    from asusual.store.queues import SqsEventPublisher

    def broken(self, events):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(SqsEventPublisher, "publish", broken)
    answer = intake("/v1/track", {"userId": "u", "event": "E"})
    assert answer.status == 500 and "secret" not in answer.body.decode()


# -- the paths the browser SDKs post to (issue: the web shop for real) -----------------------------

SHORT = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias"}


@pytest.mark.parametrize(("letter", "kind"), sorted(SHORT.items()))
def test_analytics_next_short_path_enqueues_its_type(intake, queued, letter, kind):
    body = {
        "userId": "u1",
        "anonymousId": "a1",
        "event": "E",
        "groupId": "g",
        "previousId": "a0",
        "name": "H",
    }
    answer = intake(f"/v1/{letter}", body, headers={"content-type": "text/plain"})
    assert answer.status == 200 and answer.json() == {"success": True}
    assert [e.type.value for e in queued()] == [kind]


def test_analytics_next_batch_path_with_text_plain_body_and_write_key_in_it_enqueues_every_message(
    intake, queued
):
    body = {
        "batch": [
            {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "b1"},
            {"type": "track", "anonymousId": "a1", "event": "Product Viewed", "messageId": "b2"},
        ],
        "writeKey": "web_local_key",
        "sentAt": "2027-03-05T08:00:00Z",
    }
    answer = intake("/v1/b", body, headers={"content-type": "text/plain"}, key=None)
    assert answer.status == 200 and answer.json() == {"success": True}
    assert [(e.message_id, e.type.value) for e in queued()] == [("b1", "page"), ("b2", "track")]


def test_rudderstack_beacon_batch_with_write_key_in_query_enqueues_the_batch(intake, queued):
    body = {"batch": [{"type": "track", "anonymousId": "a1", "event": "Cart Viewed", "messageId": "r1"}]}
    answer = intake(
        "/beacon/v1/batch?writeKey=web_local_key", body, headers={"content-type": "text/plain"}, key=None
    )
    assert answer.status == 200 and answer.json() == {"success": True}
    [event] = queued()
    assert (event.message_id, event.source.source_id) == ("r1", "web_local")


@pytest.mark.parametrize(
    ("query", "status"), [("", 401), ("?writeKey=unknown", 401), ("?writeKey=read_local_key", 403)]
)
def test_beacon_batch_without_a_usable_write_key_in_query_is_refused_and_queues_nothing(
    intake, queued, query, status
):
    body = {"batch": [{"type": "track", "anonymousId": "a1", "event": "Cart Viewed"}]}
    assert intake(f"/beacon/v1/batch{query}", body, key=None).status == status
    assert queued() == []


def test_write_key_in_query_is_read_only_on_the_beacon_path(intake, queued):
    body = {"anonymousId": "a1", "event": "E"}
    assert intake("/v1/track?writeKey=web_local_key", body, key=None).status == 401
    assert queued() == []
