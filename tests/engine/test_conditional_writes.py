"""Conditional writes on the real engine: each condition expression of docs/data-model.md holds
(or fails) the way DynamoDB evaluates it, and the code maps the failure to the right outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from asusual.catalog.models import PricedProduct
from asusual.delivery.records import (
    CapsLedger,
    Deferred,
    ReserveOutcome,
    release_bucket,
)
from asusual.errors import Conflict
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.local.runtime import LocalContext
from asusual.offers.models import DayOffer
from asusual.store import clients
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsIntentPublisher
from asusual.store.triggers import DynamoTriggerRepository
from asusual.triggers.models import Topic, WelcomeFacts, make_intent
from asusual.triggers.orders import status_change
from asusual.triggers.reminders import Reminder, ReminderStatus
from asusual.triggers.service import order_status
from tests.engine.events import (
    EMAIL_MARKETING,
    MOSCOW,
    Rendezvous,
    concurrently,
    identify,
    mine,
    order,
    product,
    sqs_records,
    utc,
)

pytestmark = pytest.mark.slow

PLACED = {"total": 100, "currency": "RUB", "products": [{"product_id": "food-1", "quantity": 1}]}


def order_statuses(intents) -> list[tuple[str, str]]:
    return [(i.facts.order_id, i.facts.status.value) for i in intents() if i.trigger == "order_status"]


# -- the event processor's processed-message marker (P1, P5) ----------------------------------------
def test_event_processor_same_message_id_twice_is_applied_once(send, profile, ddb, table, items):
    placed = order("u-1", "Order Completed", "o-1", message_id="pos-1", **PLACED)
    send("web_local_key", placed, placed)  # twice in one batch
    send("web_local_key", placed)  # and again later
    tenure = profile("user_id", "u-1")["tenure"]
    assert tenure["order_count"] == 1 and tenure["revenue"] == {"RUB": 100.0}
    assert [pk for pk, _ in items() if pk.startswith("MSG#")] == ["MSG#pos-1"]
    repo = DynamoProfileRepository(ddb, table)
    assert repo.seen("pos-1") is True
    expires = datetime(2027, 1, 1, tzinfo=UTC)
    assert repo.mark_seen("pos-1", expires) is False  # attribute_not_exists(pk) refused it
    assert repo.mark_seen("pos-2", expires) is True


def test_event_processor_same_message_twice_at_once_is_applied_once_and_sent_once(
    send, engine, profile, outbox, monkeypatch
):
    from functions.event_processor import handler

    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    send("web_local_key", order("u-1", "Order Completed", "o-1", message_id="pos-1", **PLACED), run=False)
    [record] = sqs_records(engine, "events")
    both_unseen = Rendezvous()
    prefetch = DynamoProfileRepository.prefetch

    def prefetch_then_meet(self, message_ids, identifiers):
        answer = prefetch(self, message_ids, identifiers)
        both_unseen.meet()  # both deliveries have found no marker before either applies
        return answer

    monkeypatch.setattr(DynamoProfileRepository, "prefetch", prefetch_then_meet)
    batch = {"Records": [record.raw_event]}
    answers = concurrently(
        lambda: handler.lambda_handler(batch, LocalContext("event_processor")),
        lambda: handler.lambda_handler(batch, LocalContext("event_processor")),
    )
    assert answers == [{"batchItemFailures": []}] * 2
    assert both_unseen.met
    engine.run()  # the queued copy comes a third time, and the intents go to the dispatcher
    pid = profile("user_id", "u-1")["profile_id"]
    assert profile("user_id", "u-1")["tenure"]["order_count"] == 1
    assert [m["trigger"] for m in mine(outbox, pid)] == ["order_placed"]


# -- the order state machine (T1) -------------------------------------------------------------------
def test_order_late_and_duplicate_statuses_emit_one_intent_per_status(send, intents, items):
    send("web_local_key", order("u-1", "Order Completed", "o-1", message_id="placed", **PLACED))
    send("web_local_key", order("u-1", "Order Delivered", "o-1", ts="2026-11-23T09:09:00Z", message_id="dlv"))
    send("web_local_key", order("u-1", "Order Shipped", "o-1", ts="2026-11-23T09:05:00Z"))  # late
    send("web_local_key", order("u-1", "Order Paid", "o-1", ts="2026-11-23T09:02:00Z"))  # later still
    send(
        "web_local_key", order("u-1", "Order Delivered", "o-1", ts="2026-11-23T09:10:00Z", message_id="dlv2")
    )
    assert order_statuses(intents) == [("o-1", "placed"), ("o-1", "delivered")]
    assert items()[("ORDER#o-1", "ORDER")]["version"]["N"] == "2"


def test_order_same_status_reported_twice_at_once_emits_one_intent(send, intents, ddb, table, engine):
    send("web_local_key", order("u-1", "Order Completed", "o-1", **PLACED))
    source = SourceContext(source_id="web_local", channel="web", country="RU")
    now = engine.clock.now()

    def paid(message_id: str) -> IntakeEvent:
        return IntakeEvent(
            message_id=message_id, type=EventType.TRACK, source=source, user_id="u-1", event="Order Paid",
            properties={"order_id": "o-1"}, timestamp=now, received_at=now,
        )  # fmt: skip

    both_read = Rendezvous()

    class ReadTogether(DynamoTriggerRepository):
        def load_order(self, order_id):
            current = super().load_order(order_id)
            both_read.meet()  # both have read version 1 before either writes
            return current

    repo = ReadTogether(ddb, table)
    first, second = paid("paid-by-bank"), paid("paid-by-shop")
    results = concurrently(
        lambda: order_status(first, status_change(first), None, repo, now),
        lambda: order_status(second, status_change(second), None, repo, now),
    )
    assert both_read.met
    emitted = [intent for intent, _ in results if intent is not None]
    assert len(emitted) == 1 and sorted(str(reason) for _, reason in results) == ["None", "duplicate_status"]
    stored = repo.load_order("o-1")
    assert stored is not None and stored.version == 2 and stored.status.value == "paid"
    assert stored.statuses[stored.status].message_id == emitted[0].facts.message_id


# -- catalog uploads (C1) ---------------------------------------------------------------------------
def test_catalog_upload_with_older_updated_at_never_overwrites_a_newer_one(admin_api, engine):
    engine.clock.set(utc("2026-11-23T12:00:00Z"))
    newer = admin_api("POST", "/v1/catalog/products", {"products": [product("tea-1", price="399.00")]})
    assert newer.json()["accepted"] == ["tea-1"]
    engine.clock.set(utc("2026-11-23T11:00:00Z"))  # a slower upload of an older version lands later
    older = admin_api(
        "POST", "/v1/catalog/products", {"products": [product("tea-1", price="349.00"), product("new-1")]}
    )
    assert older.json()["superseded"] == ["tea-1"] and older.json()["accepted"] == ["new-1"]
    assert admin_api("GET", "/v1/catalog/products/tea-1").json()["price"] == "399.00"
    engine.clock.set(utc("2026-11-23T12:00:00Z"))  # the same instant: updated_at <= :mine holds
    same = admin_api("POST", "/v1/catalog/products", product("tea-1", price="379.00"))
    assert same.json()["accepted"] == ["tea-1"]
    assert admin_api("GET", "/v1/catalog/products/tea-1").json()["price"] == "379.00"


# -- replenishment reminders (T2) -------------------------------------------------------------------
def test_reminder_put_with_a_stale_version_conflicts_and_leaves_the_stored_one(ddb, table, engine):
    repo = DynamoTriggerRepository(ddb, table)
    now = engine.clock.now()
    pending = Reminder(
        profile_id="p_1", product_id="food-1", version=1, status=ReminderStatus.PENDING,
        last_purchase_at=now, quantity=1, remind_at=now + timedelta(days=20),
        runout_at=now + timedelta(days=23), updated_at=now,
    )  # fmt: skip
    repo.save_reminder(pending, None)
    with pytest.raises(Conflict):
        repo.save_reminder(pending, None)  # attribute_not_exists(pk): planned already
    moved = pending.model_copy(update={"version": 2, "remind_at": now + timedelta(days=10)})
    repo.save_reminder(moved, 1)
    with pytest.raises(Conflict):  # a writer that read version 1 loses
        repo.save_reminder(pending.model_copy(update={"version": 2, "quantity": 5}), 1)
    stored = repo.reminder("p_1", "food-1")
    assert stored is not None and stored.version == 2 and stored.quantity == 1
    assert stored.remind_at == now + timedelta(days=10)


def test_reminder_purchase_arriving_late_does_not_move_the_reminder_back(
    send, admin_api, profile, ddb, table
):
    admin_api("POST", "/v1/catalog/products", product("food-1", replenish_days=20))
    send("web_local_key", identify("u-1", email="u1@example.com", subscriptions=EMAIL_MARKETING))
    newer = order("u-1", "Order Completed", "o-2", ts="2026-11-23T09:00:00Z", **PLACED)
    send("web_local_key", newer)
    pid = profile("user_id", "u-1")["profile_id"]
    planned = DynamoTriggerRepository(ddb, table).reminder(pid, "food-1")
    send("store_local_key", order("u-1", "Order Completed", "o-1", ts="2026-11-03T09:00:00Z", **PLACED))
    later = DynamoTriggerRepository(ddb, table).reminder(pid, "food-1")
    assert planned is not None and later is not None
    assert later.last_purchase_at == planned.last_purchase_at == utc("2026-11-23T09:00:00Z")
    assert later.remind_at is not None and later.remind_at >= utc("2026-12-05T00:00:00Z")


# -- birthdays: congratulated only upwards (T3) -----------------------------------------------------
def test_birthday_congratulated_year_only_moves_upwards_and_needs_the_entry(send, profile, ddb, table):
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", birthday="1990-03-05", timezone=MOSCOW,
                 subscriptions=EMAIL_MARKETING),
    )  # fmt: skip
    pid = profile("user_id", "u-1")["profile_id"]
    repo = DynamoTriggerRepository(ddb, table)
    assert repo.mark_congratulated(pid, 2027) is True
    assert repo.mark_congratulated(pid, 2027) is False  # a second sweep of the same year
    assert repo.mark_congratulated(pid, 2026) is False
    assert repo.mark_congratulated(pid, 2028) is True
    assert repo.mark_congratulated("p_nobody", 2027) is False  # attribute_exists(pk): no entry made
    [candidate] = repo.birthdays_on("03-05")
    assert candidate.congratulated_year == 2028


# -- the dispatcher's send-once reservation (D5) ------------------------------------------------------
def attach_dispatcher(engine) -> None:
    """Give the intents queue its consumer back (the ``intents`` fixture detaches it)."""
    from asusual.local.functions import DISPATCHER
    from asusual.local.runtime import Consumer

    engine.add_consumer("intents", Consumer(DISPATCHER.name, DISPATCHER.handler))


def test_dispatcher_same_intent_delivered_three_times_sends_one_message(
    send, engine, intents, outbox, profile, items
):
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    send("web_local_key", order("u-1", "Order Completed", "o-1", **PLACED))
    [intent] = intents()
    publisher = SqsIntentPublisher(clients.sqs(), engine.queue_urls["intents"])
    publisher.publish([intent])  # the same intent twice on the queue
    attach_dispatcher(engine)
    engine.run()
    publisher.publish([intent])  # and once more after it was sent
    engine.run()
    pid = profile("user_id", "u-1")["profile_id"]
    assert [m["send_once_key"] for m in mine(outbox, pid)] == ["order:o-1:placed"]
    send_once = items()[("SEND#order:o-1:placed", "SEND")]
    assert send_once["status"]["S"] == "sent" and send_once["message_id"]["S"] == mine(outbox, pid)[0]["id"]


def test_dispatcher_same_intent_twice_at_once_sends_one_message(
    send, engine, intents, outbox, profile, items, monkeypatch
):
    from functions.dispatcher import handler

    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    send("web_local_key", order("u-1", "Order Completed", "o-1", **PLACED))
    [record] = sqs_records(engine, "intents")
    both_composed = Rendezvous()
    reserve = DynamoMessageRepository.reserve

    def meet_then_reserve(self, *args, **kwargs):
        both_composed.meet()  # both found the key free and composed the message; now both reserve
        return reserve(self, *args, **kwargs)

    monkeypatch.setattr(DynamoMessageRepository, "reserve", meet_then_reserve)
    concurrently(lambda: handler.record_handler(record), lambda: handler.record_handler(record))
    assert both_composed.met
    pid = profile("user_id", "u-1")["profile_id"]
    [sent] = mine(outbox, pid)
    assert sent["send_once_key"] == "order:o-1:placed"
    assert [k for k in items() if k[1] == "SEND"] == [("SEND#order:o-1:placed", "SEND")]
    assert [k for k in items() if k[1] == "MESSAGE"] == [(f"MESSAGE#{sent['id']}", "MESSAGE")]


def test_dispatcher_reservation_of_a_taken_key_is_a_duplicate_and_a_stale_ledger_a_conflict(
    send, engine, outbox, profile, ddb, table, items
):
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
    )
    pid = profile("user_id", "u-1")["profile_id"]
    [welcome] = mine(outbox, pid)
    repo = DynamoMessageRepository(ddb, table)
    record = repo.message(welcome["id"])
    ledger = repo.caps(pid)
    assert record is not None and ledger.version == 1 and welcome["id"] in ledger.sends
    before = items()
    # the same key again: the send-once Put (first in the transaction) fails
    assert repo.reserve(record, None) is ReserveOutcome.DUPLICATE
    newer = ledger.with_send(record.message_id, record.created_at, record.created_at)  # a valid ledger
    assert repo.reserve(record, newer) is ReserveOutcome.DUPLICATE
    # a new key with a ledger built on a version that is no longer stored: the caps Put fails
    other = record.model_copy(update={"send_once_key": "welcome:other", "message_id": "m_other"})
    stale = CapsLedger(profile_id=pid).with_send("m_other", record.created_at, record.created_at)
    assert repo.reserve(other, stale) is ReserveOutcome.CONFLICT
    assert items() == before  # a cancelled transaction writes nothing


def test_deferred_drop_of_a_deferral_moved_since_it_was_read_is_refused(ddb, table, engine):
    repo = DynamoMessageRepository(ddb, table)
    now = engine.clock.now()
    facts = WelcomeFacts(channels=("email",), subscribed_at=now, source_id="web_local")
    intent = make_intent("p_1", Topic.MARKETING, "welcome:p_1", facts, now)
    first = Deferred(
        intent=intent, release_at=now + timedelta(hours=1), reason="quiet_hours", deferred_at=now
    )
    repo.defer(first)
    [read] = repo.due_deferred(release_bucket(first.release_at), first.release_at)
    moved = first.model_copy(update={"release_at": now + timedelta(hours=2), "reason": "frequency_cap"})
    repo.defer(moved)  # the dispatcher deferred it again meanwhile
    assert repo.drop_deferred(read) is False  # release_at = :r no longer holds
    assert repo.due_deferred(release_bucket(first.release_at), first.release_at) == []  # it moved buckets
    assert repo.due_deferred(release_bucket(moved.release_at), moved.release_at) == [moved]
    assert repo.drop_deferred(moved) is True


# -- the day's offer (D8) -----------------------------------------------------------------------------
POOL = [
    product("tea-1", name="Чай", price="349.00", category="tea", promoted=True),
    product("coffee-1", name="Кофе", price="599.00", category="coffee", promoted=True),
]


def test_day_offer_two_decisions_of_the_same_local_day_show_the_same_offer_and_price(
    send, admin_api, decide_api, engine
):
    admin_api("POST", "/v1/catalog/products", {"products": POOL})
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    ask = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_banner", "channel": "web"}
    site = decide_api("POST", "/v1/decide", ask).json()["offer"]
    engine.clock.set(utc("2026-11-23T15:00:00Z"))
    admin_api("POST", "/v1/catalog/products", {"products": [{**p, "price": "999.00"} for p in POOL]})
    pos = decide_api("POST", "/v1/decide", {**ask, "placement": "pos_greeting", "channel": "store"}).json()
    assert (pos["offer"]["product_id"], pos["offer"]["price"]) == (site["product_id"], site["price"])
    engine.clock.set(utc("2026-11-23T21:30:00Z"))  # 00:30 in Moscow: a new local day, today's prices
    assert decide_api("POST", "/v1/decide", ask).json()["offer"]["price"] == "999.00"


def test_day_offer_first_decision_holds_against_a_different_one(ddb, table, engine):
    repo = DynamoMessageRepository(ddb, table)
    now = engine.clock.now()
    tea, coffee = (PricedProduct(product_id=p["product_id"], name=p["name"], price=p["price"],
                                 currency="RUB") for p in POOL)  # fmt: skip
    first = DayOffer(profile_id="p_1", day=date(2026, 11, 23), offer=tea, decided_at=now, decided_on="web")
    second = first.model_copy(update={"offer": coffee, "decided_on": "store"})
    assert repo.keep_day_offer(first) == first
    assert repo.keep_day_offer(second) == first  # attribute_not_exists(pk) refused it: the first holds
    assert repo.keep_day_offer(second.model_copy(update={"day": date(2026, 11, 24)})).offer == coffee


def test_day_offer_decided_elsewhere_while_a_welcome_is_composed_is_the_one_the_message_shows(
    send, admin_api, decide_api, messages_api, outbox, profile, ddb, table, monkeypatch
):
    admin_api("POST", "/v1/catalog/products", {"products": POOL})
    repo = DynamoMessageRepository(ddb, table)
    reserve = DynamoMessageRepository.reserve
    raced: list[str] = []

    def decided_elsewhere_first(self, record, *args, **kwargs):
        if not raced and record.explanation.offer is not None:
            # the POS decides today's offer between the dispatcher's read and its reservation,
            # and (to be seen) it is the other product of the pool
            mine_offer = record.explanation.offer.product_id
            other = next(p for p in POOL if p["product_id"] != mine_offer)
            raced.append(other["product_id"])
            offer = PricedProduct(product_id=other["product_id"], name=other["name"], price=other["price"],
                                  currency="RUB")  # fmt: skip
            day = record.explanation.local_sent_at.date()
            repo.keep_day_offer(DayOffer(profile_id=record.profile_id, day=day, offer=offer,
                                         decided_at=record.created_at, decided_on="store"))  # fmt: skip
        return reserve(self, record, *args, **kwargs)

    monkeypatch.setattr(DynamoMessageRepository, "reserve", decided_elsewhere_first)
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
    )
    pid = profile("user_id", "u-1")["profile_id"]
    [welcome] = mine(outbox, pid)
    assert raced
    emailed = messages_api("GET", f"/v1/messages/{welcome['id']}/why").json()["explanation"]["offer"]
    stored = repo.day_offer(pid, date(2026, 11, 23))
    ask = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_banner", "channel": "web"}
    site = decide_api("POST", "/v1/decide", ask).json()["offer"]
    assert stored is not None and stored.offer is not None
    assert emailed["product_id"] == stored.offer.product_id == site["product_id"]
    assert emailed["price"] == site["price"]
