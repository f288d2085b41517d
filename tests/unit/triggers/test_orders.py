"""The order status state machine (pure)."""

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from asusual.triggers.models import OrderStatus
from asusual.triggers.orders import RANK, advance, may_follow, status_change
from tests.unit.events import event

EVENTS = {
    OrderStatus.PLACED: "Order Completed",
    OrderStatus.PAID: "Order Paid",
    OrderStatus.SHIPPED: "Order Shipped",
    OrderStatus.READY_FOR_PICKUP: "Order Ready for Pickup",
    OrderStatus.DELIVERED: "Order Delivered",
    OrderStatus.CANCELLED: "Order Cancelled",
    OrderStatus.REFUNDED: "Order Refunded",
}


def status_event(status, n=0):
    return event("track", user_id="u", event=EVENTS[status], minutes=n, properties={"order_id": "o-1"})


def test_status_change_reads_named_events_and_order_updated_status():
    assert status_change(status_event(OrderStatus.SHIPPED)).status is OrderStatus.SHIPPED
    updated = event(
        "track", user_id="u", event="Order Updated", properties={"orderId": 7, "status": "Canceled"}
    )
    assert status_change(updated).status is OrderStatus.CANCELLED and status_change(updated).order_id == "7"
    assert (
        status_change(event("track", user_id="u", event="Order Updated", properties={"order_id": "o"}))
        is None
    )
    assert status_change(event("track", user_id="u", event="Order Shipped", properties={})) is None


def test_may_follow_forward_only_and_no_cancel_after_delivery():
    assert may_follow(OrderStatus.PLACED, OrderStatus.DELIVERED)
    assert not may_follow(OrderStatus.SHIPPED, OrderStatus.PAID)
    assert not may_follow(OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP)  # one or the other
    assert not may_follow(OrderStatus.DELIVERED, OrderStatus.CANCELLED)
    assert may_follow(OrderStatus.CANCELLED, OrderStatus.REFUNDED)


def test_advance_same_event_again_emits_again_other_event_same_status_nothing():
    first = status_event(OrderStatus.PAID)
    step = advance(None, status_change(first), first, "p1")
    again = advance(step.record, status_change(first), first, "p1")
    assert again.record is None and again.emit == step.record
    other = status_event(OrderStatus.PAID, n=5)
    assert advance(step.record, status_change(other), other, "p1").emit is None


@given(st.lists(st.sampled_from(list(OrderStatus)), min_size=1, max_size=12))
def test_advance_any_arrival_order_emits_each_status_at_most_once_in_rising_rank(arrivals):
    record, emitted = None, []
    for n, status in enumerate(arrivals):
        message = status_event(status, n)
        step = advance(record, status_change(message), message, "p1")
        if step.record is not None:
            record = step.record
            emitted.append(status)
    assert len(emitted) == len(set(emitted))
    assert all(RANK[a] < RANK[b] for a, b in pairwise(emitted))
    assert emitted[0] == arrivals[0]
