"""What the event processor counts of a completed order for the holdout groups: its id, its
revenue and its event time, for the profile and every part merged into it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asusual.triggers.ports import OrderConversion
from asusual.triggers.service import order_conversion

from ..events import T0, event

PARTS = ("p_1", "p_old")


def completed(**properties):
    return event("track", event="Order Completed", properties=properties)


def test_order_conversion_of_a_completed_order_has_its_id_total_and_time():
    assert order_conversion(
        completed(order_id="o-1", total=1290.5, currency="RUB"), PARTS
    ) == OrderConversion(profile_ids=PARTS, order_id="o-1", revenue=Decimal("1290.50"), at=T0)


@pytest.mark.parametrize(
    ("properties", "revenue"),
    [
        ({"orderId": 42, "revenue": "349,90"}, Decimal("349.90")),  # camelCase id, revenue as text
        ({"order_id": "o-1"}, Decimal(0)),  # no total: counted, without revenue
        ({"order_id": "o-1", "total": -100}, Decimal(0)),
        ({"order_id": "o-1", "total": 1e15}, Decimal(0)),  # a unit mix-up, not a trillion roubles
    ],
)
def test_order_conversion_reads_the_revenue_it_can_trust(properties, revenue):
    conversion = order_conversion(completed(**properties), PARTS)
    assert conversion is not None and conversion.revenue == revenue


def test_order_conversion_without_an_order_id_or_profile_is_none():
    assert order_conversion(completed(total=10), PARTS) is None
    assert order_conversion(completed(order_id="o-1"), ()) is None
