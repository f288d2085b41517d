"""Conversions on the real engine: orders counted for the holdout groups stay exact whatever the
order of arrival, the redeliveries (the same messageId again, the same order posted again, a
crash after counting and before the event's marker) and concurrent orders of one customer."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from asusual.errors import TransientError
from asusual.store import clients
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.triggers.ports import OrderConversion
from tests.engine.events import EMAIL_MARKETING, MOSCOW, concurrently, identify, order

pytestmark = pytest.mark.slow

PEOPLE = 12


@pytest.fixture(autouse=True)
def welcome_holdout(monkeypatch):
    """Set before the engine's runtime starts: half of the welcomes are held out."""
    monkeypatch.setenv("ASUSUAL_TRIGGER_HOLDOUTS", '{"welcome": 50}')


@pytest.fixture
def subscribers(send, profile, items) -> dict[str, tuple[str, str]]:
    """user id → (profile id, group), each welcomed (or held out) at 12:00 in Moscow."""
    send("web_local_key", *(identify(f"u-{n}", email=f"c{n}@example.com", timezone=MOSCOW,
                                     subscriptions=EMAIL_MARKETING) for n in range(PEOPLE)))  # fmt: skip
    out = {}
    for n in range(PEOPLE):
        pid = profile("user_id", f"u-{n}")["profile_id"]
        [exposure] = [
            i for (pk, sk), i in items().items() if pk == f"PROFILE#{pid}" and sk.startswith("EXPOSE#")
        ]
        out[f"u-{n}"] = (pid, exposure["group"]["S"])
    groups = {g for _, g in out.values()}
    assert groups == {"recipient", "holdout"}
    return out


def program(items) -> dict[str, Any]:
    item = items()[("PROGRAM#trigger#welcome", "PROGRAM")]
    return {
        k: (Decimal(v["N"]) if "N" in v else v.get("S")) for k, v in item.items() if k not in ("pk", "sk")
    }


def expected(orders: list[tuple[str, str, int]], subscribers) -> dict[str, Decimal]:
    """The counters the orders must give: per group, customers with an order, orders, revenue."""
    seen: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, Decimal] = defaultdict(Decimal)
    for user, order_id, total in orders:
        group = subscribers[user][1]
        if order_id not in seen[user]:
            counts[f"conv_{group}_orders"] += 1
            counts[f"conv_{group}_revenue"] += total
        seen[user].add(order_id)
    for user in seen:
        counts[f"conv_{subscribers[user][1]}_customers"] += 1
    return dict(counts)


@pytest.fixture
def crash_before_marker(monkeypatch):
    """The markers' write fails once for batches holding the first five order events: counted,
    then redelivered (with the rest of their batch's orders)."""
    mark_all_seen = DynamoProfileRepository.mark_all_seen
    failed: set[str] = set()

    def flaky(self, message_ids, expires_at):
        fresh = [m for m in message_ids if m.startswith("shuffled-") and m not in failed]
        if fresh and len(failed) < 5:
            failed.update(fresh[: 5 - len(failed)])
            raise TransientError("the data store is unavailable; retry")
        return mark_all_seen(self, message_ids, expires_at)

    monkeypatch.setattr(DynamoProfileRepository, "mark_all_seen", flaky)
    return failed


def test_conversions_are_exact_under_shuffled_redelivered_orders(
    send, at, items, subscribers, crash_before_marker
):
    rng = random.Random(20)
    at("2026-11-24T09:00:00Z")
    orders = [
        (user, f"o-{user}-{k}", rng.choice([100, 250, 990]))
        for user in subscribers
        for k in range(rng.randint(0, 3))
    ]
    events = []
    for user, order_id, total in orders:
        event = order(user, "Order Completed", order_id, "2026-11-24T08:00:00Z", f"shuffled-{order_id}",
                      total=total, currency="RUB")  # fmt: skip
        events += [event, event]  # the same messageId twice (an SQS redelivery)
        events.append({**event, "messageId": f"again-{order_id}"})  # the shop posts the order again
    rng.shuffle(events)
    for start in range(0, len(events), 7):
        send(rng.choice(["web_local_key", "store_local_key"]), *events[start : start + 7])

    assert len(crash_before_marker) == 5  # counted, crashed before the marker, and came again
    counters = program(items)
    want = expected(orders, subscribers)
    assert {k: v for k, v in counters.items() if k.startswith("conv_")} == want
    assert counters["audience"] == PEOPLE and counters["holdout"] + counters["sent"] == PEOPLE
    for user, (pid, _group) in subscribers.items():
        [exposure] = [
            i for (pk, sk), i in items().items() if pk == f"PROFILE#{pid}" and sk.startswith("EXPOSE#")
        ]
        mine = {o for u, o, _ in orders if u == user}
        assert set(exposure.get("orders", {}).get("SS", [])) == mine
        assert ("converted" in exposure) == bool(mine)


def test_concurrent_orders_of_one_customer_count_each_once_and_the_customer_once(items, subscribers, table):
    repo = DynamoConversionRepository(clients.dynamodb(), table)
    pid, group = subscribers["u-0"]
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    conversions = [
        OrderConversion(profile_ids=(pid,), order_id=f"c-{n % 4}", revenue=Decimal(10), at=at)
        for n in range(12)
    ]

    counted = concurrently(*(lambda c=c: repo.record_order(c) for c in conversions))

    assert sum(counted) == 4  # four distinct orders, each counted by exactly one of its three posts
    counters = program(items)
    assert (counters[f"conv_{group}_customers"], counters[f"conv_{group}_orders"]) == (1, 4)
    assert counters[f"conv_{group}_revenue"] == 40
