"""Segment membership on DynamoDB Local: however the events arrive — shuffled, sent twice,
redelivered after their profile committed — the membership items, the size counters and the marks
in the profiles agree with each other and with what the rule says of the final profiles."""

from __future__ import annotations

import random
from typing import Any

import pytest

from asusual import clock
from asusual.errors import TransientError
from asusual.profiles.processor import live_profiles
from asusual.profiles.view import TenurePolicy
from asusual.segments.live import rule_evaluator
from asusual.segments.rules import parse_rule
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.segments import DynamoSegmentRepository

pytestmark = pytest.mark.slow

PET_FOOD = {"purchased": {"category": "pet food", "within_days": 90}}
TEA_TWICE = {"purchased": {"category": "tea", "min_count": 2}}


def purchase(who: dict[str, str], category: str, at: str, order: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "timestamp": at,
        "messageId": f"m-{order}",
        "properties": {
            "order_id": order,
            "currency": "RUB",
            "products": [{"product_id": f"sku-{category}", "category": category, "quantity": 1, "price": 10}],
        },
        **who,
    }


def story(seed: int) -> list[dict[str, Any]]:
    """Eight customers; some buy pet food or tea, some as anonymous visitors that a later identify
    merges into the customer; every event once, in an order the seed shuffles."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(8):
        user = {"userId": f"u{n}"}
        visitor = {"anonymousId": f"a{n}"}
        events.append({"type": "identify", "userId": f"u{n}", "anonymousId": f"a{n}",
                       "traits": {"email": f"u{n}@example.com"}, "timestamp": "2026-11-02T09:00:00Z",
                       "messageId": f"id-{n}"})  # fmt: skip
        for k in range(rng.randint(0, 3)):
            category = rng.choice(["pet food", "tea", "tea", "books"])
            day = rng.randint(1, 20)
            who = rng.choice([user, visitor])
            events.append(purchase(who, category, f"2026-11-{day:02d}T10:00:00Z", f"o-{n}-{k}"))
    rng.shuffle(events)
    return events


@pytest.fixture
def redelivered(monkeypatch):
    """The markers' first write fails, after the profiles committed, for every batch holding an
    event of every third message id: the batch's events are delivered again and must change
    nothing."""
    failed: set[str] = set()
    mark_all_seen = DynamoProfileRepository.mark_all_seen

    def flaky(self, message_ids, expires_at):
        chosen = [m for m in message_ids if hash(m) % 3 == 0 and m not in failed]
        if chosen:
            failed.update(chosen)
            raise TransientError("the data store is unavailable; retry")
        return mark_all_seen(self, message_ids, expires_at)

    monkeypatch.setattr(DynamoProfileRepository, "mark_all_seen", flaky)
    return failed


def exact(ddb: Any, table: str, items, segment_id: str, rule: dict) -> set[str]:
    """The segment's members, checked three ways against the final profiles; returns them."""
    segments = DynamoSegmentRepository(ddb, table)
    [segment] = [s for s in segments.segments() if s.segment_id == segment_id]
    stored = items()
    profiles = DynamoProfileRepository(ddb, table)
    ids = {pk.removeprefix("PROFILE#") for pk, sk in stored if sk == "PROFILE"}
    live = {p.profile_id: p for p in live_profiles(profiles, ids).values()}
    evaluate = rule_evaluator("RU", TenurePolicy())
    expected = {pid for pid, p in live.items() if evaluate(parse_rule(rule), p.state(), clock.now()).member}
    items_say = {
        sk.removeprefix("M#") for pk, sk in stored if pk == f"SEGMENT#{segment_id}#{segment.incarnation}"
    }
    marks_say = {pid for pid, p in live.items() if p.segments.get(segment_id, None) is not None
                 and p.segments[segment_id].incarnation == segment.incarnation}  # fmt: skip
    assert items_say == expected
    assert marks_say == expected
    assert segments.sizes().get(segment.counter, 0) == len(expected)
    return expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_membership_stays_exact_under_shuffled_duplicated_and_redelivered_events(
    seed, send, admin_api, engine, ddb, table, items, redelivered
):
    assert (
        admin_api(
            "POST", "/v1/segments", {"segment_id": "pet-food", "name": "Pet food", "rule": PET_FOOD}
        ).status
        == 201
    )
    engine.run()
    events = story(seed)
    rng = random.Random(seed)
    twice = events + rng.sample(events, len(events) // 3)  # a client that sent some of them again
    for start in range(0, len(twice), 5):
        send("web_local_key", *twice[start : start + 5])
    assert redelivered  # some events really were applied twice
    live_members = exact(ddb, table, items, "pet-food", PET_FOOD)
    # a segment defined afterwards is back-filled to the same exactness
    assert (
        admin_api(
            "POST", "/v1/segments", {"segment_id": "tea", "name": "Tea twice", "rule": TEA_TWICE}
        ).status
        == 201
    )
    engine.run()
    exact(ddb, table, items, "tea", TEA_TWICE)
    assert exact(ddb, table, items, "pet-food", PET_FOOD) == live_members
