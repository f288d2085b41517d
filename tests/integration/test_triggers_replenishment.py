"""Replenishment on moto: scheduled on purchase from the catalog, refined by the customer's own
habit or learned from everyone's; rescheduled by a repurchase on any channel; fired once."""

from __future__ import annotations

from datetime import datetime

import pytest

from asusual.store import clients
from asusual.store.triggers import DynamoTriggerRepository

CONSENT = {"email": {"marketing": True}}


@pytest.fixture
def catalog(admin_api):
    def put(product_id="purina-1", replenish_days=13.0, name="Корм Purina One", **extra):
        body = {
            "product_id": product_id,
            "name": name,
            "price": "1290.00",
            "currency": "RUB",
            "category": "Pet food",
            "replenish_days": replenish_days,
            **extra,
        }
        assert admin_api("POST", "/v1/catalog/products", body).status == 200

    return put


def identify(user="u-1", timezone="Europe/Moscow", subscriptions=CONSENT):
    traits = {"email": f"{user}@example.com", "firstName": "Анна", "subscriptions": subscriptions}
    if timezone:
        traits["timezone"] = timezone
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": "2026-11-01T09:00:00Z"}


def purchase(at, user="u-1", product="purina-1", quantity=1, order=None):
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "timestamp": at,
        "messageId": order or f"order-{user}-{product}-{at}",
        "properties": {
            "order_id": order or f"o-{user}-{product}-{at}",
            "currency": "RUB",
            "products": [{"product_id": product, "name": "Purina", "quantity": quantity, "price": 1290}],
        },
    }


def reminders(intents):
    return [i for i in intents() if i.trigger == "replenishment"]


def stored(user_profile_id, product="purina-1"):
    return DynamoTriggerRepository(clients.dynamodb(), "asusual-local").reminder(user_profile_id, product)


def test_replenishment_catalog_period_times_quantity_reminds_before_runout_once(
    send, catalog, intents, at, profile
):
    catalog(replenish_days=13)
    send("web_local_key", identify(), purchase("2026-11-23T09:00:00Z", quantity=2))
    pid = profile("user_id", "u-1")["profile_id"]
    pending = stored(pid)
    # 13 days x 2 units = run-out on Dec 19; reminded 3 days before
    assert pending.status == "pending" and pending.basis == "catalog"
    assert pending.runout_at == datetime.fromisoformat("2026-12-19T09:00:00+00:00")
    assert pending.remind_at == datetime.fromisoformat("2026-12-16T09:00:00+00:00")
    at("2026-12-16T08:00:00Z")
    assert reminders(intents) == []
    at("2026-12-16T09:00:00Z")
    at("2026-12-16T15:00:00Z")
    [intent] = reminders(intents)
    facts = intent.facts
    assert intent.topic.value == "marketing" and intent.profile_id == pid
    assert facts.product_name == "Корм Purina One"  # from the catalog, not the event
    assert facts.quantity == 2 and facts.days_since == 23 and facts.last_purchase_channel == "web"
    assert facts.last_purchase_at == datetime.fromisoformat("2026-11-23T09:00:00+00:00")
    assert stored(pid).status == "sent"


def test_replenishment_repurchase_in_store_reschedules_and_the_old_reminder_never_fires(
    send, catalog, intents, at, profile
):
    catalog(replenish_days=20)
    send("web_local_key", identify(), purchase("2026-11-23T09:00:00Z"))
    at("2026-12-08T09:00:00Z")
    send("store_local_key", purchase("2026-12-08T09:00:00Z"))  # bought again in the shop
    pid = profile("user_id", "u-1")["profile_id"]
    assert stored(pid).last_purchase_at == datetime.fromisoformat("2026-12-08T09:00:00+00:00")
    at("2026-12-10T12:00:00Z")  # the first purchase's reminder was due on Dec 10
    assert reminders(intents) == []
    # 20 days refined by the customer's own 15: about 18 days → run-out Dec 26, reminded Dec 23
    at("2026-12-24T12:00:00Z")
    [intent] = reminders(intents)
    assert intent.facts.last_purchase_channel == "store" and intent.facts.days_since == 15
    assert intent.facts.expected_runout_at > datetime.fromisoformat("2026-12-26T00:00:00+00:00")


def test_replenishment_late_older_purchase_does_not_move_the_reminder_back(send, catalog, profile):
    catalog(replenish_days=20)
    send("web_local_key", identify(), purchase("2026-11-23T09:00:00Z"))
    pid = profile("user_id", "u-1")["profile_id"]
    planned = stored(pid)
    send("store_local_key", purchase("2026-11-03T09:00:00Z"))  # an older receipt arrives late
    later = stored(pid)
    assert later.last_purchase_at == planned.last_purchase_at
    assert later.remind_at >= datetime.fromisoformat("2026-12-05T00:00:00+00:00")


def test_replenishment_customers_own_interval_refines_the_catalog_period(send, catalog, profile):
    catalog(replenish_days=10)
    days = ["2026-10-01", "2026-10-07", "2026-10-13", "2026-10-19", "2026-10-25"]
    send("web_local_key", identify(), *[purchase(f"{d}T09:00:00Z") for d in days])
    reminder = stored(profile("user_id", "u-1")["profile_id"])
    assert reminder.basis == "catalog+personal"
    assert 6 < reminder.per_unit_days < 10  # pulled toward the customer's six days


def test_replenishment_without_catalog_period_waits_for_enough_population_evidence(send, catalog, profile):
    catalog(product_id="milk-1", replenish_days=None, name="Молоко")
    newcomer = [identify("new"), purchase("2026-11-13T09:00:00Z", user="new", product="milk-1")]
    send("web_local_key", *newcomer)
    assert stored(profile("user_id", "new")["profile_id"], "milk-1") is None  # nobody's habit known yet
    regulars = []
    for n in range(20):
        regulars += [
            purchase("2026-10-01T09:00:00Z", user=f"r{n}", product="milk-1"),
            purchase("2026-10-08T09:00:00Z", user=f"r{n}", product="milk-1"),
        ]
    send("web_local_key", *regulars)
    send("web_local_key", purchase("2026-11-20T09:00:00Z", user="new", product="milk-1"))
    reminder = stored(profile("user_id", "new")["profile_id"], "milk-1")
    assert reminder is not None and reminder.basis.startswith("population:product")
    assert 6.5 < reminder.per_unit_days < 7.5


def test_replenishment_redelivered_purchase_counts_its_interval_once(send, catalog, runtime):
    catalog(product_id="milk-1", replenish_days=None)
    send("web_local_key", purchase("2026-10-01T09:00:00Z", product="milk-1"))
    second = purchase("2026-10-08T09:00:00Z", product="milk-1")
    send("web_local_key", second)
    # the marker is lost (as after a crash before it was written): the event is processed again
    clients.dynamodb().delete_item(
        TableName="asusual-local", Key={"pk": {"S": f"MSG#{second['messageId']}"}, "sk": {"S": "MSG"}}
    )
    send("web_local_key", second)
    stats = DynamoTriggerRepository(clients.dynamodb(), "asusual-local").population(["product#milk-1"])
    assert stats["product#milk-1"].count == 1


def test_replenishment_without_marketing_consent_when_due_is_skipped(send, catalog, intents, at, profile):
    catalog(replenish_days=5)
    send("web_local_key", identify(subscriptions=None), purchase("2026-11-23T09:00:00Z"))
    at("2026-11-28T12:00:00Z")  # due Nov 27 (5 days, reminded 1.25 days before run-out)
    assert reminders(intents) == []
    reminder = stored(profile("user_id", "u-1")["profile_id"])
    assert reminder.status == "skipped" and "consent" in reminder.reason


@pytest.mark.parametrize(
    ("zone", "bought", "due_check", "local_days"),
    [
        # UTC+14: bought 23:00 on Nov 23 local; reminded Dec 1 local: 8 local days (7 in UTC)
        ("Pacific/Kiritimati", "2026-11-23T09:00:00Z", "2026-11-30T21:00:00Z", 8),
        # UTC-10: bought 23:00 on Nov 22 local; reminded Nov 30 local: 8 local days (7 in UTC)
        ("Pacific/Honolulu", "2026-11-23T09:00:00Z", "2026-11-30T21:00:00Z", 8),
        # Berlin leaves summer time on Oct 31 between the purchase and the reminder
        ("Europe/Berlin", "2027-10-25T22:30:00Z", "2027-11-02T11:00:00Z", 7),
        # a leap day between: Feb 27 → Mar 1 2028 is 3 days
        ("Europe/Moscow", "2028-02-27T09:00:00Z", "2028-03-01T09:00:00Z", 3),
    ],
)
def test_replenishment_days_since_counts_local_calendar_days(
    send, catalog, intents, at, zone, bought, due_check, local_days
):
    if zone == "Europe/Moscow":
        catalog(replenish_days=2)  # 2 days x 2 units: run-out Mar 2, reminded a day before
        quantity = 2
    else:
        catalog(replenish_days=10)  # run-out after 10 days, reminded 2.5 days before
        quantity = 1
    at(bought)
    send("web_local_key", identify(timezone=zone), purchase(bought, quantity=quantity))
    at(due_check)
    [intent] = reminders(intents)
    assert intent.facts.days_since == local_days


def test_replenishment_sweep_reads_only_due_reminders_never_scans(send, catalog, runtime, at):
    catalog(replenish_days=10)
    send("web_local_key", *[identify(f"c{n}") for n in range(30)])
    # 3 customers bought 9 days ago (due now), 27 bought recently (due later)
    send("web_local_key", *[purchase("2026-11-14T09:00:00Z", user=f"c{n}") for n in range(3)])
    send("web_local_key", *[purchase("2026-11-22T09:00:00Z", user=f"c{n}") for n in range(3, 30)])
    calls = []
    clients.dynamodb().meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, model, **_: calls.append((model.name, params))
    )
    from asusual.local.runtime import LocalContext
    from functions.replenishment_sweep import handler

    report = handler.lambda_handler(
        {"detail-type": "Scheduled Event", "time": "x", "detail": {}}, LocalContext("s")
    )
    assert not [c for c in calls if c[0] == "Scan"]
    queries = [p for name, p in calls if name == "Query"]
    assert [q["ExpressionAttributeValues"][":p"]["S"] for q in queries] == [
        "DUE#2026-11-21",
        "DUE#2026-11-22",
        "DUE#2026-11-23",
    ]
    assert {q["IndexName"] for q in queries} == {"gsi1"}
    assert report["read"] == 3 and report["emitted"] == 3  # the due ones, not the 30 pending
