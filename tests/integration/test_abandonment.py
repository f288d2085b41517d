"""Cart and browse abandonment over local mode, through the intake, the processor, the sweep and
the dispatcher: one reminder naming the products at the catalog's price; none for a customer who
bought them in the store, nor for one without marketing consent; none once the products are bought
while the reminder waits out the night."""

from __future__ import annotations

import pytest

from tests.integration.local_http import http

pytestmark = pytest.mark.slow

CONSENT = {"email": {"marketing": True, "transactional": True}}
BOOTS = {
    "product_id": "boots-1",
    "name": "Ботинки «Тундра»",
    "price": "5990.00",
    "currency": "RUB",
    "category": "Обувь",
    "seasons": ["winter"],
}
SCARF = {
    **BOOTS,
    "product_id": "scarf-1",
    "name": "Шарф «Вьюга»",
    "price": "1490.00",
    "category": "Аксессуары",
}


@pytest.fixture
def server(runtime):
    from asusual.local.gateway import LocalGateway

    gateway = LocalGateway(runtime, port=0).start()
    yield gateway
    gateway.stop()


def identify(user: str, subscriptions=CONSENT, at="2026-12-01T09:00:00Z") -> dict:
    traits = {
        "email": f"{user}@example.com",
        "firstName": user.title(),
        "timezone": "Europe/Moscow",
        "locale": "ru-RU",
        "subscriptions": subscriptions,
    }
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": at}


def track(user: str, event: str, at: str, **properties) -> dict:
    return {"type": "track", "userId": user, "event": event, "timestamp": at, "properties": properties}


def order(user: str, at: str, *products: dict, order_id: str) -> dict:
    lines = [
        {"product_id": p["product_id"], "name": p["name"], "quantity": 1, "price": 5990} for p in products
    ]
    return track(user, "Order Completed", at, order_id=order_id, currency="RUB", products=lines)


class Shop:
    def __init__(self, gateway) -> None:
        self.gateway = gateway
        status, _ = http(gateway, "POST", "/v1/catalog/products", {"products": [BOOTS, SCARF]})
        assert status == 200

    def clock(self, instant: str) -> None:
        assert http(self.gateway, "POST", "/_local/clock", {"now": instant})[0] == 200
        assert http(self.gateway, "POST", "/_local/run")[0] == 200

    def send(self, key: str, *messages: dict) -> None:
        status, body = http(self.gateway, "POST", "/v1/batch", {"batch": list(messages)}, key=key)
        assert status == 200, body
        assert http(self.gateway, "POST", "/_local/run")[0] == 200

    def messages(self, trigger: str) -> list[dict]:
        return [m for m in http(self.gateway, "GET", "/_local/outbox")[1] if m["trigger"] == trigger]


@pytest.fixture
def shop(server):
    shop = Shop(server)
    shop.clock("2026-12-05T09:00:00Z")  # 12:00 in Moscow
    return shop


def test_cart_abandonment_over_http_one_reminder_none_for_the_store_buyer_none_without_consent(shop):
    shop.send(
        "web_local_key",
        identify("anna"),
        identify("boris"),
        identify("vera", subscriptions={"email": {"marketing": False, "transactional": True}}),
        track(
            "anna", "Product Added", "2026-12-05T09:00:00Z", product_id="boots-1", name="Ботинки", quantity=1
        ),
        track("boris", "Product Added", "2026-12-05T09:00:00Z", product_id="boots-1", quantity=1),
        track("vera", "Product Added", "2026-12-05T09:00:00Z", product_id="boots-1", quantity=1),
    )
    shop.clock("2026-12-05T10:00:00Z")
    shop.send("store_local_key", order("boris", "2026-12-05T10:00:00Z", BOOTS, order_id="pos-1"))
    shop.clock("2026-12-05T12:59:00Z")
    assert shop.messages("cart_abandonment") == []  # 4 hours after the cart's last activity: not yet
    shop.clock("2026-12-05T13:15:00Z")
    [reminder] = shop.messages("cart_abandonment")
    assert reminder["to"] == "anna@example.com" and reminder["channel"] == "email"
    assert "Ботинки «Тундра»" in reminder["body"] and "5\xa0990,00\xa0₽" in reminder["body"]
    assert "оставили товары в корзине" in reminder["body"]  # the why line says why
    assert reminder["local_sent_at"].startswith("2026-12-05T16:00:00+03:00")
    shop.clock("2026-12-08T13:15:00Z")
    assert len(shop.messages("cart_abandonment")) == 1  # once per cart, whatever the sweeps


def test_cart_abandonment_product_added_to_a_reminded_cart_reminds_nobody_again(shop):
    shop.send(
        "web_local_key",
        identify("anna"),
        track("anna", "Product Added", "2026-12-05T09:00:00Z", product_id="boots-1"),
    )
    shop.clock("2026-12-05T13:15:00Z")
    assert len(shop.messages("cart_abandonment")) == 1
    shop.clock("2026-12-06T09:00:00Z")
    shop.send("web_local_key", track("anna", "Product Added", "2026-12-06T09:00:00Z", product_id="scarf-1"))
    shop.clock("2026-12-07T09:00:00Z")
    assert len(shop.messages("cart_abandonment")) == 1


def test_cart_abandonment_bought_in_the_store_while_waiting_out_the_night_is_not_sent(shop):
    shop.clock("2026-12-05T17:30:00Z")  # 20:30 in Moscow: the reminder falls at night
    shop.send(
        "web_local_key",
        identify("anna"),
        track("anna", "Product Added", "2026-12-05T17:30:00Z", product_id="boots-1"),
    )
    shop.clock("2026-12-05T21:45:00Z")  # due at 00:30 Moscow: held back until the morning
    assert shop.messages("cart_abandonment") == []
    shop.clock("2026-12-06T05:00:00Z")
    shop.send("store_local_key", order("anna", "2026-12-06T05:00:00Z", BOOTS, order_id="pos-2"))
    shop.clock("2026-12-06T09:00:00Z")
    assert shop.messages("cart_abandonment") == []


def test_cart_abandonment_cart_viewed_without_the_product_left_nothing(shop):
    shop.send(
        "web_local_key",
        identify("anna"),
        track("anna", "Product Added", "2026-12-05T09:00:00Z", product_id="boots-1"),
    )
    shop.clock("2026-12-05T09:30:00Z")  # no event time is later than its arrival
    shop.send("web_local_key", track("anna", "Cart Viewed", "2026-12-05T09:30:00Z", products=[]))
    shop.clock("2026-12-05T14:00:00Z")
    assert shop.messages("cart_abandonment") == []


def test_browse_abandonment_three_views_softer_reminder_a_day_later_once(shop):
    shop.send("web_local_key", identify("anna"))
    for minute in ("00", "10", "20"):
        shop.clock(f"2026-12-05T09:{minute}:00Z")
        shop.send(
            "web_local_key",
            track("anna", "Product Viewed", f"2026-12-05T09:{minute}:00Z", product_id="scarf-1"),
        )
    shop.clock("2026-12-06T09:15:00Z")
    assert shop.messages("browse_abandonment") == []  # a day after the last view: not yet
    shop.clock("2026-12-06T09:30:00Z")
    [reminder] = shop.messages("browse_abandonment")
    assert "Шарф «Вьюга»" in reminder["body"] and "1\xa0490,00\xa0₽" in reminder["body"]
    assert "несколько раз смотрели" in reminder["body"]
    shop.clock("2026-12-09T09:30:00Z")
    assert len(shop.messages("browse_abandonment")) == 1
