"""What one event contributes to a profile: a ProfileState of its own, joined into the profile."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asusual.identity.extract import normalize_email, normalize_phone
from asusual.identity.models import Identifier
from asusual.intake.models import EventType, IntakeEvent
from asusual.profiles.state import OrderFact, ProductLine, ProfileState, Stamped, snake

ORDER_PLACED = "Order Completed"
CHANNELS = ("email", "sms", "push", "web", "app", "store", "call_center")
TOPICS = ("marketing", "transactional")


def valid_timezone(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


def number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return None
    return None


def _traits(event: IntakeEvent) -> dict[str, Any]:
    """context.traits, then the event's own traits (identify) on top; snake_case keys."""
    merged: dict[str, Any] = {}
    context_traits = event.context.get("traits")
    for source in (context_traits if isinstance(context_traits, dict) else {}, event.traits):
        for key, value in source.items():
            merged[snake(str(key))] = value
    if "email" in merged:
        merged["email"] = normalize_email(merged["email"]) or merged["email"]
    if "phone" in merged:
        merged["phone"] = normalize_phone(merged["phone"], event.source.country) or merged["phone"]
    if "birthday" in merged:
        merged["birthday"] = _iso_date(merged["birthday"])
    if "timezone" in merged:
        merged["timezone"] = valid_timezone(merged["timezone"])
    return merged


PUSH_PLATFORMS = {"ios": "apns", "ipados": "apns", "android": "fcm"}


def _push_address(event: IntakeEvent) -> str | None:
    """Segment's context.device.token of the app: ``<platform>:<token>`` (the push sender turns it
    into an SNS endpoint); an SNS endpoint ARN the app registered itself is used as it is."""
    device = event.context.get("device")
    if not isinstance(device, dict):
        return None
    token = device.get("token")
    if not isinstance(token, str) or not token.strip():
        return None
    if token.startswith("arn:"):
        return token.strip()
    platform = PUSH_PLATFORMS.get(str(device.get("type", "")).strip().lower())
    return f"{platform}:{token.strip()}" if platform else None


def _iso_date(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _subscriptions(raw: object, event: IntakeEvent) -> dict[str, Stamped]:
    out: dict[str, Stamped] = {}
    if not isinstance(raw, dict):
        return out
    version = raw.get("consent_version")
    for channel, topics in raw.items():
        if channel not in CHANNELS or not isinstance(topics, dict):
            continue
        for topic in TOPICS:
            if isinstance(topics.get(topic), bool):
                out[f"{channel}.{topic}"] = Stamped(
                    value={
                        "subscribed": topics[topic],
                        "consent_version": topics.get("consent_version", version),
                        "source_id": event.source.source_id,
                    },
                    at=event.timestamp,
                    msg=event.message_id,
                )
    return out


def _order(event: IntakeEvent) -> OrderFact | None:
    if event.type is not EventType.TRACK or event.event != ORDER_PLACED:
        return None
    props = event.properties
    order_id = props.get("order_id") or props.get("orderId")
    if order_id in (None, ""):
        return None
    lines = []
    for item in props.get("products") or []:
        if isinstance(item, dict) and (item.get("product_id") or item.get("sku")):
            lines.append(
                ProductLine(
                    product_id=str(item.get("product_id") or item.get("sku")),
                    quantity=number(item.get("quantity")) or 1,
                    price=number(item.get("price")),
                    name=item.get("name") if isinstance(item.get("name"), str) else None,
                    category=item.get("category") if isinstance(item.get("category"), str) else None,
                )
            )
    total = number(props.get("total"))
    if total is None:
        total = number(props.get("revenue"))
    if total is None and lines and all(line.price is not None for line in lines):
        total = sum((line.price or 0) * line.quantity for line in lines)
    currency = props.get("currency")
    return OrderFact(
        order_id=str(order_id),
        at=event.timestamp,
        msg=event.message_id,
        total=total,
        currency=currency.upper() if isinstance(currency, str) else None,
        channel=event.source.channel.value,
        products=tuple(lines),
    )


def contribution(event: IntakeEvent, identifiers: frozenset[Identifier]) -> ProfileState:
    def stamped(value: Any) -> Stamped:
        return Stamped(value=value, at=event.timestamp, msg=event.message_id)

    traits = _traits(event)
    subscriptions = _subscriptions(traits.pop("subscriptions", None), event)
    push = _push_address(event)
    if push is not None:
        traits["push_address"] = push
    locale = event.context.get("locale")
    context_tz = valid_timezone(event.context.get("timezone"))
    order = _order(event)
    return ProfileState(
        traits={k: stamped(v) for k, v in sorted(traits.items())},
        subscriptions=subscriptions,
        context_locale=stamped(locale) if isinstance(locale, str) and locale else None,
        context_timezone=stamped(context_tz) if context_tz else None,
        source_timezone=stamped(event.source.timezone) if event.source.timezone else None,
        first_seen=event.timestamp,
        last_seen=event.timestamp,
        channels=frozenset({event.source.channel.value}),
        active_days={event.source.channel.value: frozenset({event.timestamp.date().isoformat()})},
        identifiers=identifiers,
        orders={order.order_id: order} if order else {},
    )
