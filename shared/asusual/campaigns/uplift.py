"""What a message earned: the recipients' conversion rate against the holdout's, with a 95 %
interval for the difference, and a verdict said in plain words (docs/segments.md, "Holdouts and
uplift"). Pure: the counts come from the campaign's or trigger program's counters.

The rate of a group is its converted members (people — for a trigger, messages — with at least
one order in their window) over its size. The interval of the difference of two independent
proportions is Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the
difference between independent proportions", method 10), built from each group's Wilson score
interval. It stays inside [-1, 1], behaves at 0 and 100 % and with small groups, where the
textbook Wald interval (p ± 1.96·se) collapses to a point or leaves [-1, 1]; it needs no
iteration. The figures in tests/unit/campaigns/test_uplift.py are the paper's own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from math import sqrt
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict, Field

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
MIN_GROUP = 30  # people in each group before any verdict
MIN_CONVERSIONS = 5  # converted people, in at least one of the groups
CENT = Decimal("0.01")


class GroupCounts(BaseModel):
    """One group of a program, as its counters hold it."""

    model_config = ConfigDict(frozen=True)

    size: int = Field(ge=0, description="people (for a trigger kind: messages) assigned to the group")
    customers: int = Field(ge=0, description="of them, converted: at least one order in the window")
    orders: int = Field(default=0, ge=0, description="orders counted in the group's windows")
    revenue: Decimal = Field(default=Decimal(0), description="the orders' totals, summed as reported")


class Verdict(StrEnum):
    TOO_SMALL_TO_TELL = "too_small_to_tell"
    POSITIVE = "positive"  # the whole interval is above zero
    NEGATIVE = "negative"  # the whole interval is below zero
    INCONCLUSIVE = "inconclusive"  # the interval holds zero


class GroupResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    size: int
    customers: int
    orders: int
    revenue: Decimal
    conversion_rate: float | None = Field(description="customers / size, 4 decimals; None for an empty group")
    revenue_per_member: Decimal | None = Field(description="revenue / size, to the cent")


class Uplift(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipients: GroupResult
    holdout: GroupResult
    difference: float | None = Field(description="recipients' rate - holdout's rate, 4 decimals")
    interval: tuple[float, float] | None = Field(
        description="95 % interval of the difference (Newcombe hybrid score), 4 decimals"
    )
    confidence: float = CONFIDENCE
    method: str = "newcombe_wilson"
    verdict: Verdict
    says: dict[str, str] = Field(description="the verdict in one sentence, per locale (en, ru)")


def wilson(converted: int, size: int, z: float = Z) -> tuple[float, float]:
    """Wilson's score interval of a proportion ``converted``/``size`` (size > 0)."""
    if size <= 0 or not 0 <= converted <= size:
        raise ValueError(f"wilson: {converted} of {size}")
    denominator = size + z * z
    centre = (converted + z * z / 2) / denominator
    half = z * sqrt(converted * (size - converted) / size + z * z / 4) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 - p2 (both groups non-empty)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    low = d - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def uplift(recipients: GroupCounts, holdout: GroupCounts) -> Uplift:
    """The recipients against the holdout: rates, the difference with its 95 % interval, revenue per
    member, and the verdict (too small to tell while either group has fewer than 30 people or
    neither has 5 converted)."""
    for name, group in (("recipients", recipients), ("holdout", holdout)):
        if group.customers > group.size:
            raise ValueError(f"{name}: {group.customers} converted of {group.size}")
    both = recipients.size > 0 and holdout.size > 0
    difference = interval = None
    if both:
        difference = round(recipients.customers / recipients.size - holdout.customers / holdout.size, 4)
        low, high = newcombe(recipients.customers, recipients.size, holdout.customers, holdout.size)
        interval = (round(low, 4), round(high, 4))
    verdict = _verdict(recipients, holdout, interval)
    return Uplift(
        recipients=_result(recipients),
        holdout=_result(holdout),
        difference=difference,
        interval=interval,
        verdict=verdict,
        says={
            "en": _say_en(verdict, recipients, holdout, interval),
            "ru": _say_ru(verdict, recipients, holdout, interval),
        },
    )


def _verdict(recipients: GroupCounts, holdout: GroupCounts, interval: tuple[float, float] | None) -> Verdict:
    small = min(recipients.size, holdout.size) < MIN_GROUP
    few = max(recipients.customers, holdout.customers) < MIN_CONVERSIONS
    if small or few or interval is None:
        return Verdict.TOO_SMALL_TO_TELL
    low, high = interval
    if low > 0:
        return Verdict.POSITIVE
    if high < 0:
        return Verdict.NEGATIVE
    return Verdict.INCONCLUSIVE


def _result(group: GroupCounts) -> GroupResult:
    rate = round(group.customers / group.size, 4) if group.size else None
    per_member = (group.revenue / group.size).quantize(CENT, ROUND_HALF_UP) if group.size else None
    return GroupResult(
        size=group.size,
        customers=group.customers,
        orders=group.orders,
        revenue=group.revenue,
        conversion_rate=rate,
        revenue_per_member=per_member,
    )


def _pct(value: float, comma: bool = False) -> str:
    text = f"{value * 100:.1f}"
    return text.replace(".", ",") if comma else text


def _points(value: float, comma: bool = False) -> str:
    text = f"{value * 100:+.1f}"
    return text.replace(".", ",") if comma else text


def _say_en(
    verdict: Verdict, recipients: GroupCounts, holdout: GroupCounts, interval: tuple[float, float] | None
) -> str:
    if verdict is Verdict.TOO_SMALL_TO_TELL or interval is None:
        return (
            f"Too early to tell: {recipients.size} recipients and {holdout.size} in the holdout, of whom "
            f"{recipients.customers} and {holdout.customers} ordered; each group needs at least "
            f"{MIN_GROUP} people and one of them at least {MIN_CONVERSIONS} who ordered."
        )
    r = _pct(recipients.customers / recipients.size)
    h = _pct(holdout.customers / holdout.size)
    low, high = _points(interval[0]), _points(interval[1])
    if verdict is Verdict.POSITIVE:
        return (
            f"The message works: {r} % of recipients ordered against {h} % of the holdout "
            f"(95 % interval of the difference {low} to {high} points)."
        )
    if verdict is Verdict.NEGATIVE:
        return (
            f"The message seems to cost orders: {r} % of recipients ordered against {h} % of the holdout "
            f"(95 % interval of the difference {low} to {high} points)."
        )
    return (
        f"No clear difference yet: {r} % of recipients ordered against {h} % of the holdout; "
        f"the true difference may be anywhere from {low} to {high} points."
    )


def _say_ru(
    verdict: Verdict, recipients: GroupCounts, holdout: GroupCounts, interval: tuple[float, float] | None
) -> str:
    if verdict is Verdict.TOO_SMALL_TO_TELL or interval is None:
        return (
            f"Пока рано судить: {recipients.size} получателей и {holdout.size} в контрольной группе, "
            f"заказали {recipients.customers} и {holdout.customers}; нужно не меньше {MIN_GROUP} человек "
            f"в каждой группе и хотя бы в одной — {MIN_CONVERSIONS} заказавших."
        )
    r = _pct(recipients.customers / recipients.size, comma=True)
    h = _pct(holdout.customers / holdout.size, comma=True)
    low, high = _points(interval[0], comma=True), _points(interval[1], comma=True)
    if verdict is Verdict.POSITIVE:
        return (
            f"Рассылка работает: заказали {r} % получателей против {h} % контрольной группы "
            f"(95-процентный интервал разницы от {low} до {high} п. п.)."
        )
    if verdict is Verdict.NEGATIVE:
        return (
            f"Похоже, рассылка отнимает заказы: заказали {r} % получателей против {h} % контрольной "
            f"группы (95-процентный интервал разницы от {low} до {high} п. п.)."
        )
    return (
        f"Явной разницы пока нет: заказали {r} % получателей против {h} % контрольной группы; "
        f"истинная разница может быть от {low} до {high} п. п."
    )
