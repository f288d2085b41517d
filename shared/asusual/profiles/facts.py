"""What one event contributes to a profile: a ProfileState of its own, joined into the profile."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asusual.identity.extract import normalize_email, normalize_phone
from asusual.identity.models import Identifier, Kind, identifying, priority
from asusual.intake.models import MAX_ID_LENGTH, EventType, IntakeEvent
from asusual.localtime import utc_offset
from asusual.profiles.consent import ADDRESS_TRAIT, confirmed_assertion, confirmed_stamp, needs_confirmation
from asusual.profiles.limits import MAX_LINE_TEXT, MAX_ORDER_LINES, fits_trait
from asusual.profiles.state import (
    MAX_CART_LINES,
    CartLine,
    OrderFact,
    ProductLine,
    ProductViews,
    ProfileState,
    Stamped,
    snake,
)

ORDER_PLACED = "Order Completed"
PRODUCT_VIEWED = "Product Viewed"
PRODUCT_ADDED = "Product Added"
PRODUCT_REMOVED = "Product Removed"
CART_LISTS = ("Cart Viewed", "Checkout Started")  # Segment e-commerce v2: products[] is the whole cart
CART_EVENTS = (PRODUCT_ADDED, PRODUCT_REMOVED, *CART_LISTS)
MAX_LOCALE = 35  # the longest BCP 47 tag in common use ("zh-Hant-TW" is 10); a longer one is noise
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
    """A finite number from a JSON number or a numeric string ("12,5" too); None otherwise
    ("inf", "nan", 1e400 and an integer too large for a float are no numbers here)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            result = float(value.replace(",", "."))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def _raw_traits(event: IntakeEvent) -> dict[str, Any]:
    """context.traits, then the event's own traits (identify) on top; snake_case keys."""
    merged: dict[str, Any] = {}
    context_traits = event.context.get("traits")
    for source in (context_traits if isinstance(context_traits, dict) else {}, event.traits):
        for key, value in source.items():
            merged[snake(str(key))] = value
    return merged


def oversized_traits(event: IntakeEvent) -> list[str]:
    """The event's traits too large to keep (asusual.profiles.limits): they keep their values."""
    return sorted(k for k, v in _raw_traits(event).items() if k != "subscriptions" and not fits_trait(v))


def _traits(event: IntakeEvent) -> dict[str, Any]:
    """The event's traits as the profile keeps them: snake_case keys, values within the size
    limit, the email address in its one normal form (an unusable one is not kept)."""
    merged = {k: v for k, v in _raw_traits(event).items() if k == "subscriptions" or fits_trait(v)}
    if "email" in merged:
        email = normalize_email(merged.pop("email"))
        if email is not None:
            merged["email"] = email
    if "phone" in merged:
        merged["phone"] = normalize_phone(merged["phone"], event.source.country) or merged["phone"]
    if "birthday" in merged:
        merged["birthday"] = _iso_date(merged["birthday"])
    if "timezone" in merged:
        merged["timezone"] = valid_timezone(merged["timezone"])
    return merged


MAX_PUSH_TOKEN = 1024  # APNs tokens are 64 hex characters, FCM's about 160, SNS endpoint ARNs under 200
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
    if len(token) > MAX_PUSH_TOKEN:
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


def _consent_version(value: object) -> str | float | int | None:
    """The wording's version: a number, or text of at most 100 characters."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value if number(value) is not None else None
    return value[:100] if isinstance(value, str) and value else None


def _subscriptions(
    raw: object, event: IntakeEvent, traits: dict[str, Any]
) -> tuple[dict[str, Stamped], dict[str, Stamped]]:
    """The consents the event states, and the opt-ins it only asserts (a public source's, for email
    or SMS marketing: pending until the address confirms them, asusual.profiles.consent)."""
    out: dict[str, Stamped] = {}
    pending: dict[str, Stamped] = {}
    if not isinstance(raw, dict):
        return out, pending
    version = _consent_version(raw.get("consent_version"))
    confirms = confirmed_assertion(event)
    for channel, topics in raw.items():
        if channel not in CHANNELS or not isinstance(topics, dict):
            continue
        for topic in TOPICS:
            if isinstance(topics.get(topic), bool):
                value = {
                    "subscribed": topics[topic],
                    "consent_version": _consent_version(topics.get("consent_version")) or version,
                    "source_id": event.source.source_id,
                }
                at = event.timestamp
                if needs_confirmation(event.source, channel, topic, topics[topic]):
                    pending[f"{channel}.{topic}"] = Stamped(
                        value={**value, "pending": True, **_asserted_address(channel, traits)},
                        at=at,
                        msg=event.message_id,
                    )
                    continue
                if confirms is not None and topics[topic]:
                    value["confirmed_at"] = event.timestamp.isoformat()
                    value["confirms"] = confirms.model_dump(mode="json")
                    at = min(confirmed_stamp(confirms), event.timestamp)
                out[f"{channel}.{topic}"] = Stamped(
                    value=value, at=at, msg=event.message_id, customer=event.source.customer
                )
    return out, pending


def _asserted_address(channel: str, traits: dict[str, Any]) -> dict[str, str]:
    """The address the event itself gives for the channel (the confirmation goes there); none: the
    profile's own address when the confirmation is sent."""
    value = traits.get(ADDRESS_TRAIT[channel])
    if not isinstance(value, str) or (channel == "sms" and not value.startswith("+")):
        return {}
    return {"address": value}


def _line_text(value: object) -> str | None:
    return value[:MAX_LINE_TEXT] if isinstance(value, str) else None


def _order(event: IntakeEvent) -> OrderFact | None:
    if event.type is not EventType.TRACK or event.event != ORDER_PLACED:
        return None
    props = event.properties
    order_id = props.get("order_id") or props.get("orderId")
    if order_id in (None, ""):
        return None
    lines = []
    products = props.get("products")
    for item in products[:MAX_ORDER_LINES] if isinstance(products, list) else []:
        if isinstance(item, dict) and (item.get("product_id") or item.get("sku")):
            quantity = number(item.get("quantity"))
            lines.append(
                ProductLine(
                    product_id=str(item.get("product_id") or item.get("sku"))[:MAX_ID_LENGTH],
                    # absent: one unit; 0 or less: a return or a zero line, not a purchase
                    quantity=1 if quantity is None else quantity,
                    price=number(item.get("price")),
                    name=_line_text(item.get("name")),
                    category=_line_text(item.get("category")),
                )
            )
    total = number(props.get("total"))
    if total is None:
        total = number(props.get("revenue"))
    if total is None and lines and all(line.price is not None for line in lines):
        total = sum((line.price or 0) * line.quantity for line in lines)
    currency = props.get("currency")
    return OrderFact(
        order_id=str(order_id)[:MAX_ID_LENGTH],
        at=event.timestamp,
        msg=event.message_id,
        total=total,
        currency=currency.upper() if isinstance(currency, str) else None,
        channel=event.source.channel.value,
        products=tuple(lines),
    )


def _view(event: IntakeEvent) -> dict[str, ProductViews]:
    """A product page seen (Segment ``Product Viewed``: ``product_id``, else ``sku`` or ``id``)."""
    if event.type is not EventType.TRACK or event.event != PRODUCT_VIEWED:
        return {}
    props = event.properties
    product_id = product_id_of(props)
    if product_id is None:
        return {}
    category = _line_text(props.get("category"))
    category = category.strip() if category and category.strip() else None
    return {
        product_id: ProductViews(
            at=(event.timestamp,), category=category, category_at=event.timestamp if category else None
        )
    }


def product_id_of(props: dict[str, Any]) -> str | None:
    """A product's id as the e-commerce spec names it: ``product_id``, else ``sku`` or ``id``."""
    raw = next((props[k] for k in ("product_id", "sku", "id") if props.get(k) not in (None, "")), None)
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    return str(raw)[:MAX_ID_LENGTH]


def _cart_line(props: dict[str, Any], event: IntakeEvent, added: bool) -> tuple[str, CartLine] | None:
    product_id = product_id_of(props)
    if product_id is None:
        return None
    quantity = number(props.get("quantity"))
    category = _line_text(props.get("category"))
    return product_id, CartLine(
        at=event.timestamp,
        msg=event.message_id,
        added=added,
        quantity=quantity if added and quantity is not None and quantity > 0 else None,
        name=_line_text(props.get("name")) if added else None,
        category=category.strip() or None if added and category else None,
    )


def _cart(event: IntakeEvent) -> tuple[dict[str, CartLine], datetime | None]:
    """The cart lines an event states, and the time it listed the whole cart (Cart Viewed or
    Checkout Started with ``products[]``): a product put in or taken out, or the cart as listed."""
    if event.type is not EventType.TRACK or event.event not in CART_EVENTS:
        return {}, None
    props = event.properties
    if event.event in CART_LISTS:
        products = props.get("products")
        if not isinstance(products, list):
            return {}, None
        lines = (_cart_line(p, event, True) for p in products[:MAX_CART_LINES] if isinstance(p, dict))
        return dict(line for line in lines if line is not None), event.timestamp
    line = _cart_line(props, event, added=event.event == PRODUCT_ADDED)
    return (dict([line]) if line is not None else {}), None


def anonymous_ties(event: IntakeEvent, linked: Iterable[Identifier]) -> dict[str, frozenset[str]]:
    """What a vouched event (asusual.intake.models.IntakeEvent.vouched: a server-side source's, or a
    signed user id's) says of the browser it names: each of its anonymous ids belongs to the person
    its first identifying identifier names (user id, else email, phone, an external id). ``linked``:
    the event's identifiers that are in the profile after it (a dropped one ties nothing). An
    unvouched event, or one that names no person, ties nothing."""
    if not event.vouched:
        return {}
    kept = sorted(set(linked), key=lambda i: (priority(i.kind), i.kind, i.value))
    person = next((i for i in kept if identifying(i.kind)), None)
    if person is None:
        return {}
    return {i.value: frozenset({person.key()}) for i in kept if i.kind == Kind.ANONYMOUS_ID}


def contribution(
    event: IntakeEvent, identifiers: frozenset[Identifier], linked: Iterable[Identifier] = ()
) -> ProfileState:
    def stamped(value: Any) -> Stamped:
        return Stamped(value=value, at=event.timestamp, msg=event.message_id, customer=event.source.customer)

    traits = _traits(event)
    subscriptions, pending = _subscriptions(traits.pop("subscriptions", None), event, traits)
    push = _push_address(event)
    if push is not None:
        traits["push_address"] = push
    locale = event.context.get("locale")
    locale = locale if isinstance(locale, str) and len(locale) <= MAX_LOCALE else None
    context_tz = valid_timezone(event.context.get("timezone"))
    # an offset instead of a zone (RudderStack's browser SDK: "GMT+0300") only narrows the zones
    offset = None if context_tz else utc_offset(event.context.get("timezone"))
    order = _order(event)
    cart, cart_listed_at = _cart(event)
    return ProfileState(
        traits={k: stamped(v) for k, v in sorted(traits.items())},
        subscriptions=subscriptions,
        context_locale=stamped(locale) if isinstance(locale, str) and locale else None,
        context_timezone=stamped(context_tz) if context_tz else None,
        context_utc_offset=stamped(offset // timedelta(minutes=1)) if offset is not None else None,
        source_timezone=stamped(event.source.timezone) if event.source.timezone else None,
        first_seen=event.timestamp,
        last_seen=event.timestamp,
        channels=frozenset({event.source.channel.value}),
        active_days={event.source.channel.value: frozenset({event.timestamp.date().isoformat()})},
        identifiers=identifiers,
        orders={order.order_id: order} if order else {},
        anonymous_ties=anonymous_ties(event, linked),
        pending_consents=pending,
        views=_view(event),
        cart=cart,
        cart_listed_at=cart_listed_at,
    )
