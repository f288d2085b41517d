"""What a channel reads to greet and prefill: computed from the profile state (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.profiles.consent import awaiting_confirmation
from asusual.profiles.facts import valid_timezone
from asusual.profiles.location import City, Country, city_of, country_seen, ip_zone
from asusual.profiles.state import ProfileState

NO_CURRENCY = "XXX"  # ISO 4217's code for "no currency": orders whose currency was not given
PREFERRED_CHANNELS = {"email", "sms", "push", "web", "app", "store", "call_center"}


class TenureStage(StrEnum):
    NEW = "new"
    RETURNING = "returning"
    LOYAL = "loyal"


class TenurePolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    returning_min_orders: int = 2
    loyal_min_orders: int = 5


def tenure_stage(order_count: int, policy: TenurePolicy) -> TenureStage:
    """The customer's stage by the orders they placed: greetings and segments read the same one."""
    if order_count >= policy.loyal_min_orders:
        return TenureStage.LOYAL
    if order_count >= policy.returning_min_orders:
        return TenureStage.RETURNING
    return TenureStage.NEW


class TimezoneEvidence(StrEnum):
    TRAIT = "trait"  # the customer told us (identify timezone)
    CONTEXT = "context"  # the device said so (context.timezone)
    SOURCE = "source"  # the store or call center the event came from
    PHONE = "phone"  # the phone number's region has one zone
    IP = "ip"  # the visitor's IP address, where nothing above tells (asusual.profiles.location)


class Timezone(BaseModel):
    zone: str
    evidence: TimezoneEvidence


class LastOrder(BaseModel):
    order_id: str
    at: datetime
    total: float | None
    currency: str | None
    channel: str | None


class Purchase(BaseModel):
    product_id: str
    name: str | None
    orders: int = Field(description="orders containing the product")
    quantity: float
    dates: list[datetime]


class Tenure(BaseModel):
    stage: TenureStage
    order_count: int
    revenue: dict[str, float] = Field(description="per currency")
    first_seen: datetime | None
    last_seen: datetime | None
    last_order: LastOrder | None


class ProfileView(BaseModel):
    """GET /v1/profiles/{identifier_type}/{value}."""

    profile_id: str
    display_name: str | None = Field(description="how to address the customer; null: use a neutral form")
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    birthday: str | None
    gender: str | None = Field(description="only as the customer declared it")
    title: str | None
    locale: str | None
    timezone: Timezone | None
    preferred_channel: str | None
    subscriptions: dict[str, dict[str, bool]]
    pending_subscriptions: dict[str, dict[str, bool]] = Field(
        default_factory=dict,
        description="opt-ins a public source (the shop's pages, the app) asserted, granting nothing "
        "until the customer confirms them by the link sent to the address",
    )
    channels: list[str]
    tenure: Tenure
    purchases: list[Purchase]
    traits: dict[str, Any] = Field(description="every trait, latest value")
    segments: list[str] = Field(default_factory=list, description="ids of the live segments she is in")
    # where she is (asusual.profiles.location): declared first, the IP address's only in its absence
    city: City | None = Field(default=None, description="the address's city, else the IP's")
    country: Country | None = Field(
        default=None, description="the address's country, else the phone's, else the IP's (shown only)"
    )


def _pending(state: ProfileState) -> dict[str, dict[str, bool]]:
    pending: dict[str, dict[str, bool]] = defaultdict(dict)
    for key in awaiting_confirmation(state):
        channel, topic = key.split(".", 1)
        pending[channel][topic] = True
    return dict(pending)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def timezone_of(state: ProfileState, traits: dict[str, Any]) -> Timezone | None:
    declared = valid_timezone(traits.get("timezone"))
    if declared:
        return Timezone(zone=declared, evidence=TimezoneEvidence.TRAIT)
    for stamped, evidence in (
        (state.context_timezone, TimezoneEvidence.CONTEXT),
        (state.source_timezone, TimezoneEvidence.SOURCE),
    ):
        if stamped is not None and valid_timezone(stamped.value):
            return Timezone(zone=stamped.value, evidence=evidence)
    phone = traits.get("phone")
    if isinstance(phone, str) and phone.startswith("+"):
        import phonenumbers.timezone  # here, not at import (cold start)

        try:
            zones = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            zones = ()
        if len(zones) == 1 and valid_timezone(zones[0]):
            return Timezone(zone=zones[0], evidence=TimezoneEvidence.PHONE)
    located = ip_zone(state, traits)
    return Timezone(zone=located, evidence=TimezoneEvidence.IP) if located else None


def present_zones(profile: ProfileView, zones: Sequence[str]) -> tuple[str, ...]:
    """Where a visitor on a page is now, for what is read at once (a greeting's time of day), when
    ``zones`` (where they may be) cannot tell: the IP's zone, when it is one of them or nothing else
    is known. Never for a message: one read later is timed by ``zones`` alone."""
    tz = profile.timezone
    if tz is None or tz.evidence is not TimezoneEvidence.IP or (zones and tz.zone not in zones):
        return ()
    return (tz.zone,)


def locale_of(state: ProfileState) -> str | None:
    """The declared locale, else the device's."""
    traits = state.traits
    declared = _text(traits["locale"].value) if "locale" in traits else None
    return declared or (state.context_locale.value if state.context_locale else None)


def view(
    profile_id: str, state: ProfileState, policy: TenurePolicy | None = None, segments: Sequence[str] = ()
) -> ProfileView:
    policy = policy or TenurePolicy()
    traits = {k: v.value for k, v in state.traits.items()}
    first = _text(traits.get("first_name"))
    name = _text(traits.get("name"))
    orders = sorted(state.orders.values(), key=lambda o: o.stamp())
    revenue: dict[str, float] = defaultdict(float)
    purchases: dict[str, dict[str, Any]] = {}
    for order in orders:
        if order.total is not None:
            revenue[order.currency or NO_CURRENCY] += order.total
        for line in order.products:
            entry = purchases.setdefault(
                line.product_id,
                {"product_id": line.product_id, "name": line.name, "orders": 0, "quantity": 0.0, "dates": []},
            )
            entry["orders"] += 1
            entry["quantity"] += line.quantity
            entry["dates"].append(order.at)
            entry["name"] = line.name or entry["name"]
    count = len(orders)
    stage = tenure_stage(count, policy)
    last = orders[-1] if orders else None
    preferred = _text(traits.get("preferred_channel"))
    subscriptions: dict[str, dict[str, bool]] = defaultdict(dict)
    for key, stamped in state.subscriptions.items():
        channel, topic = key.split(".", 1)
        subscriptions[channel][topic] = bool(stamped.value["subscribed"])
    locale = locale_of(state)
    address = traits.get("address")
    return ProfileView(
        profile_id=profile_id,
        display_name=first or name,
        first_name=first,
        middle_name=_text(traits.get("middle_name")),
        last_name=_text(traits.get("last_name")),
        email=_text(traits.get("email")),
        phone=_text(traits.get("phone")),
        address=address if isinstance(address, dict) else None,
        birthday=_text(traits.get("birthday")),
        gender=_text(traits.get("gender")),
        title=_text(traits.get("title")),
        locale=locale,
        timezone=timezone_of(state, traits),
        preferred_channel=preferred if preferred in PREFERRED_CHANNELS else None,
        subscriptions=dict(subscriptions),
        pending_subscriptions=_pending(state),
        channels=sorted(state.channels),
        tenure=Tenure(
            stage=stage,
            order_count=count,
            revenue={k: round(v, 2) for k, v in sorted(revenue.items())},
            first_seen=state.first_seen,
            last_seen=state.last_seen,
            last_order=LastOrder(
                order_id=last.order_id,
                at=last.at,
                total=last.total,
                currency=last.currency,
                channel=last.channel,
            )
            if last
            else None,
        ),
        purchases=[Purchase(**p) for p in sorted(purchases.values(), key=lambda p: p["product_id"])],
        traits=traits,
        segments=sorted(segments),
        city=city_of(state, traits, locale),
        country=country_seen(state, traits),
    )
