"""(d) The dispatcher: DynamoDB calls per delivered message on DynamoDB Local, by trigger; and CPU
time per message with its data already loaded (choose the channel, select the variant, render,
explain) as a ratio to rendering the chosen template alone, both measured in this run."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asusual.channels.outbox import Outbox, OutboxSender
from asusual.clock import ManualClock
from asusual.content import render as render_module
from asusual.content.pack import parse
from asusual.content.render import default_pack
from asusual.delivery.dispatch import DispatchDeps, DispatchStatus, dispatch
from asusual.delivery.links import LinkSigner
from asusual.delivery.models import DeliveryChannel
from asusual.local.runtime import LocalContext, LocalRuntime
from asusual.store import clients
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import decode_intent
from asusual.triggers import models
from asusual.triggers.models import Intent
from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.support import process_state, quiet_logs
from tests.integration.conftest import api_gateway_event, basic
from tests.unit.delivery.fakes import (
    FakeCatalog,
    FakeDecisions,
    FakeMessages,
    FakeProfiles,
    PriceSchedule,
    SimClock,
)

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
ZONES = ("Europe/Moscow", "Asia/Vladivostok", "Australia/Sydney", "Europe/Kaliningrad", "Asia/Omsk")
CUSTOMERS = 40


def _product(pid: str, name: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "product_id": pid,
        "name": name,
        "price": price,
        "currency": "RUB",
        "category": "Shop",
        "seasons": [],
        "replenish_days": None,
        "sensitive": False,
        "promoted": False,
        **extra,
    }


CATALOG = [
    _product("food", "Корм для кошек", "1290.00", replenish_days=10),
    _product("tea", "Чай улун", "490.00", replenish_days=20),
    _product("mug", "Кружка", "690.00"),
    _product("jacket", "Пуховик", "12990.00", seasons=["winter"], promoted=True),
    _product("towel", "Полотенце", "1190.00", seasons=["summer"], promoted=True),
    _product("socks", "Носки", "390.00", promoted=True),
]


class CallCounter:
    """Counts DynamoDB API calls made through the package's client (botocore after-call hook)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        clients.dynamodb().meta.events.register("after-call.dynamodb", self._count)

    def _count(self, event_name: str, **_kwargs: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


@pytest.fixture
def engine(dynamodb_local):
    with (
        process_state(),
        quiet_logs(),
        LocalRuntime(
            clock=ManualClock(T0, frozen=True),
            dynamodb_endpoint=dynamodb_local.endpoint,
            table_name=f"bench-{uuid.uuid4().hex[:8]}",
        ) as rt,
    ):
        os.environ["ASUSUAL_OFFER_POOL_CACHE_SECONDS"] = "60"  # as deployed: one pool query a minute
        LocalRuntime._reset_caches()
        yield rt


def post(path: str, body: dict[str, Any], key: str) -> None:
    from functions.admin_api import handler as admin
    from functions.intake_api import handler as intake

    handler, auth = (admin, f"Bearer {key}") if path.startswith("/v1/catalog") else (intake, basic(key))
    event = api_gateway_event(
        "POST",
        path,
        {"content-type": "application/json", "authorization": auth},
        __import__("json").dumps(body).encode(),
    )
    result = handler.lambda_handler(event, LocalContext("bench"))
    assert result["statusCode"] == 200, result


def populate(rt: LocalRuntime) -> None:
    """Customers in several zones with email consent and a birthday today; each places an order
    of 3 products (order placed), two of them replenishable (reminders later)."""
    post("/v1/catalog/products", {"products": CATALOG}, "admin_local_key")
    batch = []
    for n in range(CUSTOMERS):
        user = f"u-{n}"
        batch.append(
            {
                "type": "identify",
                "userId": user,
                "traits": {
                    "email": f"c{n}@example.com",
                    "firstName": "Анна" if n % 2 else "Олег",
                    "timezone": ZONES[n % len(ZONES)],
                    "subscriptions": {"email": {"marketing": True}},
                },
            }
        )
        batch.append(
            {
                "type": "track",
                "userId": user,
                "event": "Order Completed",
                "properties": {
                    "order_id": f"o-{n}",
                    "total": 2470,
                    "currency": "RUB",
                    "products": [
                        {"product_id": "food", "quantity": 1, "price": 1290},
                        {"product_id": "tea", "quantity": 1, "price": 490},
                        {"product_id": "mug", "quantity": 1, "price": 690},
                    ],
                },
            }
        )
    post("/v1/batch", {"batch": batch}, "web_local_key")


def queued_intents(rt: LocalRuntime) -> list[Intent]:
    return [decode_intent(m["Body"]) for m in rt.peek("intents", limit=10_000)]


def drain_counting(
    rt: LocalRuntime, dispatcher: Any, counter: CallCounter, into: Counter[str]
) -> tuple[int, int]:
    """Let the dispatcher consume the intents queue; (DynamoDB calls it made, messages sent)."""
    before = len(rt.outbox.records())
    rt.add_consumer("intents", dispatcher)
    counter.reset()
    rt.drain(depths=False)
    calls = counter.total()
    into.update(counter.calls)
    rt.consumers.pop("intents")
    return calls, len(rt.outbox.records()) - before


def test_dispatcher_calls_per_delivered_message_and_cpu_against_bare_render(engine):
    rt = engine
    dispatcher = rt.consumers.pop("intents")  # intents wait on the queue until counted
    populate(rt)
    rt.run()
    counter = CallCounter()
    counter_all: Counter[str] = Counter()
    kinds: dict[str, tuple[int, int]] = {}
    triggers = Counter(i.trigger for i in queued_intents(rt))
    assert triggers == {"order_status": CUSTOMERS, "welcome": CUSTOMERS}, triggers
    # the welcome and the order update of each customer: one round of the queue
    kinds["order placed + welcome"] = drain_counting(rt, dispatcher, counter, counter_all)
    # a week later the replenishment sweep finds the food reminders due
    rt.clock.set(T0 + timedelta(days=8))  # food: 10 days a bag, reminded 2.5 days before
    rt.run()
    assert Counter(i.trigger for i in queued_intents(rt)) == {"replenishment": CUSTOMERS}
    kinds["replenishment"] = drain_counting(rt, dispatcher, counter, counter_all)
    # the offer pool is one Query per container per minute (cached), not a per-message call
    pool_queries = counter_all["Query"]
    for name, (calls, sent) in kinds.items():
        assert sent > 0, name
        record(
            Figure(
                "d",
                f"DynamoDB calls per delivered message: {name}",
                calls / sent,
                "calls",
                id="dispatcher_calls_per_message_" + "_".join(w for w in name.split() if w != "+"),
                note="with the offer-pool refresh",
                detail={"calls": calls, "messages": sent},
            )
        )
    total_calls = sum(c for c, _ in kinds.values()) - pool_queries
    total_sent = sum(s for _, s in kinds.values())
    calls_figure = record(
        Figure(
            "d",
            "DynamoDB calls per delivered message, all (pool refresh apart)",
            total_calls / total_sent,
            "calls",
            3.0,
            id="dispatcher_calls_per_message",
            note=f"+ {pool_queries} offer-pool Query in {total_sent} messages (60 s cache)",
            detail=dict(counter_all),
        )
    )

    # CPU with the data already loaded: the same customers and intents, in-memory repositories
    profiles = DynamoProfileRepository(clients.dynamodb(), os.environ["ASUSUAL_TABLE_NAME"])
    catalog_repo = DynamoCatalogRepository(clients.dynamodb(), os.environ["ASUSUAL_TABLE_NAME"])
    sent = rt.outbox.records()
    loaded = profiles.load({m["profile_id"] for m in sent})
    sim = SimClock(T0)
    fake_profiles = FakeProfiles()
    for profile in loaded.values():
        fake_profiles.put(profile)
    products = list(catalog_repo.get_products({p["product_id"] for p in CATALOG}).values())
    pack = default_pack()
    outbox = Outbox()
    intents = _replayable(rt)
    ratio, per_message, bare = cpu_ratio(intents, fake_profiles, products, sim, pack, outbox)
    cpu = record(
        Figure(
            "d",
            "dispatcher CPU per message / bare render of its template",
            ratio,
            "x",
            3.0,
            id="dispatcher_cpu_vs_bare_render",
            detail={"dispatch_ms": per_message * 1e3, "render_ms": bare * 1e3, "messages": len(intents)},
            documented_miss="docs/performance.md#dispatcher-cpu",
        )
    )
    record(
        Figure(
            "d", "dispatcher CPU per message (data loaded)", per_message * 1e3, "ms", id="dispatcher_cpu_ms"
        )
    )
    record(Figure("d", "bare render of the chosen template", bare * 1e3, "ms", id="bare_render_ms"))
    check(calls_figure, cpu)


def _replayable(rt: LocalRuntime) -> list[Intent]:
    """The intents the dispatcher sent, rebuilt from their explanations (fresh send-once keys)."""
    from asusual.store.messages import DynamoMessageRepository

    repo = DynamoMessageRepository(clients.dynamodb(), os.environ["ASUSUAL_TABLE_NAME"])
    facts_of = {
        "order_status": models.OrderStatusFacts,
        "welcome": models.WelcomeFacts,
        "replenishment": models.ReplenishmentFacts,
    }
    intents = []
    for sent in rt.outbox.records():
        message = repo.message(sent["id"])
        assert message is not None and message.explanation is not None
        facts = facts_of[message.explanation.facts["trigger"]].model_validate(message.explanation.facts)
        topic = models.Topic(message.topic)
        intents.append(
            models.make_intent(message.profile_id, topic, f"bench:{message.message_id}", facts, T0)
        )
    return intents


def cpu_ratio(intents, profiles, products, sim, pack, outbox) -> tuple[float, float, float]:
    captured: list[tuple[str, str, Any]] = []
    original = render_module._render

    def capture(locale: str, source: str, variables: Any) -> str:
        captured.append((locale, source, variables))
        return original(locale, source, variables)

    schedules = {p.product_id: PriceSchedule([T0], [p.price]) for p in products}

    def deps() -> DispatchDeps:
        catalog = FakeCatalog(sim, products, schedules)
        messages = FakeMessages()
        return DispatchDeps(
            profiles=profiles,
            messages=messages,
            decisions=FakeDecisions(sim),
            catalog=catalog,
            offers=catalog,
            senders={c: OutboxSender(outbox) for c in DeliveryChannel},
            pack=pack,
            links=LinkSigner(
                base_url="https://shop.example", secrets=(b"bench-only-link-secret",), ttl=timedelta(days=90)
            ),
        )

    now = T0 + timedelta(days=8)
    for intent in intents[:5]:  # warm caches (parsed templates, zone data, holidays)
        dispatch(intent, deps(), now)
    spent = 0.0
    rounds = 5
    for _ in range(rounds):
        prepared = [deps() for _ in intents]
        start = time.process_time()
        for intent, d in zip(intents, prepared, strict=True):
            result = dispatch(intent, d, now)
            assert result.status is DispatchStatus.SENT, result
        spent += time.process_time() - start
    per_message = spent / (rounds * len(intents))
    # the chosen variant's subject and body, rendered alone with the variables they got
    render_module._render = capture
    try:
        chosen = []
        for intent in intents:
            captured.clear()
            dispatch(intent, deps(), now)
            chosen.append(list(captured[-2:]))  # the variant that rendered: subject, body (last)
    finally:
        render_module._render = original
    bound = [[(parse(loc, source), variables) for loc, source, variables in calls] for calls in chosen]
    start = time.process_time()
    for _ in range(rounds):
        for calls in bound:
            for template, variables in calls:
                template.render(variables)
    bare = (time.process_time() - start) / (rounds * len(intents))
    return per_message / bare, per_message, bare
