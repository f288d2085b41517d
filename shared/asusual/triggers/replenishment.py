"""Replenishment timing: when will a customer run out of what they just bought?

Pure: no I/O, no clock; every time is passed in. The event processor (on a purchase) and the sweeps
call :func:`predict`; the backtest (:mod:`asusual.triggers.backtest`) replays histories through the
same function. See docs/replenishment.md for the method and the reasons behind the defaults.

Intervals are *per unit*: the days one unit lasted, (next purchase - purchase) / units bought.
Periods are estimated in log space (a customer twice as fast is as far off as one twice as slow),
with medians (robust to the customer who skipped a month), and only when the evidence is sufficient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import median as _median

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RATIO = 1.1
"""Histogram bucket i holds intervals around RATIO**i days: ±5 %, finer than any period is known."""
MIN_BUCKET = -60  # 1.1**-60 days ≈ 5 minutes per unit (many units bought at once)
MAX_BUCKET = 80  # 1.1**80 days ≈ 5.6 years
MERGE_WINDOW = timedelta(hours=12)
"""Purchases less than this after the first one of a group are one purchase (a second trip the same
day, an order split in two): zone-free, unlike "the same date", which depends on whose midnight."""
MIN_GAP = timedelta(days=1)
"""A gap shorter than a day between purchases is a top-up, not a cycle: it yields no interval."""

_LOG_RATIO = math.log(RATIO)
_DAY = 86400.0


@dataclass(slots=True)
class IntervalStats:
    """A mergeable histogram of per-unit intervals (days) on a log scale: ``counts[i]`` is how many
    intervals fell in bucket i, i.e. within ±5 % of ``RATIO**i`` days.

    The counters are plain integers, so production keeps one item per product (and per category)
    and updates it with ``ADD b<i> :one, n :one``; two histograms merge by adding counters.
    :meth:`add` mutates in place (and returns None); :meth:`merge` returns a new histogram.
    Quantiles interpolate within a bucket in log space, so they are exact to about ±5 %.
    """

    counts: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def bucket(days: float) -> int:
        """The bucket of an interval of ``days`` (> 0), clamped to [MIN_BUCKET, MAX_BUCKET]."""
        if not math.isfinite(days) or days <= 0:
            raise ValueError(f"an interval must be a positive number of days, got {days!r}")
        return max(MIN_BUCKET, min(MAX_BUCKET, round(math.log(days) / _LOG_RATIO)))

    @staticmethod
    def bucket_days(index: int) -> float:
        """The centre of bucket ``index`` in days."""
        return float(RATIO**index)

    @classmethod
    def from_counts(cls, counts: dict[int, int]) -> IntervalStats:
        """A histogram from stored counters (zero counters are dropped; negative ones refused)."""
        clean: dict[int, int] = {}
        for index, value in counts.items():
            number = int(value)
            if number != value or number < 0:
                raise ValueError(f"bucket {index}: a count must be a non-negative integer, got {value!r}")
            if not MIN_BUCKET <= int(index) <= MAX_BUCKET:
                raise ValueError(f"bucket {index} is outside [{MIN_BUCKET}, {MAX_BUCKET}]")
            if number:
                clean[int(index)] = clean.get(int(index), 0) + number
        return cls(clean)

    @classmethod
    def of(cls, intervals: Iterable[float]) -> IntervalStats:
        stats = cls()
        for days in intervals:
            stats.add(days)
        return stats

    def add(self, days: float) -> None:
        """Count one interval of ``days`` (in place)."""
        index = self.bucket(days)
        self.counts[index] = self.counts.get(index, 0) + 1

    def merge(self, other: IntervalStats) -> IntervalStats:
        counts = dict(self.counts)
        for index, number in other.counts.items():
            counts[index] = counts.get(index, 0) + number
        return IntervalStats(counts)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile in days (0 ≤ q ≤ 1), or None when empty."""
        if not 0 <= q <= 1:
            raise ValueError(f"a quantile is between 0 and 1, got {q!r}")
        items = sorted((i, c) for i, c in self.counts.items() if c > 0)
        if not items:
            return None
        target = q * sum(c for _, c in items)
        seen = 0
        for index, number in items:
            if seen + number >= target:
                return float(RATIO ** (index - 0.5 + (target - seen) / number))
            seen += number
        return float(RATIO ** (items[-1][0] + 0.5))  # rounding at q = 1

    def median(self) -> float | None:
        return self.quantile(0.5)

    def dispersion(self) -> float | None:
        """q75 / q25: how many times longer the upper quartile interval is than the lower one."""
        low, high = self.quantile(0.25), self.quantile(0.75)
        return None if low is None or high is None else high / low


class PurchasePoint(BaseModel):
    """One purchase of one product by one customer (same-day purchases merged)."""

    model_config = ConfigDict(frozen=True)

    at: datetime = Field(description="timezone-aware; kept in UTC")
    quantity: float = Field(gt=0, allow_inf_nan=False, description="units bought")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"purchase time {at.isoformat()} has no timezone")
    return at.astimezone(UTC)


def purchase_points(raw: Iterable[tuple[datetime, float]]) -> list[PurchasePoint]:
    """The purchases in time order, those less than 12 hours after the first purchase of a group
    merged into it (time of the first, quantities summed). Quantities ≤ 0 (returns, zero-unit
    lines) are not purchases and are left out; times must be timezone-aware."""
    ordered: list[tuple[datetime, float]] = []
    for at, quantity in raw:
        if not math.isfinite(quantity):
            raise ValueError(f"quantity must be a finite number, got {quantity!r}")
        if quantity > 0:
            ordered.append((_utc(at), float(quantity)))
    ordered.sort(key=lambda item: item[0])
    points: list[PurchasePoint] = []
    start: datetime | None = None
    total = 0.0
    for at, quantity in ordered:
        if start is not None and at - start < MERGE_WINDOW:
            total += quantity
            continue
        if start is not None:
            points.append(PurchasePoint(at=start, quantity=total))
        start, total = at, quantity
    if start is not None:
        points.append(PurchasePoint(at=start, quantity=total))
    return points


def _per_unit(previous: PurchasePoint, current: PurchasePoint) -> float | None:
    gap = current.at - previous.at
    if gap < MIN_GAP:
        return None
    return gap.total_seconds() / _DAY / previous.quantity


def interval_observation(points: list[PurchasePoint], at: datetime) -> float | None:
    """Per-unit days from the purchase before ``at`` to the purchase at ``at``:
    (at - previous.at) / previous.quantity.

    None when no point starts at ``at`` (a purchase merged into an earlier one the same day adds no
    interval, so calling this for every purchase event counts each interval once), when there is no
    previous purchase, or when the two are less than a day apart.
    """
    for index, point in enumerate(points):
        if point.at == at:
            return _per_unit(points[index - 1], point) if index else None
    return None


def personal_intervals(points: Sequence[PurchasePoint]) -> list[float]:
    """The customer's own per-unit intervals between consecutive purchases (gaps ≥ 1 day)."""
    found = (_per_unit(a, b) for a, b in pairwise(points))
    return [days for days in found if days is not None]


class ReplenishmentPolicy(BaseModel):
    """How much evidence a reminder needs and when it goes out (docs/replenishment.md: why)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lead_days: float = Field(default=3.0, ge=0, description="remind this long before the expected run-out")
    lead_fraction: float = Field(
        default=0.25, ge=0, lt=1, description="... but at most this fraction of the expected interval"
    )
    min_observations: int = Field(
        default=20, ge=1, description="intervals a population level needs before its median is used"
    )
    max_dispersion: float = Field(
        default=3.0,
        gt=1,
        description="q75/q25 above which intervals are too irregular to predict (random buying: 4.8)",
    )
    prior_weight: float = Field(
        default=2.0, gt=0, description="the prior counts as this many of the customer's own intervals"
    )
    personal_clip_ratio: float = Field(
        default=4.0,
        ge=1,
        description="own intervals clipped to [prior / this, prior * this] (skipped cycles)",
    )
    min_personal_intervals: int = Field(
        default=3, ge=1, description="own intervals needed for a reminder without catalog or population"
    )
    min_interval_days: float = Field(default=3.0, gt=0, description="no reminder for faster run-outs")
    max_interval_days: float = Field(default=180.0, gt=0, description="no reminder for slower run-outs")

    @model_validator(mode="after")
    def _bounds(self) -> ReplenishmentPolicy:
        if self.min_interval_days >= self.max_interval_days:
            raise ValueError("min_interval_days must be below max_interval_days")
        return self

    def regular(self, stats: IntervalStats) -> bool:
        """Intervals regular enough to predict from: q75/q25 ≤ max_dispersion."""
        spread = stats.dispersion()
        return spread is not None and spread <= self.max_dispersion

    def sufficient(self, stats: IntervalStats) -> bool:
        """Enough intervals, and regular enough, for their median to stand for a new customer."""
        return stats.count >= self.min_observations and self.regular(stats)


class Prediction(BaseModel):
    """When the customer is expected to run out of their last purchase, and when to remind them."""

    model_config = ConfigDict(frozen=True)

    per_unit_days: float = Field(description="the days one unit is expected to last")
    quantity: float = Field(description="units bought last time")
    last_purchase_at: datetime
    runout_at: datetime = Field(description="last_purchase_at + per_unit_days * quantity")
    remind_at: datetime = Field(description="runout_at - lead; after last_purchase_at")
    basis: str = Field(description="catalog[+personal], population:<level>[+personal], personal")
    personal_intervals: int = Field(description="the customer's own intervals that shaped the estimate")

    @property
    def interval_days(self) -> float:
        return self.per_unit_days * self.quantity


def runout_and_reminder(
    last_at: datetime, interval_days: float, policy: ReplenishmentPolicy
) -> tuple[datetime, datetime]:
    """The run-out time ``interval_days`` after ``last_at`` and the reminder time before it: lead_days
    earlier, but never more than lead_fraction of the interval (so never before the purchase)."""
    lead = min(policy.lead_days, policy.lead_fraction * interval_days)
    runout = last_at + timedelta(days=interval_days)
    return runout, runout - timedelta(days=lead)


def population_prior(
    population: Sequence[tuple[str, IntervalStats]], policy: ReplenishmentPolicy
) -> tuple[str, float] | None:
    """The first (most specific) level with sufficient evidence, and its median per-unit days."""
    for level, stats in population:
        if policy.sufficient(stats):
            middle = stats.median()
            assert middle is not None  # sufficient: not empty
            return level, middle
    return None


def _log_median(values: Iterable[float]) -> float:
    return float(_median(math.log(v) for v in values))


def _refine(prior_days: float, own: list[float], policy: ReplenishmentPolicy) -> float:
    """Shrink the customer's own median toward the prior in log space: (k*prior + n*own) / (k + n).
    Own intervals are first clipped to [prior / personal_clip_ratio, prior * personal_clip_ratio], so
    one skipped cycle moves the estimate a bounded amount even before the median can outvote it."""
    centre = math.log(prior_days)
    reach = math.log(policy.personal_clip_ratio)
    clipped = [math.exp(min(centre + reach, max(centre - reach, math.log(d)))) for d in own]
    n, k = len(own), policy.prior_weight
    return math.exp((k * centre + n * _log_median(clipped)) / (k + n))


def predict(
    points: list[PurchasePoint],
    *,
    catalog_days: float | None,
    population: Sequence[tuple[str, IntervalStats]],
    policy: ReplenishmentPolicy,
) -> Prediction | None:
    """The run-out after the LAST purchase in ``points`` (one customer, one product, as
    :func:`purchase_points` returns them), or None when the evidence is insufficient.

    1. ``catalog_days`` (per unit), refined by the customer's own per-unit intervals;
    2. else the first level of ``population`` (most specific first) with ≥ min_observations
       intervals and q75/q25 ≤ max_dispersion: its median, refined the same way;
    3. else the customer's own median, with ≥ min_personal_intervals intervals as regular as (2);
    4. else None. Also None when per-unit days * quantity falls outside the policy's bounds.
    """
    if not points:
        return None
    last = points[-1]
    own = personal_intervals(points)
    prior: tuple[str, float] | None = None
    if catalog_days is not None:
        if not math.isfinite(catalog_days) or catalog_days <= 0:
            raise ValueError(f"catalog_days must be a positive number, got {catalog_days!r}")
        prior = ("catalog", catalog_days)
    else:
        found = population_prior(population, policy)
        if found is not None:
            prior = (f"population:{found[0]}", found[1])
    if prior is not None:
        basis, per_unit = prior
        if own:
            basis, per_unit = f"{basis}+personal", _refine(per_unit, own, policy)
    elif len(own) >= policy.min_personal_intervals and policy.regular(IntervalStats.of(own)):
        basis, per_unit = "personal", math.exp(_log_median(own))
    else:
        return None
    interval = per_unit * last.quantity
    if not policy.min_interval_days <= interval <= policy.max_interval_days:
        return None
    runout, remind = runout_and_reminder(last.at, interval, policy)
    return Prediction(
        per_unit_days=per_unit,
        quantity=last.quantity,
        last_purchase_at=last.at,
        runout_at=runout,
        remind_at=remind,
        basis=basis,
        personal_intervals=len(own),
    )
