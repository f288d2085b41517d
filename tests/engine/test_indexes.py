"""gsi1 on the real engine: each sweep and listing finds its items through its sparse index
partition (BIRTHDAY#MM-DD, DUE#day, DEFER#hour, MSGLOG#profile, OFFERS), never by a scan, and an
item leaves the partition when the code drops its index attributes."""

from __future__ import annotations

import pytest

from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.triggers import DynamoTriggerRepository
from tests.engine.events import (
    EMAIL_MARKETING,
    MOSCOW,
    identify,
    index_queries,
    mine,
    order,
    product,
    utc,
)

pytestmark = pytest.mark.slow


def gsi1(local_client, table: str, partition: str) -> list[dict]:
    """The items of one gsi1 partition, read straight from DynamoDB Local."""
    pages = local_client.get_paginator("query").paginate(
        TableName=table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": partition}},
    )
    return [item for page in pages for item in page["Items"]]


def test_birthday_sweep_finds_the_days_birthdays_via_gsi1_at_ten_local_once(
    send, intents, at, calls, items, local_client, table
):
    people = [
        identify(f"u-{n}", email=f"u{n}@example.com", birthday=birthday, timezone=MOSCOW,
                 subscriptions=EMAIL_MARKETING)
        for n, birthday in enumerate(["1990-03-05", "1985-03-05", "2000-03-05", "1990-03-06", "1990-07-01"])
    ]  # fmt: skip
    send("web_local_key", *people)
    assert len(gsi1(local_client, table, "BIRTHDAY#03-05")) == 3
    at("2027-03-05T06:00:00Z")  # 09:00 in Moscow
    assert [i for i in intents() if i.trigger == "birthday"] == []
    calls.clear()
    at("2027-03-05T07:00:00Z")  # 10:00
    at("2027-03-05T12:00:00Z")  # later that day: nobody twice
    birthdays = [i for i in intents() if i.trigger == "birthday"]
    assert len(birthdays) == 3 and {i.facts.celebrated_on.isoformat() for i in birthdays} == {"2027-03-05"}
    assert not [c for c in calls if c["op"] == "Scan"]
    partitions = {
        c["params"]["ExpressionAttributeValues"][":p"]["S"] for c in index_queries(calls, "BIRTHDAY#")
    }
    assert {"BIRTHDAY#03-04", "BIRTHDAY#03-05"} <= partitions
    years = [i.get("congratulated_year", {}).get("N") for (_, sk), i in items().items() if sk == "BIRTHDAY"]
    assert sorted(years, key=str) == ["2027", "2027", "2027", None, None]


def test_replenishment_sweep_finds_due_reminders_via_gsi1_due_day_and_a_sent_one_leaves_the_index(
    send, intents, at, calls, admin_api, profile, ddb, table, local_client
):
    admin_api("POST", "/v1/catalog/products", product("food-1", name="Корм Purina One", replenish_days=13))
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
    )
    send(
        "web_local_key",
        order("u-1", "Order Completed", "o-1", products=[{"product_id": "food-1", "quantity": 2}]),
    )
    pid = profile("user_id", "u-1")["profile_id"]
    pending = DynamoTriggerRepository(ddb, table).reminder(pid, "food-1")
    assert pending is not None and pending.remind_at == utc("2026-12-16T09:00:00Z")  # 26 days, 3 early
    [indexed] = gsi1(local_client, table, "DUE#2026-12-16")
    assert indexed["sk"]["S"] == "REMIND#food-1"
    at("2026-12-16T08:00:00Z")
    assert [i for i in intents() if i.trigger == "replenishment"] == []
    calls.clear()
    at("2026-12-16T09:00:00Z")
    [reminder] = [i for i in intents() if i.trigger == "replenishment"]
    assert reminder.facts.product_name == "Корм Purina One" and reminder.facts.quantity == 2
    assert "DUE#2026-12-16" in {
        c["params"]["ExpressionAttributeValues"][":p"]["S"] for c in index_queries(calls, "DUE#")
    }
    assert gsi1(local_client, table, "DUE#2026-12-16") == []  # sent: out of the sparse index
    sent = DynamoTriggerRepository(ddb, table).reminder(pid, "food-1")
    assert sent is not None and sent.status.value == "sent"


def test_deferred_sweep_releases_a_welcome_via_gsi1_defer_hour_at_nine_local(
    send, at, outbox, profile, calls, items, local_client, table
):
    late = identify("u-late", ts="2026-11-23T19:00:00Z", email="late@example.com", timezone=MOSCOW,
                    subscriptions=EMAIL_MARKETING)  # fmt: skip
    send("web_local_key", late, run=False)
    at("2026-11-23T19:00:00Z")  # 22:00 in Moscow: quiet hours
    pid = profile("user_id", "u-late")["profile_id"]
    assert mine(outbox, pid) == []
    [deferred] = gsi1(local_client, table, "DEFER#2026-11-24T06")
    assert deferred["release_at"]["S"].startswith("2026-11-24T06:00:00")
    at("2026-11-24T05:45:00Z")
    assert mine(outbox, pid) == []
    calls.clear()
    at("2026-11-24T06:00:00Z")  # 09:00
    [welcome] = mine(outbox, pid)
    assert welcome["trigger"] == "welcome" and welcome["local_sent_at"] == "2026-11-24T09:00:00+03:00"
    assert "DEFER#2026-11-24T06" in {
        c["params"]["ExpressionAttributeValues"][":p"]["S"] for c in index_queries(calls, "DEFER#")
    }
    assert [k for k in items() if k[1] == "DEFER"] == []  # released: deleted, conditional on release_at


def test_message_log_lists_a_profiles_messages_via_gsi1_msglog_newest_first_up_to_the_limit(
    send, at, outbox, profile, messages_api, calls
):
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    for minute, event in enumerate(["Order Completed", "Order Paid", "Order Shipped", "Order Delivered"], 1):
        at(f"2026-11-23T09:{minute:02d}:00Z")
        send("web_local_key", order("u-1", event, "o-1", ts=f"2026-11-23T09:{minute:02d}:00Z", total=10))
    send("web_local_key", identify("u-2", email="u2@example.com", timezone=MOSCOW))
    send("web_local_key", order("u-2", "Order Completed", "o-2", total=10))  # someone else's
    pid = profile("user_id", "u-1")["profile_id"]
    sent = [m["id"] for m in mine(outbox, pid)]
    assert len(sent) == 4
    calls.clear()
    log = messages_api("GET", f"/v1/messages?profile_id={pid}").json()["messages"]
    assert [m["message_id"] for m in log] == sent[::-1]
    [query] = index_queries(calls, "MSGLOG#")
    assert query["params"]["ScanIndexForward"] is False
    newest = messages_api("GET", f"/v1/messages?profile_id={pid}&limit=2").json()["messages"]
    assert [m["message_id"] for m in newest] == sent[:1:-1]
    assert [m["trigger"] for m in newest] == ["order_delivered", "order_shipped"]


def test_offer_pool_is_the_promoted_products_via_gsi1_offers_and_an_unpromoted_one_leaves_it(
    admin_api, decide_api, send, engine, ddb, table
):
    admin_api(
        "POST",
        "/v1/catalog/products",
        {
            "products": [
                product("tea-1", promoted=True),
                product("coffee-1", promoted=True),
                product("bread-1"),
            ]
        },
    )
    repo = DynamoCatalogRepository(ddb, table)
    assert sorted(p.product_id for p in repo.offer_pool()) == ["coffee-1", "tea-1"]
    engine.clock.set(utc("2026-11-23T10:00:00Z"))
    admin_api("POST", "/v1/catalog/products", product("coffee-1", promoted=False))
    assert [p.product_id for p in repo.offer_pool()] == ["tea-1"]
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    ask = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_banner", "channel": "web"}
    assert decide_api("POST", "/v1/decide", ask).json()["offer"]["product_id"] == "tea-1"
