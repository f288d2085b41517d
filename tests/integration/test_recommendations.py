"""Recommendations on moto: the event processor logs each order's basket, the hourly job folds the
log into the model, POST /v1/decide recommends from it — never a sensitive product, one out of
season where the customer is, or one she bought in the last 30 days."""

from __future__ import annotations

import pytest

from asusual.store import clients
from asusual.store.recommendations import DynamoRecommendationRepository

SEASONS_NOW = ["winter"]  # T0 is December: winter in Moscow
PRODUCTS = {
    "food": {"name": "Корм Purina One", "category": "Корм"},
    "bowl": {"name": "Миска", "category": "Посуда"},
    "ointment": {"name": "Мазь от блох", "category": "Аптека", "sensitive": True},
    "pool": {"name": "Бассейн для собак", "category": "Лето", "seasons": ["summer"]},
    "toy": {"name": "Мышка", "category": "Игрушки", "promoted": True},
    "collar": {"name": "Ошейник", "category": "Аксессуары"},
}


@pytest.fixture
def catalog(admin_api):
    body = {
        "products": [
            {"product_id": pid, "price": "100.00", "currency": "RUB", **fields}
            for pid, fields in PRODUCTS.items()
        ]
    }
    assert admin_api("POST", "/v1/catalog/products", body).status == 200


def identify(user):
    traits = {"email": f"{user}@example.com", "timezone": "Europe/Moscow", "locale": "en"}
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": "2026-11-01T09:00:00Z"}


def order(user, products, at, order_id=None):
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "timestamp": at,
        "messageId": f"m-{order_id or user + '-' + at}",
        "properties": {
            "order_id": order_id or f"o-{user}-{at}",
            "currency": "RUB",
            "products": [{"product_id": p, "quantity": 1, "price": 100} for p in products],
        },
    }


def recommended(decide_api, user, count=None):
    body = {"identifier": {"type": "user_id", "value": user}, "placement": "site_banner", "channel": "web"}
    if count is not None:
        body["recommendations"] = count
    answer = decide_api("POST", "/v1/decide", body)
    assert answer.status == 200, answer.body
    return answer.json()["recommendations"]


def stored_rows(*products):
    return DynamoRecommendationRepository(clients.dynamodb(), "asusual-local").neighbours(set(products))


def test_recommendations_bought_together_learned_by_the_job_are_recommended_in_decide(
    send, catalog, at, decide_api
):
    send("store_local_key", *[identify(u) for u in ("c1", "c2", "c3")])
    send(
        "store_local_key",
        order("c1", ["food", "bowl", "ointment", "pool"], "2026-11-10T10:00:00Z"),
        order("c2", ["food", "bowl", "ointment", "pool", "collar"], "2026-11-12T10:00:00Z"),
        order("c3", ["collar"], "2026-11-18T10:00:00Z"),  # last week: not recommended yet
        order("c3", ["food"], "2026-11-20T10:00:00Z"),
    )
    assert stored_rows("food") == {}  # logged at 09:00, learned by the run after that hour
    at("2026-11-23T11:00:00Z")
    rows = stored_rows("food", "bowl")
    assert rows["food"].baskets == 3
    assert rows["food"].together == {"bowl": 2, "collar": 1, "ointment": 2, "pool": 2}
    assert rows["food"].after == {} and stored_rows("collar")["collar"].after == {"food": 1}
    picks = recommended(decide_api, "c3")
    # ointment (sensitive), pool (summer only), collar and food (bought this month): never
    assert [p["product_id"] for p in picks] == ["bowl", "toy"]
    assert picks == [
        {
            "product_id": "bowl",
            "name": "Миска",
            "price": "100.00",
            "currency": "RUB",
            "reason": "bought_together",
            "why": "Often bought together with Корм Purina One",
        },
        {
            "product_id": "toy",
            "name": "Мышка",
            "price": "100.00",
            "currency": "RUB",
            "reason": "popular",
            "why": "Popular right now",
        },
    ]
    assert recommended(decide_api, "c3", count=1) == picks[:1]
    assert recommended(decide_api, "c3", count=0) == []


def test_recommendations_campaign_message_lists_them_with_the_catalog_price(
    send, catalog, at, admin_api, runtime, outbox
):
    consent = {"email": {"marketing": True}}
    people = [identify(u) for u in ("c1", "c2", "c3")]
    for person in people:
        person["traits"] |= {"subscriptions": consent, "petOwner": True}
    send("store_local_key", *people)
    send(
        "store_local_key",
        order("c1", ["food", "bowl", "ointment"], "2026-11-10T10:00:00Z"),
        order("c2", ["food", "bowl", "ointment"], "2026-11-12T10:00:00Z"),
        order("c3", ["food"], "2026-11-20T10:00:00Z"),
    )
    at("2026-11-23T11:00:00Z")  # the job learned the baskets
    segment = {"segment_id": "pets", "name": "Pets", "rule": {"trait": "pet_owner", "eq": True}}
    assert admin_api("POST", "/v1/segments", segment).status == 201
    runtime.run()
    body = "{{ hello }}!{% for p in recommendations %}\n- {{ p.name }}: {{ p.price_text }}{% endfor %}"
    created = admin_api(
        "POST",
        "/v1/campaigns",
        {
            "campaign_id": "pets-recs",
            "segment_id": "pets",
            "topic": "marketing",
            "send_at": {"local_date": "2026-11-24", "local_time": "10:00"},
            "holdout_percent": 0,
            "conversion_window_days": 7,
            "content": {"en": {"subject": "For your pets", "body": body}},
        },
    )
    assert created.status == 201, created.body
    at("2026-11-24T08:00:00Z")  # 11:00 in Moscow
    [message] = [m for m in outbox() if m["trigger"] == "campaign" and m["to"] == "c3@example.com"]
    assert message["body"].splitlines()[1:3] == ["- Миска: RUB\xa0100.00", "- Мышка: RUB\xa0100.00"]
    assert "Мазь" not in message["body"]
