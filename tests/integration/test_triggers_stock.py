"""Back in stock and price drop over local mode (issue 21): a customer who viewed or added a
product in the last 30 days hears once that it is in stock again, or cheaper, at the catalog's
current price; fanned out by the stock worker from the product's interest index."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asusual.catalog.changes import ChangeKind, ProductChange
from asusual.content.context import money
from asusual.local.gateway import LocalGateway
from asusual.store import clients
from asusual.store.queues import SqsStockJobs

MOSCOW = "Europe/Moscow"
PRODUCT = "kettle-1"


@pytest.fixture
def upload(admin_api):
    def put(price="3000.00", in_stock=True, product_id=PRODUCT):
        body = {
            "product_id": product_id,
            "name": "Чайник Bork",
            "price": price,
            "currency": "RUB",
            "in_stock": in_stock,
        }
        answer = admin_api("POST", "/v1/catalog/products", body)
        assert answer.status == 200 and answer.json()["accepted"] == [product_id], answer.body

    return put


def identify(user, consent=True):
    traits = {"email": f"{user}@example.com", "firstName": "Анна", "timezone": MOSCOW}
    if consent:
        traits["subscriptions"] = {"email": {"marketing": True}}
    return {
        "type": "identify",
        "userId": user,
        "traits": traits,
        "timestamp": "2026-11-19T09:00:00Z",
    }  # no welcome (old news): it would take the day's cap


def viewed(user, at="2026-11-23T09:00:00Z", event="Product Viewed", product=PRODUCT):
    return {
        "type": "track",
        "userId": user,
        "event": event,
        "properties": {"product_id": product, "name": "Чайник Bork"},
        "timestamp": at,
        "messageId": f"{event}-{user}-{at}",
    }


def bought(user, at):
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "properties": {
            "order_id": f"o-{user}",
            "currency": "RUB",
            "products": [{"product_id": PRODUCT, "quantity": 1, "price": 3000}],
        },
        "timestamp": at,
    }


def news(outbox, user, trigger=None):
    return [
        m
        for m in outbox()
        if m["to"] == f"{user}@example.com" and m["trigger"] in (trigger or ("back_in_stock", "price_drop"))
    ]


def rub(amount):
    return money(Decimal(amount), "RUB", "ru")


def test_viewer_gets_one_back_in_stock_at_the_current_price_after_in_stock_turns_true(
    send, upload, outbox, at
):
    upload(in_stock=False)
    send("web_local_key", identify("u-1"), viewed("u-1"))
    at("2026-11-23T10:00:00Z")
    upload(price="3000.00", in_stock=True)
    at("2026-11-23T10:05:00Z")
    [message] = news(outbox, "u-1")
    assert message["trigger"] == "back_in_stock" and message["channel"] == "email"
    assert rub("3000") in message["body"] and "Чайник Bork" in message["body"]
    assert "смотрели этот товар" in message["body"]  # the why line: viewed on Nov 23
    upload(price="3000.00", in_stock=True)  # still in stock: no news
    at("2026-11-24T10:05:00Z")
    assert len(news(outbox, "u-1")) == 1


def test_viewer_gets_one_price_drop_showing_2400_after_3000_to_2400_even_when_the_price_flaps(
    send, upload, outbox, at
):
    upload(price="3000.00")
    send("web_local_key", identify("u-1"), viewed("u-1"))
    at("2026-11-23T10:00:00Z")
    upload(price="2400.00")
    at("2026-11-23T10:05:00Z")
    [message] = news(outbox, "u-1")
    assert message["trigger"] == "price_drop"
    assert rub("2400") in message["body"] and rub("3000") not in message["body"]
    for step, price in enumerate(("3000.00", "2400.00", "3000.00", "2400.00")):
        at(f"2026-11-24T1{step}:00:00Z")
        upload(price=price)
    at("2026-11-25T10:00:00Z")
    assert [m["trigger"] for m in news(outbox, "u-1")] == ["price_drop"]


def test_a_drop_smaller_than_the_share_or_a_rise_tells_nothing(send, upload, outbox, at):
    upload(price="3000.00")
    send("web_local_key", identify("u-1"), viewed("u-1"))
    at("2026-11-23T10:00:00Z")
    upload(price="2800.00")  # 6.7 %
    at("2026-11-23T11:00:00Z")
    upload(price="3300.00")
    at("2026-11-23T12:00:00Z")
    assert news(outbox, "u-1") == []


def test_a_customer_who_added_it_to_the_cart_is_told_so(send, upload, outbox, at):
    upload(in_stock=False)
    send("web_local_key", identify("u-1"), viewed("u-1", event="Product Added"))
    at("2026-11-23T10:00:00Z")
    upload(in_stock=True)
    at("2026-11-23T10:05:00Z")
    [message] = news(outbox, "u-1")
    assert "добавили этот товар в корзину" in message["body"]


def test_without_marketing_consent_nobody_is_told(send, upload, outbox, at):
    upload(in_stock=False)
    send("web_local_key", identify("u-1", consent=False), viewed("u-1"))
    at("2026-11-23T10:00:00Z")
    upload(in_stock=True)
    at("2026-11-23T10:05:00Z")
    assert news(outbox, "u-1") == []


def test_interest_older_than_30_days_tells_nothing_a_recent_one_does(send, upload, outbox, at):
    upload(in_stock=False)
    send("web_local_key", identify("u-old"), identify("u-new"), viewed("u-old", at="2026-11-23T09:00:00Z"))
    at("2026-12-23T08:00:00Z")
    send("web_local_key", viewed("u-new", at="2026-12-23T08:00:00Z"))
    at("2026-12-23T10:00:00Z")  # u-old's view is 30 days and 1 hour old
    upload(in_stock=True)
    at("2026-12-23T10:05:00Z")
    assert news(outbox, "u-old") == []
    assert [m["trigger"] for m in news(outbox, "u-new")] == ["back_in_stock"]


def test_a_customer_who_bought_it_since_is_not_told(send, upload, outbox, at):
    upload(in_stock=False)
    send("web_local_key", identify("u-1"), viewed("u-1"), bought("u-1", "2026-11-23T09:30:00Z"))
    at("2026-11-23T10:00:00Z")
    upload(in_stock=True)
    at("2026-11-23T10:05:00Z")
    assert news(outbox, "u-1") == []


def test_a_restock_sold_out_again_before_the_fan_out_tells_nothing(send, upload, outbox, at, runtime):
    upload(in_stock=False)
    send("web_local_key", identify("u-1"), viewed("u-1"))
    at("2026-11-23T10:00:00Z")
    stock = runtime.consumers.pop("stock")  # the worker is slow today
    upload(in_stock=True)
    runtime.clock.set(runtime.clock.now().replace(minute=1))
    upload(in_stock=False)
    runtime.add_consumer("stock", stock)
    at("2026-11-23T10:05:00Z")
    assert news(outbox, "u-1") == []


def test_redelivered_change_messages_still_tell_each_viewer_once(send, upload, outbox, at, runtime):
    upload(in_stock=False)
    send("web_local_key", identify("u-1"), identify("u-2"), viewed("u-1"), viewed("u-2"))
    at("2026-11-23T10:00:00Z")
    upload(in_stock=True)
    change = ProductChange(
        change=ChangeKind.BACK_IN_STOCK,
        product_id=PRODUCT,
        price=Decimal(3000),
        previous_price=Decimal(3000),
        currency="RUB",
        changed_at=runtime.clock.now(),
    )
    jobs = SqsStockJobs(clients.sqs(), runtime.queue_urls["stock"])
    jobs.announce([change, change])  # the same change twice more: three in the queue
    assert runtime.depth("stock") == 3
    at("2026-11-23T10:05:00Z")
    assert [m["trigger"] for m in news(outbox, "u-1")] == ["back_in_stock"]
    assert [m["trigger"] for m in news(outbox, "u-2")] == ["back_in_stock"]


def test_an_upload_of_1000_changed_products_only_enqueues_1000_small_messages(admin_api, runtime):
    products = [
        {
            "product_id": f"p-{n}",
            "name": f"Товар {n}",
            "price": "100.00",
            "currency": "RUB",
            "in_stock": False,
        }
        for n in range(1000)
    ]
    assert admin_api("POST", "/v1/catalog/products", {"products": products}).status == 200
    runtime.clock.set(runtime.clock.now().replace(minute=30))
    restocked = [{**p, "in_stock": True} for p in products]
    answer = admin_api("POST", "/v1/catalog/products", {"products": restocked})
    assert answer.status == 200 and len(answer.json()["accepted"]) == 1000
    # the fan-out is the worker's, later: the request only enqueued one message per change
    assert runtime.depth("stock") == 1000
    assert runtime.depth("intents") == 0
    bodies = [m["Body"] for m in runtime.peek("stock", limit=1000)]
    assert max(len(b) for b in bodies) < 400


@pytest.mark.slow
def test_done_when_over_the_local_server_restock_then_drop_from_3000_to_2400(runtime):
    """Issue 21's black box over `make serve`'s gateway: after in_stock turns true the viewer gets
    one back_in_stock; after a price drop from 3000 to 2400, one price_drop showing 2400."""
    from tests.integration.local_http import http

    gateway = LocalGateway(runtime, port=0).start()
    try:

        def clock(now):
            assert http(gateway, "POST", "/_local/clock", {"now": now, "frozen": True})[0] == 200

        def product(price, in_stock):
            body = {"product_id": PRODUCT, "name": "Чайник Bork", "price": price, "currency": "RUB"}
            assert http(gateway, "POST", "/v1/catalog/products", {**body, "in_stock": in_stock})[0] == 200
            assert http(gateway, "POST", "/_local/run")[0] == 200

        def mine():
            outbox = http(gateway, "GET", "/_local/outbox")[1]
            return [m for m in outbox if m["to"] == "u-1@example.com" and m["trigger"] != "welcome"]

        product("3000.00", False)
        batch = {"batch": [identify("u-1"), viewed("u-1")]}
        assert http(gateway, "POST", "/v1/batch", batch, key="web_local_key")[0] == 200
        assert http(gateway, "POST", "/_local/run")[0] == 200
        clock("2026-11-23T10:00:00Z")
        product("3000.00", True)
        [restocked] = mine()
        assert restocked["trigger"] == "back_in_stock" and rub("3000") in restocked["body"]
        clock("2026-11-24T10:00:00Z")  # the next local day: the daily cap allows one more
        product("2400.00", True)
        assert [m["trigger"] for m in mine()] == ["back_in_stock", "price_drop"]
        assert rub("2400") in mine()[1]["body"]
    finally:
        gateway.stop()
