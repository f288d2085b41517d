import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from asusual.access.models import Channel
from asusual.errors import BadRequest
from asusual.intake.models import EventType, SourceContext, TimeCorrection
from asusual.intake.parsing import (
    MAX_BATCH_MESSAGES,
    MAX_BODY_BYTES,
    decode_body,
    event_time,
    parse_request,
    write_key_in_body,
)

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SOURCE = SourceContext(source_id="web", channel=Channel.WEB, country="RU")


def batch(*items, **envelope):
    return parse_request({"batch": list(items), **envelope}, kind=None, source=SOURCE, received_at=RECEIVED)


def test_decode_body_gzip_returns_same_object():
    body = {"batch": [{"type": "track", "userId": "u", "event": "E"}]}
    assert decode_body(gzip.compress(json.dumps(body).encode()), "gzip") == body


def test_decode_body_invalid_json_is_400_naming_body():
    with pytest.raises(BadRequest, match="body: not valid JSON"):
        decode_body(b"{not json", None)


def test_decode_body_array_is_400():
    with pytest.raises(BadRequest, match="body: must be a JSON object"):
        decode_body(b"[1, 2]", None)


def test_decode_body_over_500kb_is_400_body_too_large():
    raw = json.dumps({"batch": [], "pad": "x" * MAX_BODY_BYTES}).encode()
    with pytest.raises(BadRequest) as err:
        decode_body(raw, None)
    assert err.value.code == "body_too_large"


def test_decode_body_gzip_bomb_is_400_without_inflating_everything():
    bomb = gzip.compress(b" " * (50 * 1024 * 1024))
    with pytest.raises(BadRequest) as err:
        decode_body(bomb, "gzip")
    assert err.value.code == "body_too_large"


def test_decode_body_broken_gzip_is_400_bad_encoding():
    with pytest.raises(BadRequest) as err:
        decode_body(b"\x1f\x8b\x08garbage", "gzip")
    assert err.value.code == "bad_encoding"


def test_decode_body_unknown_encoding_is_400_naming_header():
    with pytest.raises(BadRequest, match="Content-Encoding"):
        decode_body(b"{}", "br")


def test_write_key_in_body_only_nonempty_strings():
    assert write_key_in_body({"writeKey": "k"}) == "k"
    assert write_key_in_body({"writeKey": ""}) is None
    assert write_key_in_body({"writeKey": 5}) is None


def test_batch_valid_and_invalid_items_keeps_valid_and_names_fields():
    parsed = batch(
        {"type": "track", "userId": "u1", "event": "Order Completed", "messageId": "m1"},
        {"type": "track", "userId": "u1", "messageId": "m2"},
        {"type": "identify", "messageId": "m3", "traits": {"email": "a@b.c"}},
        "not an object",
        {"type": "alias", "userId": "u1", "messageId": "m5"},
        {"type": "group", "anonymousId": "a", "messageId": "m6"},
        {"type": "teleport", "userId": "u", "messageId": "m7"},
        {"type": "page", "userId": "u", "timestamp": "yesterday", "messageId": "m8"},
    )
    assert [e.message_id for e in parsed.events] == ["m1"]
    reasons = {r.index: (r.message_id, r.reason) for r in parsed.rejections}
    assert reasons[1] == ("m2", "batch[1].event: required for track")
    assert reasons[2] == ("m3", "batch[2].userId or anonymousId: one of them is required")
    assert reasons[3] == (None, "batch[3]: must be a JSON object")
    assert reasons[4] == ("m5", "batch[4].previousId: required for alias")
    assert reasons[5] == ("m6", "batch[5].groupId: required for group")
    assert reasons[6][1].startswith("batch[6].type: ")
    assert reasons[7][1].startswith("batch[7].timestamp: ")


def test_batch_missing_array_is_400_naming_batch():
    with pytest.raises(BadRequest, match="batch: required"):
        parse_request({"messages": []}, kind=None, source=SOURCE, received_at=RECEIVED)


def test_batch_over_2500_messages_is_400():
    items = [{"type": "page", "anonymousId": "a"}] * (MAX_BATCH_MESSAGES + 1)
    with pytest.raises(BadRequest, match="2500"):
        batch(*items)


def test_batch_of_exactly_2500_messages_is_accepted():
    items = [{"type": "page", "anonymousId": "a", "messageId": f"m{i}"} for i in range(MAX_BATCH_MESSAGES)]
    assert len(batch(*items).events) == MAX_BATCH_MESSAGES


def test_message_over_32kb_is_rejected_alone():
    big = {
        "type": "track",
        "userId": "u",
        "event": "E",
        "messageId": "big",
        "properties": {"x": "y" * 33_000},
    }
    parsed = batch(big, {"type": "track", "userId": "u", "event": "E", "messageId": "ok"})
    assert [e.message_id for e in parsed.events] == ["ok"]
    assert parsed.rejections[0].message_id == "big"
    assert "32 KB" in parsed.rejections[0].reason


def test_message_id_over_100_chars_is_rejected_naming_message_id():
    parsed = batch({"type": "page", "userId": "u", "messageId": "x" * 101})
    assert parsed.rejections[0].reason.startswith("batch[0].messageId: ")


def test_single_message_type_comes_from_the_path():
    parsed = parse_request(
        {"type": "page", "userId": "u", "event": "Signed Up"},
        kind=EventType.TRACK,
        source=SOURCE,
        received_at=RECEIVED,
    )
    assert parsed.events[0].type is EventType.TRACK
    assert parsed.events[0].event == "Signed Up"


def test_single_message_rejection_has_no_batch_prefix():
    parsed = parse_request({"event": "E"}, kind=EventType.TRACK, source=SOURCE, received_at=RECEIVED)
    assert parsed.rejections[0].reason == "userId or anonymousId: one of them is required"


def test_numeric_user_id_becomes_string_and_blank_counts_as_missing():
    parsed = batch(
        {"type": "identify", "userId": 42}, {"type": "identify", "userId": "  ", "anonymousId": ""}
    )
    assert parsed.events[0].user_id == "42"
    assert "userId or anonymousId" in parsed.rejections[0].reason


def test_envelope_context_and_integrations_merge_into_items_item_wins():
    parsed = batch(
        {"type": "page", "anonymousId": "a", "context": {"locale": "en-GB", "page": {"path": "/x"}}},
        {"type": "page", "anonymousId": "b"},
        context={"locale": "ru-RU", "page": {"referrer": "r"}, "ip": "1.2.3.4"},
        integrations={"All": True},
    )
    first, second = parsed.events
    assert first.context == {"locale": "en-GB", "page": {"referrer": "r", "path": "/x"}, "ip": "1.2.3.4"}
    assert second.context == {"locale": "ru-RU", "page": {"referrer": "r"}, "ip": "1.2.3.4"}
    assert first.integrations == second.integrations == {"All": True}


def test_event_time_corrects_client_clock_skew():
    # client clock is 2 hours fast: it says the event was 10 s before sending
    timestamp = datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC)
    sent_at = timestamp + timedelta(seconds=10)
    assert event_time(timestamp, sent_at, RECEIVED) == (RECEIVED - timedelta(seconds=10), None)


def test_event_time_without_sent_at_trusts_timestamp_and_without_timestamp_is_received_at():
    timestamp = datetime(2026, 11, 20, tzinfo=UTC)
    assert event_time(timestamp, None, RECEIVED) == (timestamp, None)
    assert event_time(None, None, RECEIVED) == (RECEIVED, None)


def test_rudderstack_original_timestamp_without_timestamp_is_the_client_time_corrected_for_skew():
    # RudderStack's SDKs: originalTimestamp and sentAt, no timestamp (a beacon batch sent 10 s later)
    parsed = batch(
        {"type": "track", "anonymousId": "a", "event": "E", "messageId": "m1",
         "originalTimestamp": "2026-11-23T14:00:00.000Z", "sentAt": "2026-11-23T14:00:10.000Z"},
    )  # fmt: skip
    [event] = parsed.events
    assert (event.timestamp, event.original_timestamp, event.time_corrected) == (
        RECEIVED - timedelta(seconds=10),
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        None,
    )


def test_timestamp_and_original_timestamp_both_sent_timestamp_wins():
    parsed = batch(
        {"type": "page", "anonymousId": "a", "messageId": "m1", "timestamp": "2026-11-23T11:00:00Z",
         "originalTimestamp": "2026-11-23T10:00:00Z"},
    )  # fmt: skip
    assert parsed.events[0].timestamp == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_original_timestamp_not_a_date_rejects_the_message_naming_it():
    parsed = batch({"type": "page", "anonymousId": "a", "messageId": "m1", "originalTimestamp": "yesterday"})
    assert parsed.events == []
    assert parsed.rejections[0].reason.startswith("batch[0].originalTimestamp: ")


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected"),
    [
        # a forged or wrong clock: nothing happens after it arrived
        (datetime(2099, 1, 1, tzinfo=UTC), None, (RECEIVED, TimeCorrection.FUTURE)),
        (RECEIVED + timedelta(seconds=1), None, (RECEIVED, TimeCorrection.FUTURE)),
        # sentAt earlier than the timestamp: "sent before it happened" puts the event in the future
        (RECEIVED, RECEIVED - timedelta(hours=1), (RECEIVED, TimeCorrection.FUTURE)),
        # sentAt at the calendar's start is no time at all: the timestamp alone, clamped
        (
            datetime.max.replace(tzinfo=UTC),
            datetime.min.replace(tzinfo=UTC),
            (RECEIVED, TimeCorrection.FUTURE),
        ),
        # a .NET client's unset DateTime, with or without a real sentAt
        (datetime.min.replace(tzinfo=UTC), RECEIVED, (RECEIVED, TimeCorrection.IMPLAUSIBLE)),
        (datetime(1969, 12, 31, tzinfo=UTC), None, (RECEIVED, TimeCorrection.IMPLAUSIBLE)),
        # a skew correction that would land before 1970
        (
            datetime(1971, 1, 1, tzinfo=UTC),
            datetime(2099, 1, 1, tzinfo=UTC),
            (RECEIVED, TimeCorrection.IMPLAUSIBLE),
        ),
        (datetime(1970, 1, 1, tzinfo=UTC), None, (datetime(1970, 1, 1, tzinfo=UTC), None)),
    ],
)
def test_event_time_past_arrival_or_implausible_is_the_arrival_and_says_why(timestamp, sent_at, expected):
    assert event_time(timestamp, sent_at, RECEIVED) == expected


def test_batch_extreme_dates_are_kept_with_the_arrival_as_event_time_and_the_original_recorded():
    parsed = batch(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "9999-12-31T23:59:59Z",
            "sentAt": "0001-01-01T00:00:00Z",
        },
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "0001-01-01T00:00:00Z",
            "sentAt": "2026-11-23T12:00:00Z",
        },
        {"type": "track", "userId": "u", "event": "E", "timestamp": "9999-12-31T23:59:59-05:00"},
        {"type": "track", "userId": "u", "event": "E", "timestamp": "0001-01-01T00:00:00+03:00"},
        {"type": "track", "userId": "u", "event": "E", "timestamp": "2099-01-01T00:00:00Z"},
    )
    assert parsed.rejections == []
    assert [(e.timestamp, e.time_corrected) for e in parsed.events] == [
        (RECEIVED, TimeCorrection.FUTURE),
        (RECEIVED, TimeCorrection.IMPLAUSIBLE),
        (RECEIVED, TimeCorrection.FUTURE),
        (RECEIVED, TimeCorrection.IMPLAUSIBLE),
        (RECEIVED, TimeCorrection.FUTURE),
    ]
    assert parsed.events[0].original_timestamp == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parsed.events[4].original_timestamp == datetime(2099, 1, 1, tzinfo=UTC)
    assert parsed.corrected_times == 5


def _nested(depth: int) -> dict:
    """An object ``depth`` levels deep (this one counted): {"a": {"a": ... {}}}."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_batch_bad_items_are_rejected_alone_naming_the_field_and_the_valid_ones_kept():
    parsed = batch(
        {"type": "track", "userId": "u", "event": "E", "messageId": "ok-1"},
        {"type": "track", "userId": "u", "event": "E", "properties": {"x": "\ud800"}},
        {"type": "track", "userId": "\ud800", "event": "E"},
        {"type": "track", "userId": "u", "event": "E", "messageId": "\ud800"},
        {"type": "identify", "userId": "u", "traits": {"\ud800": 1}},
        {"type": "track", "userId": "u", "event": "E", "properties": _nested(900)},
        {"type": "track", "userId": "u", "event": "E", "properties": {"n": float("inf")}},
        {"type": "track", "userId": "u", "event": "E", "messageId": "ok-2"},
    )
    assert [e.message_id for e in parsed.events] == ["ok-1", "ok-2"]
    reasons = {r.index: r.reason for r in parsed.rejections}
    assert reasons[1] == "batch[1].properties.x: not valid Unicode text (a lone surrogate such as \\ud800)"
    assert reasons[2] == "batch[2].userId: not valid Unicode text (a lone surrogate such as \\ud800)"
    assert reasons[3] == "batch[3].messageId: not valid Unicode text (a lone surrogate such as \\ud800)"
    assert reasons[4] == "batch[4].traits.<key>: the field name is not valid Unicode text (a lone surrogate)"
    assert reasons[5] == "batch[5].properties" + ".a" * 31 + ": nested deeper than 32 levels"
    assert reasons[6] == "batch[6].properties.n: not a finite number"
    assert [r.message_id for r in parsed.rejections] == [None] * 6


def test_message_nested_to_the_limit_is_accepted_and_one_level_more_is_rejected():
    # the message is level 1 and properties level 2: 31 levels of properties reach the limit
    assert batch({"type": "track", "userId": "u", "event": "E", "properties": _nested(31)}).rejections == []
    deeper = batch({"type": "track", "userId": "u", "event": "E", "properties": _nested(32)})
    assert deeper.events == [] and deeper.rejections[0].reason.endswith("nested deeper than 32 levels")


def test_decode_body_nested_beyond_any_parser_is_400_not_a_crash():
    with pytest.raises(BadRequest, match="nested too deeply") as err:
        decode_body(b'{"batch": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None)
    assert err.value.code == "invalid_json"


def test_decode_body_integer_too_long_for_python_is_rejected_with_its_item_only():
    body = decode_body(
        b'{"batch": [{"type": "track", "userId": "u", "event": "E", "properties": {"n": '
        + b"9" * 5000
        + b'}}, {"type": "track", "userId": "u", "event": "E"}]}',
        None,
    )
    parsed = parse_request(body, kind=None, source=SOURCE, received_at=RECEIVED)
    assert len(parsed.events) == 1
    assert [r.reason for r in parsed.rejections] == ["batch[0].properties.n: not a finite number"]


def test_batch_envelope_context_counts_toward_each_message_limit():
    # a 151-byte item with a 40 KB batch context would be queued as a 40 KB message
    parsed = batch({"type": "track", "userId": "u", "event": "E"}, context={"pad": "x" * 40_000})
    assert parsed.events == []
    assert parsed.rejections[0].reason.startswith("batch[0].message: ")
    assert parsed.rejections[0].reason.endswith(
        "bytes with the batch context merged in exceeds the 32 KB limit"
    )


def test_batch_envelope_cannot_multiply_a_small_body_past_4_mb_of_queue_payload():
    # 2,500 tiny items with a 30 KB context: each fits 32 KB, together they would be 75 MB
    items = [{"type": "track", "userId": "u", "event": "E", "messageId": f"m{i}"} for i in range(2500)]
    parsed = batch(*items, context={"pad": "x" * 30_000})
    accepted = len(parsed.events)
    assert 0 < accepted < 2500
    assert parsed.queued_bytes <= 4 * 1024 * 1024 < parsed.queued_bytes + 30_100
    assert len(parsed.rejections) == 2500 - accepted
    assert parsed.rejections[0].index == accepted and parsed.rejections[0].message_id == f"m{accepted}"
    assert "exceed 4 MB together" in parsed.rejections[0].reason


def test_batch_sent_at_applies_to_items_without_one():
    parsed = batch(
        {"type": "page", "anonymousId": "a", "timestamp": "2026-11-23T15:59:50+03:00"},
        sentAt="2026-11-23T16:00:00+03:00",
    )
    event = parsed.events[0]
    assert event.timestamp == RECEIVED - timedelta(seconds=10)
    assert event.original_timestamp == datetime(2026, 11, 23, 12, 59, 50, tzinfo=UTC)
    assert event.received_at == RECEIVED


def test_naive_timestamp_is_read_as_utc():
    parsed = batch({"type": "page", "anonymousId": "a", "timestamp": "2026-11-23T10:00:00"})
    assert parsed.events[0].timestamp == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_generated_message_id_is_stable_across_retries_of_the_same_request():
    item = {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-11-23T10:00:00Z"}
    first = batch(item).events[0]
    retry = parse_request(
        {"batch": [item]}, kind=None, source=SOURCE, received_at=RECEIVED + timedelta(minutes=5)
    ).events[0]
    assert first.message_id_generated
    assert first.message_id == retry.message_id
    assert first.message_id.startswith("auto-")
    assert len(first.message_id) <= 100


def test_generated_message_id_differs_for_different_events_and_sources():
    a = batch({"type": "track", "userId": "u", "event": "A"}).events[0]
    b = batch({"type": "track", "userId": "u", "event": "B"}).events[0]
    other_source = SourceContext(source_id="pos", channel=Channel.STORE)
    c = parse_request(
        {"batch": [{"type": "track", "userId": "u", "event": "A"}]},
        kind=None,
        source=other_source,
        received_at=RECEIVED,
    ).events[0]
    assert len({a.message_id, b.message_id, c.message_id}) == 3


def test_event_carries_its_source_and_channel():
    event = batch({"type": "identify", "userId": "u", "traits": {"firstName": "Анна"}}).events[0]
    assert event.source == SOURCE
    assert event.traits == {"firstName": "Анна"}


def test_null_objects_are_empty_and_wrong_types_name_the_field():
    parsed = batch(
        {"type": "identify", "userId": "u", "traits": None, "context": None},
        {"type": "identify", "userId": "u", "traits": ["not", "an", "object"]},
    )
    assert parsed.events[0].traits == {} and parsed.events[0].context == {}
    assert parsed.rejections[0].reason.startswith("batch[1].traits: ")


def test_batch_context_that_breaks_a_rule_is_named_as_the_batchs_in_every_rejection():
    parsed = batch(
        {"type": "track", "userId": "u", "event": "E", "messageId": "m1"},
        {"type": "track", "userId": "u", "event": "E", "messageId": "m2"},
        context={"\ud800": "x"},
    )
    assert parsed.events == []
    reason = "batch context.<key>: the field name is not valid Unicode text (a lone surrogate)"
    assert [r.reason for r in parsed.rejections] == [f"{reason} (merged into every message)"] * 2
