"""Pagination on the real engine: a Query answers at most 1 MB (or its Limit) per page, and every
reader of an index partition goes on past the first page (query_all, store/dynamo.py)."""

from __future__ import annotations

import base64
import random
from datetime import timedelta

import pytest

from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.messages import DynamoMessageRepository
from tests.engine.events import (
    EMAIL_MARKETING,
    MOSCOW,
    identify,
    index_queries,
    mine,
    order,
    product,
)

pytestmark = pytest.mark.slow

# names and categories at their maximum length (300 and 200 characters), in Chinese (three bytes a
# character in UTF-8): ~1.6 KB an item, so 800 promoted products fill more than one 1 MB page
LONG_NAME = "成猫粮火鸡肉和米饭配方敏感肠胃专用天然无谷" * 15
LONG_CATEGORY = "宠物用品猫粮干粮成猫高端系列" * 15
POOL_SIZE = 800


def pages(calls: list[dict], prefix: str, partition: str | None = None) -> list[dict]:
    found = index_queries(calls, prefix)
    return [
        c
        for c in found
        if partition is None or c["params"]["ExpressionAttributeValues"][":p"]["S"] == partition
    ]


def test_offer_pool_larger_than_a_one_megabyte_page_is_read_whole(
    admin_api, decide_api, send, calls, ddb, table
):
    products = [
        product(f"p-{n:04d}", name=f"{n} {LONG_NAME}"[:300], category=LONG_CATEGORY[:200], promoted=True)
        for n in range(POOL_SIZE)
    ]
    answer = admin_api("POST", "/v1/catalog/products", {"products": products})
    assert answer.status == 200 and len(answer.json()["accepted"]) == POOL_SIZE, answer.body[:300]
    calls.clear()
    pool = DynamoCatalogRepository(ddb, table).offer_pool()
    assert sorted(p.product_id for p in pool) == [p["product_id"] for p in products]
    offers = pages(calls, "OFFERS")
    assert len(offers) >= 2 and offers[0]["more"] and offers[0]["count"] < POOL_SIZE  # the engine cut at 1 MB
    assert "Limit" not in offers[0]["params"]
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    ask = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_banner", "channel": "web"}
    assert decide_api("POST", "/v1/decide", ask).json()["offer"]["product_id"].startswith("p-")


def test_birthday_sweep_with_more_birthdays_than_a_page_congratulates_each(
    send, intents, at, calls, small_pages
):
    people = [
        identify(f"u-{n}", email=f"u{n}@example.com", birthday=f"19{70 + n}-03-05", timezone=MOSCOW,
                 subscriptions=EMAIL_MARKETING)
        for n in range(5)
    ]  # fmt: skip
    send("web_local_key", *people)
    small_pages(2)
    at("2027-03-05T06:00:00Z")
    calls.clear()
    at("2027-03-05T07:00:00Z")  # 10:00 in Moscow
    birthdays = [i for i in intents() if i.trigger == "birthday"]
    assert len({i.profile_id for i in birthdays}) == 5 and len(birthdays) == 5
    assert len(pages(calls, "BIRTHDAY#", "BIRTHDAY#03-05")) == 3  # 2 + 2 + 1


def test_replenishment_sweep_with_more_due_reminders_than_a_page_reminds_each(
    send, intents, at, calls, admin_api, small_pages
):
    admin_api("POST", "/v1/catalog/products", product("food-1", replenish_days=13))
    for n in range(3):
        send(
            "web_local_key",
            identify(f"u-{n}", email=f"u{n}@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
            order(f"u-{n}", "Order Completed", f"o-{n}", products=[{"product_id": "food-1", "quantity": 2}]),
        )
    small_pages(1)
    at("2026-12-16T08:00:00Z")
    calls.clear()
    at("2026-12-16T09:00:00Z")
    reminders = [i for i in intents() if i.trigger == "replenishment"]
    assert len({i.profile_id for i in reminders}) == 3 and len(reminders) == 3
    assert len(pages(calls, "DUE#", "DUE#2026-12-16")) == 4  # one a reminder, the last empty


def test_deferred_sweep_with_more_deferrals_than_a_page_releases_each(send, at, outbox, calls, small_pages):
    late = [
        identify(f"u-{n}", ts="2026-11-23T19:00:00Z", email=f"u{n}@example.com", timezone=MOSCOW,
                 subscriptions=EMAIL_MARKETING)
        for n in range(3)
    ]  # fmt: skip
    send("web_local_key", *late, run=False)
    at("2026-11-23T19:00:00Z")  # 22:00 in Moscow: all three welcomes wait
    assert outbox() == []
    small_pages(1)
    at("2026-11-24T05:45:00Z")
    calls.clear()
    at("2026-11-24T06:00:00Z")
    assert sorted(m["to"] for m in outbox()) == [f"u{n}@example.com" for n in range(3)]
    assert len(pages(calls, "DEFER#", "DEFER#2026-11-24T06")) == 4  # one a deferral, the last empty


def test_message_log_of_large_messages_beyond_one_megabyte_lists_up_to_the_limit(
    send, outbox, profile, messages_api, ddb, table, engine
):
    lines = [
        {"product_id": f"sku-{n:03d}", "name": f"Корм для кошек Purina One, курица и индейка, 1,5 кг {n}",
         "quantity": 1, "price": 100}
        for n in range(50)
    ]  # fmt: skip
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    send("web_local_key", order("u-1", "Order Completed", "o-0", products=lines, total=5000, currency="RUB"))
    pid = profile("user_id", "u-1")["profile_id"]
    [first] = mine(outbox, pid)
    repo = DynamoMessageRepository(ddb, table)
    record = repo.message(first["id"])
    assert record is not None and len(record.model_dump_json().encode()) > 20_000
    # 79 more such messages, written by the dispatcher's own reservation; their bodies carry 16 KB
    # that no compression shrinks, so the log is over 1 MB however the store encodes a record
    noise = random.Random(8)
    for n in range(1, 80):
        padding = base64.b64encode(noise.randbytes(12_000)).decode()
        copy = record.model_copy(
            update={
                "send_once_key": f"order:o-{n}:placed",
                "message_id": f"m_bulk{n:03d}",
                "created_at": record.created_at + timedelta(minutes=n),
                "body": f"{record.body}\n{padding}",
            }
        )
        assert repo.reserve(copy, None).value == "reserved"
    log = messages_api("GET", f"/v1/messages?profile_id={pid}&limit=80").json()["messages"]
    assert len(log) == 80
