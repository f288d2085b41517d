"""One customer's story on DynamoDB Local, through the handlers (no HTTP): identify → catalog →
order lifecycle → messages in the outbox → the why link opens → the message log lists them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.engine.events import EMAIL_MARKETING, MOSCOW, identify, mine, order

pytestmark = pytest.mark.slow

LINE = {"product_id": "food-1", "name": "Корм Purina One", "price": 1290, "quantity": 1}


def test_story_identify_order_lifecycle_why_link_on_dynamodb_local_sends_each_message_once(
    send, profile, admin_api, outbox, messages_api, items, at
):
    catalog = {"product_id": "food-1", "name": "Корм Purina One", "price": "1290.00", "currency": "RUB",
               "category": "pets", "replenish_days": 26, "promoted": True}  # fmt: skip
    assert admin_api("POST", "/v1/catalog/products", catalog).json()["accepted"] == ["food-1"]
    send(
        "web_local_key",
        identify("u-anna", email="anna@example.com", firstName="Анна", timezone=MOSCOW,
                 subscriptions=EMAIL_MARKETING),
    )  # fmt: skip
    anna = profile("email", "anna@example.com")["profile_id"]
    lifecycle = [
        ("Order Completed", "09:01", {"total": 1290, "currency": "RUB", "products": [LINE]}),
        ("Order Paid", "09:02", {}),
        ("Order Shipped", "09:03", {"tracking_number": "RA123456789RU"}),
        ("Order Delivered", "09:04", {}),
    ]
    for event, hhmm, props in lifecycle:
        at(f"2026-11-23T{hhmm}:30Z")  # each status a little after it happened; the log orders by time
        send("web_local_key", order("u-anna", event, "o-1", ts=f"2026-11-23T{hhmm}:00Z", **props))
    send("web_local_key", order("u-anna", "Order Shipped", "o-1", ts="2026-11-23T09:03:00Z"))  # again

    sent = mine(outbox, anna)
    assert [m["trigger"] for m in sent] == [
        "welcome", "order_placed", "order_paid", "order_shipped", "order_delivered"
    ]  # fmt: skip
    assert {m["to"] for m in sent} == {"anna@example.com"}
    assert "RA123456789RU" in sent[3]["body"]

    stored = items()
    assert stored[("ORDER#o-1", "ORDER")]["version"]["N"] == "4"
    sends = {pk: item for (pk, sk), item in stored.items() if sk == "SEND"}
    assert set(sends) == {f"SEND#{m['send_once_key']}" for m in sent}
    assert {item["status"]["S"] for item in sends.values()} == {"sent"}

    why_url = urlsplit(sent[3]["why_url"])
    why = messages_api("GET", f"{why_url.path}?{why_url.query}", key=None)
    assert why.status == 200, why.body
    assert why.json()["explanation"]["trigger"] == "order_shipped"
    assert why.json()["explanation"]["profile_id"] == anna
    log = messages_api("GET", f"/v1/messages?profile_id={anna}").json()["messages"]
    assert [m["message_id"] for m in log] == [m["id"] for m in reversed(sent)]
