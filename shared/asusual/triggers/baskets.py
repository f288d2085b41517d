"""The basket a completed order adds to the recommendations' log (docs/recommendations.md): its
products, the products of the customer's order before it ("bought after") and those she viewed in
the days before without buying them now ("viewed then bought"). Pure: the event processor logs it
through :class:`~asusual.triggers.ports.BasketLog`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from asusual.profiles.state import ProfileState
from asusual.triggers.ports import BasketRecord

MAX_BASKET_PRODUCTS = 50  # per list: a bulk order teaches little about what goes together


def basket_record(
    order_id: str,
    products: Sequence[str],
    at: datetime,
    state: ProfileState,
    now: datetime,
    view_window: timedelta,
) -> BasketRecord | None:
    """The basket of order ``order_id`` placed at ``at`` by the customer whose profile (this order
    applied) is ``state``; None without products."""
    bought = sorted(set(products))[:MAX_BASKET_PRODUCTS]
    if not bought:
        return None
    earlier = [o for o in state.orders.values() if o.order_id != order_id and o.at < at]
    last = max(earlier, key=lambda o: o.stamp(), default=None)
    previous = sorted({line.product_id for line in last.products})[:MAX_BASKET_PRODUCTS] if last else []
    since = at - view_window
    viewed = sorted(
        pid
        for pid, views in state.views.items()
        if pid not in bought and any(since <= t <= at for t in views.at)
    )[:MAX_BASKET_PRODUCTS]
    return BasketRecord(
        order_id=order_id,
        at=at,
        recorded_at=now,
        products=tuple(bought),
        previous=tuple(previous),
        viewed=tuple(viewed),
    )
