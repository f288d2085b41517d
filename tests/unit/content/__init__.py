"""Builders for content tests: profiles through the real view, inputs as the dispatcher makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from asusual.catalog.models import ContentProduct
from asusual.content.render import ContentInput
from asusual.profiles.state import OrderFact, ProfileState, Stamped
from asusual.profiles.view import ProfileView, view

NOW = datetime(2026, 5, 27, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Wednesday in late spring
WHY_URL = "https://shop.example/why/m_123"
UNSUBSCRIBE_URL = "https://shop.example/unsubscribe/m_123"
PREFERENCES_URL = "https://shop.example/preferences/m_123"
CONFIRM_URL = "https://shop.example/v1/consent/confirm?token=abc.def"


def profile(*, orders: int = 0, **traits: Any) -> ProfileView:
    """A profile as the event processor would build it: the given traits and ``orders`` orders."""
    at = NOW - timedelta(days=400)
    state = ProfileState(
        traits={key: Stamped(value=value, at=at, msg=f"t_{key}") for key, value in traits.items()},
        orders={
            f"o{i}": OrderFact(
                order_id=f"o{i}", at=at + timedelta(days=i), msg=f"o{i}", total=999.0, currency="RUB"
            )
            for i in range(orders)
        },
        first_seen=at,
        last_seen=at,
    )
    return view("p_test", state)


def product(name: str = "Корм Purina One", price: str | None = "1290", **extra: Any) -> ContentProduct:
    return ContentProduct(
        product_id=extra.pop("product_id", "sku_1"),
        name=name,
        price=Decimal(price) if price is not None else None,
        currency=extra.pop("currency", "RUB" if price is not None else None),
        **extra,
    )


def request(
    trigger: str,
    channel: str,
    who: ProfileView,
    *,
    zones: tuple[str, ...] = (),
    country: str | None = None,
    now: datetime = NOW,
    facts: dict[str, Any] | None = None,
    products: tuple[ContentProduct, ...] = (),
    offer: ContentProduct | None = None,
    why_url: str = WHY_URL,
    unsubscribe_url: str | None = None,
    preferences_url: str | None = None,
    confirm_url: str | None = None,
) -> ContentInput:
    return ContentInput(
        trigger=trigger,
        channel=channel,
        profile=who,
        zones=zones,
        country=country,
        now=now,
        facts=facts if facts is not None else minimal_facts(trigger),
        products=products,
        offer=offer,
        why_url=why_url,
        unsubscribe_url=unsubscribe_url,
        preferences_url=preferences_url,
        # the dispatcher gives a confirmation its link (asusual.triggers.kinds.base.TriggerKind.confirms)
        confirm_url=confirm_url or (CONFIRM_URL if trigger == "consent_confirmation" else None),
        message_id="m_123",
    )


def minimal_facts(trigger: str) -> dict[str, Any]:
    """Only the fields the intent's facts always carry (model_dump(mode="json") shape)."""
    if trigger.startswith("order_"):
        status = trigger.removeprefix("order_")
        return {
            "trigger": "order_status",
            "order_id": "A-1001",
            "status": status,
            "previous_status": None,
            "order_channel": None,
            "status_at": NOW.isoformat(),
            "total": None,
            "currency": None,
            "products": [],
            "details": {},
            "message_id": "e_1",
        }
    if trigger == "birthday":
        return {
            "trigger": "birthday",
            "birthday": "1990-05-27",
            "celebrated_on": "2026-05-27",
            "year": 2026,
            "timezones": [],
        }
    if trigger == "replenishment":
        return {
            "trigger": "replenishment",
            "product_id": "sku_1",
            "product_name": None,
            "last_purchase_at": (NOW - timedelta(days=26)).isoformat(),
            "last_purchase_channel": None,
            "quantity": 1.0,
            "days_since": 26,
            "expected_runout_at": NOW.isoformat(),
            "basis": "catalog",
        }
    if trigger in ("back_in_stock", "price_drop"):
        wanted = {
            "trigger": trigger,
            "product_id": "sku_1",
            "product_name": None,
            "interest": "viewed",
            "interested_at": (NOW - timedelta(days=3)).isoformat(),
            "interested_on": (NOW - timedelta(days=3)).date().isoformat(),
            "changed_at": NOW.isoformat(),
        }
        if trigger == "price_drop":
            wanted |= {"price": "2400", "previous_price": "3000", "currency": "RUB"}
        return wanted
    if trigger in ("cart_abandonment", "browse_abandonment"):
        products = [
            {
                "product_id": "sku_1",
                "name": "Корм",
                "at": NOW.isoformat(),
                "quantity": None,
                "sensitive": False,
            }
        ]
        if trigger == "browse_abandonment":
            return {"trigger": trigger, "products": products, "views": 3, "last_viewed_at": NOW.isoformat()}
        return {
            "trigger": trigger,
            "cart_id": NOW.isoformat(),
            "products": products,
            "more": 0,
            "last_activity_at": NOW.isoformat(),
        }
    if trigger == "welcome":
        return {
            "trigger": "welcome",
            "channels": ["email"],
            "subscribed_at": NOW.isoformat(),
            "source_id": "s_web",
        }
    if trigger == "consent_confirmation":
        return {
            "trigger": "consent_confirmation",
            "channel": "email",
            "topic": "marketing",
            "asserted_at": NOW.isoformat(),
            "source_id": "s_browser",
            "message_id": "e_1",
            "consent_version": None,
        }
    return {}
