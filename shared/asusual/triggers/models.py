"""The message intent: the contract between the triggers and the dispatcher (intents queue).

An intent says who should hear from us, which trigger fired, the facts that justify it (what the
message will say and why), whether it is transactional or marketing, and a send-once key built
from those facts: the dispatcher sends each key at most once, so a trigger may emit the same
intent again after a crash (at-least-once emission, exactly-once delivery).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Topic(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str | None = None
    quantity: float = 1


class OrderStatusFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    trigger: Literal["order_status"] = "order_status"
    order_id: str
    status: OrderStatus
    previous_status: OrderStatus | None = Field(description="the status the order had before")
    order_channel: str | None = Field(description="the channel the order was placed on")
    status_at: datetime = Field(description="event time of the status change")
    total: float | None = None
    currency: str | None = None
    products: tuple[OrderLine, ...] = ()
    details: dict[str, str] = Field(
        default_factory=dict, description="tracking_number, tracking_url, carrier, pickup_location, ..."
    )
    message_id: str = Field(description="the event that moved the order")


class BirthdayFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    trigger: Literal["birthday"] = "birthday"
    birthday: date = Field(description="as the customer declared it")
    celebrated_on: date = Field(description="the local date congratulated (Feb 29 → Feb 28 in other years)")
    year: int
    timezones: tuple[str, ...] = Field(description="the customer's zone, or every zone plausible for them")


class ReplenishmentFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    trigger: Literal["replenishment"] = "replenishment"
    product_id: str
    product_name: str | None
    last_purchase_at: datetime
    last_purchase_channel: str | None
    quantity: float = Field(description="units bought last time")
    days_since: int = Field(description="whole days since the last purchase when the reminder fired")
    expected_runout_at: datetime
    basis: str = Field(description="catalog, personal, population:product, population:category, ...")


class WelcomeFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    trigger: Literal["welcome"] = "welcome"
    channels: tuple[str, ...] = Field(description="the channels the customer just subscribed to")
    subscribed_at: datetime
    source_id: str = Field(description="the source that reported the subscription")


class ConsentConfirmationFacts(BaseModel):
    """A public source asserted an opt-in for this address: the customer is asked to confirm it
    (asusual.profiles.consent). The address itself is not a fact: the dispatcher reads it from the
    assertion the profile keeps."""

    model_config = ConfigDict(frozen=True)

    trigger: Literal["consent_confirmation"] = "consent_confirmation"
    channel: str = Field(description="email or sms: where the opt-in was asserted and is confirmed")
    topic: str = Field(default="marketing", description="the consent's topic")
    asserted_at: datetime = Field(description="event time of the assertion")
    source_id: str = Field(description="the public source that asserted it")
    message_id: str = Field(description="the event that asserted it")
    consent_version: str | None = None


class CampaignContent(BaseModel):
    """One locale's words of a campaign (Liquid, the content pack's variables): an email's
    ``subject`` and ``body``, and the short ``text`` of SMS, push and the store and call-center
    systems (a push takes the subject as its title when there is one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=20_000)
    text: str | None = Field(default=None, max_length=2_000)


class CampaignFacts(BaseModel):
    """A campaign reached this member's local send time (asusual.campaigns): its words travel with
    the intent, so the dispatcher renders what the marketer wrote, in the customer's locale."""

    model_config = ConfigDict(frozen=True)

    trigger: Literal["campaign"] = "campaign"
    campaign_id: str
    segment_id: str
    segment_name: str = Field(description="what the explanation calls the segment")
    channels: tuple[str, ...] | None = Field(default=None, description="the channels it may go on; None: any")
    content: dict[str, CampaignContent] = Field(description="locale → the campaign's words")
    release_at: datetime = Field(
        description="the member's local send time (as an instant), throttle included"
    )


class AbandonedProduct(BaseModel):
    """A product a customer left in the cart, or looked at again and again (the catalog's name
    when the reminder was made; the message shows the catalog's price of the day)."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str
    at: datetime = Field(description="put in the cart (cart), or first of the views that counted (browse)")
    quantity: float | None = None
    sensitive: bool = Field(default=False, description="then the reminder goes by email only")


class CartAbandonmentFacts(BaseModel):
    """Products left in the cart with no order (asusual.triggers.abandonment)."""

    model_config = ConfigDict(frozen=True)

    trigger: Literal["cart_abandonment"] = "cart_abandonment"
    cart_id: str = Field(
        description="when the oldest product left in the cart was put in: one reminder per cart"
    )
    products: tuple[AbandonedProduct, ...] = Field(description="the products named, latest put in first")
    more: int = Field(default=0, description="products left in the cart beyond those named")
    last_activity_at: datetime = Field(description="the cart's last event before the reminder")


class BrowseAbandonmentFacts(BaseModel):
    """Products viewed several times, never put in the cart nor bought (a softer reminder)."""

    model_config = ConfigDict(frozen=True)

    trigger: Literal["browse_abandonment"] = "browse_abandonment"
    products: tuple[AbandonedProduct, ...]
    views: int = Field(description="views of the named products that counted")
    last_viewed_at: datetime


# -- back in stock and price drop (asusual.triggers.stock) ---------------------------------------
Interested = Literal["viewed", "added"]


class Interest(BaseModel):
    """A customer viewed a product or added it to the cart (Segment ``Product Viewed`` / ``Product
    Added``): kept per (profile, product) with the latest time, in the product's interest index."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    product_id: str
    at: datetime = Field(description="event time of the latest view or add recorded")
    how: Interested


class WantedProductFacts(BaseModel):
    """What back-in-stock and price-drop facts share: the product and what the customer did."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    product_name: str | None
    interest: Interested = Field(description="what the customer did: viewed it or added it to the cart")
    interested_at: datetime
    interested_on: date = Field(description="that day, in the customer's local time")
    changed_at: datetime = Field(description="when the catalog made the change (updated_at)")


class BackInStockFacts(WantedProductFacts):
    """A product the customer viewed or added to the cart is in stock again."""

    trigger: Literal["back_in_stock"] = "back_in_stock"


class PriceDropFacts(WantedProductFacts):
    """A product the customer viewed or added to the cart costs at least the configured share less."""

    trigger: Literal["price_drop"] = "price_drop"
    price: Decimal = Field(description="the lowered price (the message shows the catalog's current one)")
    previous_price: Decimal
    currency: str


Facts = Annotated[
    OrderStatusFacts
    | BirthdayFacts
    | ReplenishmentFacts
    | WelcomeFacts
    | ConsentConfirmationFacts
    | CampaignFacts
    | CartAbandonmentFacts
    | BrowseAbandonmentFacts
    | BackInStockFacts
    | PriceDropFacts,
    Field(discriminator="trigger"),
]


class Deferral(BaseModel):
    """One time the dispatcher held the intent back, kept so the message can say so."""

    model_config = ConfigDict(frozen=True)

    reason: str = Field(description="quiet_hours or frequency_cap")
    deferred_at: datetime
    release_at: datetime


class Intent(BaseModel):
    """One message that should go out (unless consent, caps or content say otherwise)."""

    model_config = ConfigDict(frozen=True)

    intent_id: str = Field(description="derived from the send-once key")
    profile_id: str
    topic: Topic
    send_once_key: str = Field(description="the dispatcher sends each key at most once, ever")
    facts: Facts
    created_at: datetime
    deferrals: tuple[Deferral, ...] = Field(default=(), description="each hold-back, oldest first")

    @property
    def trigger(self) -> str:
        return self.facts.trigger


def make_intent(profile_id: str, topic: Topic, send_once_key: str, facts: Facts, now: datetime) -> Intent:
    digest = hashlib.sha256(send_once_key.encode()).hexdigest()[:24]
    return Intent(
        intent_id=f"i_{digest}",
        profile_id=profile_id,
        topic=topic,
        send_once_key=send_once_key,
        facts=facts,
        created_at=now,
    )


class SweepReport(BaseModel):
    """What one scheduled sweep did; its ``read`` count is the cost that must not grow with the
    number of profiles, only with the birthdays (or due reminders) of the moment."""

    sweep: str
    now: datetime
    partitions: list[str] = Field(description="index partitions queried")
    read: int = Field(description="index items read")
    emitted: int = Field(description="intents published")
    skipped: dict[str, int] = Field(default_factory=dict, description="reason → count")
