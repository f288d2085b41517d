"""Order status triggers on moto: one intent per (order, status), ever; forward only."""

from __future__ import annotations

from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository


def order_event(event, order_id="o-1", message_id=None, minutes=0, user="u-1", **props):
    return {
        "type": "track",
        "userId": user,
        "event": event,
        "messageId": message_id or f"{event}-{order_id}-{minutes}",
        "timestamp": f"2026-11-23T09:{minutes:02d}:00Z",
        "properties": {"order_id": order_id, **props},
    }


PLACED = dict(
    total=2490.0, currency="rub", products=[{"product_id": "purina-1", "name": "Purina One", "quantity": 2}]
)


def statuses(intents):
    return [(i.facts.order_id, i.facts.status.value) for i in intents() if i.trigger == "order_status"]


def test_order_lifecycle_each_status_once_transactional_with_order_facts(send, intents):
    send("web_local_key", order_event("Order Completed", minutes=0, **PLACED))
    send("web_local_key", order_event("Order Paid", minutes=1))
    send("web_local_key", order_event("Order Shipped", minutes=2, tracking_number="RU123", carrier="CDEK"))
    send("web_local_key", order_event("Order Delivered", minutes=3))
    found = [i for i in intents() if i.trigger == "order_status"]
    assert [i.facts.status.value for i in found] == ["placed", "paid", "shipped", "delivered"]
    assert {i.topic.value for i in found} == {"transactional"}
    assert [i.send_once_key for i in found] == [
        f"order:o-1:{s}" for s in ("placed", "paid", "shipped", "delivered")
    ]
    shipped = found[2].facts
    assert shipped.previous_status.value == "paid"
    assert shipped.details == {"tracking_number": "RU123", "carrier": "CDEK"}
    assert shipped.order_channel == "web" and shipped.total == 2490.0 and shipped.currency == "RUB"
    assert shipped.products[0].product_id == "purina-1" and shipped.products[0].quantity == 2
    assert len({i.profile_id for i in found}) == 1


def test_order_duplicate_event_or_resent_status_emits_nothing_more(send, intents):
    send("web_local_key", order_event("Order Completed", **PLACED))
    send("web_local_key", order_event("Order Completed", **PLACED))  # same messageId: deduplicated
    send("web_local_key", order_event("Order Completed", message_id="resent-with-new-id", **PLACED))
    send("web_local_key", order_event("Order Shipped", minutes=5), order_event("Order Shipped", minutes=6))
    assert statuses(intents) == [("o-1", "placed"), ("o-1", "shipped")]


def test_order_status_arriving_late_after_a_newer_one_emits_nothing(send, intents):
    send("web_local_key", order_event("Order Completed", **PLACED))
    send("web_local_key", order_event("Order Delivered", minutes=9))
    send("web_local_key", order_event("Order Shipped", minutes=5))  # late: delivered already
    send("web_local_key", order_event("Order Paid", minutes=2))  # later still
    send("web_local_key", order_event("Order Cancelled", minutes=10))  # delivered orders are refunded
    send("web_local_key", order_event("Order Refunded", minutes=11))
    assert statuses(intents) == [("o-1", "placed"), ("o-1", "delivered"), ("o-1", "refunded")]


def test_order_events_in_one_batch_out_of_order_move_forward_only(send, intents):
    send(
        "web_local_key",
        order_event("Order Shipped", minutes=3),
        order_event("Order Completed", minutes=0, **PLACED),
        order_event("Order Paid", minutes=1),
    )
    # the first to arrive wins; statuses behind it are late
    assert statuses(intents) == [("o-1", "shipped")]


def test_order_updated_with_status_property_is_that_status(send, intents):
    send("web_local_key", order_event("Order Completed", **PLACED))
    send(
        "web_local_key",
        order_event("Order Updated", minutes=1, status="Ready for pickup", pickup_location="Store 7"),
    )
    send("web_local_key", order_event("Order Updated", minutes=2, status="picked up"))
    send("web_local_key", order_event("Order Updated", minutes=3, coupon="X"))  # no status: no intent
    found = [i for i in intents() if i.trigger == "order_status"]
    assert [i.facts.status.value for i in found] == ["placed", "ready_for_pickup", "delivered"]
    assert found[1].facts.details == {"pickup_location": "Store 7"}


def test_order_status_from_a_back_office_without_identity_reaches_the_customer(send, intents):
    send("store_local_key", order_event("Order Completed", user="u-9", **PLACED))
    # the warehouse system reports by order id only, from a shared device: no linking identifier
    shipped = order_event("Order Shipped", minutes=4)
    shipped.pop("userId")
    shipped["anonymousId"] = "warehouse-terminal"
    send("store_local_key", shipped)
    found = [i for i in intents() if i.trigger == "order_status"]
    assert [i.facts.status.value for i in found] == ["placed", "shipped"]
    assert found[0].profile_id == found[1].profile_id
    assert found[1].facts.order_channel == "store"


def test_order_redelivered_after_a_crash_emits_the_same_intent_id_never_a_second_status(
    send, intents, runtime, monkeypatch
):
    calls = {"n": 0}
    original = DynamoProfileRepository.mark_all_seen

    def crash_once(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the container died after the triggers ran")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoProfileRepository, "mark_all_seen", crash_once)
    send("web_local_key", order_event("Order Completed", **PLACED))
    found = [i for i in intents() if i.trigger == "order_status"]
    assert calls["n"] == 2  # redelivered once
    # at-least-once emission of ONE intent: same id and send-once key (the dispatcher sends it once)
    assert len({i.intent_id for i in found}) == 1 and len(found) == 2
    order = clients.dynamodb().get_item(
        TableName="asusual-local", Key={"pk": {"S": "ORDER#o-1"}, "sk": {"S": "ORDER"}}
    )["Item"]
    assert order["version"]["N"] == "1"


def test_order_status_older_than_the_max_age_moves_the_order_but_tells_nobody(send, intents, profile):
    old = order_event("Order Completed", order_id="o-2025", **PLACED)
    old["timestamp"] = "2026-11-19T09:00:00Z"  # four days before the clock: a history import
    recent = order_event("Order Completed", order_id="o-recent", **PLACED)
    recent["timestamp"] = "2026-11-21T09:30:00Z"  # two days: a backlog still worth telling
    send("web_local_key", old, recent)
    assert statuses(intents) == [("o-recent", "placed")]
    assert profile("user_id", "u-1")["tenure"]["order_count"] == 2
    late = order_event("Order Shipped", order_id="o-2025", minutes=1)
    send("web_local_key", late)  # a fresh status of the old order is news again
    assert statuses(intents) == [("o-recent", "placed"), ("o-2025", "shipped")]
