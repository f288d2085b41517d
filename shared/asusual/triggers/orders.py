"""Order status: a per-order state machine that only moves forward.

placed → paid → shipped | ready for pickup → delivered → refunded, and cancelled from any status
before delivery (refunded may follow a cancellation). A status arriving after a later one (a late
or replayed event) produces nothing; each (order, status) produces exactly one intent, ever: the
order record keeps which event set each status, so only a redelivery of that very event emits
the intent again (and the dispatcher sends its send-once key once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.intake.models import EventType, IntakeEvent
from asusual.profiles.facts import ORDER_PLACED, number
from asusual.triggers.models import Intent, OrderLine, OrderStatus, OrderStatusFacts, Topic, make_intent

STATUS_EVENTS = {
    ORDER_PLACED: OrderStatus.PLACED,
    "Order Paid": OrderStatus.PAID,
    "Order Shipped": OrderStatus.SHIPPED,
    "Order Ready for Pickup": OrderStatus.READY_FOR_PICKUP,
    "Order Delivered": OrderStatus.DELIVERED,
    "Order Cancelled": OrderStatus.CANCELLED,
    "Order Refunded": OrderStatus.REFUNDED,
}
ORDER_UPDATED = "Order Updated"
# properties.status of Order Updated, as retail systems spell it
STATUS_WORDS = {
    "placed": OrderStatus.PLACED,
    "completed": OrderStatus.PLACED,
    "paid": OrderStatus.PAID,
    "shipped": OrderStatus.SHIPPED,
    "ready_for_pickup": OrderStatus.READY_FOR_PICKUP,
    "ready": OrderStatus.READY_FOR_PICKUP,
    "delivered": OrderStatus.DELIVERED,
    "picked_up": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}
RANK = {
    OrderStatus.PLACED: 0,
    OrderStatus.PAID: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.READY_FOR_PICKUP: 2,
    OrderStatus.DELIVERED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.REFUNDED: 5,
}
DETAIL_FIELDS = (
    "tracking_number",
    "tracking_url",
    "carrier",
    "pickup_location",
    "pickup_code",
    "store_id",
    "estimated_delivery",
    "reason",
)


def may_follow(current: OrderStatus, new: OrderStatus) -> bool:
    """Forward only; a delivered order is refunded, not cancelled."""
    if current is OrderStatus.DELIVERED and new is OrderStatus.CANCELLED:
        return False
    return RANK[new] > RANK[current]


class StatusRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    at: datetime


class OrderRecord(BaseModel):
    """pk=ORDER#<order_id>: the order's current status and which event set each status."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    version: int = 0
    profile_id: str | None = None
    status: OrderStatus
    statuses: dict[OrderStatus, StatusRecord] = Field(default_factory=dict)
    channel: str | None = None
    total: float | None = None
    currency: str | None = None
    products: tuple[OrderLine, ...] = ()
    details: dict[str, str] = Field(default_factory=dict)


class OrderRepository(Protocol):
    def load_order(self, order_id: str) -> OrderRecord | None: ...

    def save_order(self, record: OrderRecord, expected_version: int | None) -> None:
        """Conditional on the version read (None: must not exist); raises Conflict."""
        ...


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    status: OrderStatus


def status_change(event: IntakeEvent) -> StatusChange | None:
    """The order status an event reports, if any (design.md 3.1)."""
    if event.type is not EventType.TRACK or not event.event:
        return None
    status = STATUS_EVENTS.get(event.event)
    if status is None and event.event == ORDER_UPDATED:
        word = event.properties.get("status")
        if isinstance(word, str):
            status = STATUS_WORDS.get(word.strip().lower().replace(" ", "_").replace("-", "_"))
    order_id = event.properties.get("order_id") or event.properties.get("orderId")
    if status is None or order_id in (None, "") or not isinstance(order_id, str | int):
        return None
    return StatusChange(order_id=str(order_id), status=status)


def order_lines(props: dict[str, Any]) -> tuple[OrderLine, ...]:
    """The products[] of an order event (product_id, else sku)."""
    lines = []
    for item in props.get("products") or []:
        if isinstance(item, dict) and (item.get("product_id") or item.get("sku")):
            name = item.get("name")
            lines.append(
                OrderLine(
                    product_id=str(item.get("product_id") or item.get("sku")),
                    name=name if isinstance(name, str) else None,
                    quantity=number(item.get("quantity")) or 1,
                )
            )
    return tuple(lines)


class Advance(BaseModel):
    """What an event does to an order: a new record to save (or None), and whether to emit."""

    model_config = ConfigDict(frozen=True)

    record: OrderRecord | None
    emit: OrderRecord | None = Field(description="the record the intent's facts come from")
    ignored: str | None = Field(default=None, description="why nothing is emitted")


def advance(
    current: OrderRecord | None, change: StatusChange, event: IntakeEvent, profile_id: str | None
) -> Advance:
    if current is not None and change.status in current.statuses:
        if current.statuses[change.status].message_id == event.message_id:
            return Advance(record=None, emit=current)  # the same event again: emit again (idempotent)
        return Advance(record=None, emit=None, ignored="duplicate_status")
    if current is not None and not may_follow(current.status, change.status):
        return Advance(record=None, emit=None, ignored="late_status")
    props = event.properties
    details = dict(current.details) if current else {}
    for name in DETAIL_FIELDS:
        value = props.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
            details[name] = str(value)
    placed = change.status is OrderStatus.PLACED
    total = number(props.get("total"))
    if total is None:
        total = number(props.get("revenue"))
    currency = props.get("currency")
    record = OrderRecord(
        order_id=change.order_id,
        version=(current.version + 1) if current else 1,
        profile_id=(current.profile_id if current and current.profile_id else None) or profile_id,
        status=change.status,
        statuses={
            **(current.statuses if current else {}),
            change.status: StatusRecord(message_id=event.message_id, at=event.timestamp),
        },
        # the placing channel is the order's channel; later statuses come from back-office systems
        channel=event.source.channel.value if placed or current is None else current.channel,
        total=total if total is not None else (current.total if current else None),
        currency=currency.upper() if isinstance(currency, str) else (current.currency if current else None),
        products=order_lines(props) or (current.products if current else ()),
        details=details,
    )
    return Advance(record=record, emit=record)


def intent_for(record: OrderRecord, status: OrderStatus, profile_id: str, now: datetime) -> Intent:
    history = sorted(record.statuses.items(), key=lambda kv: (kv[1].at, RANK[kv[0]]))
    before = [s for s, _ in history if RANK[s] < RANK[status]]
    facts = OrderStatusFacts(
        order_id=record.order_id,
        status=status,
        previous_status=before[-1] if before else None,
        order_channel=record.channel,
        status_at=record.statuses[status].at,
        total=record.total,
        currency=record.currency,
        products=record.products,
        details=record.details,
        message_id=record.statuses[status].message_id,
    )
    return make_intent(profile_id, Topic.TRANSACTIONAL, f"order:{record.order_id}:{status}", facts, now)
