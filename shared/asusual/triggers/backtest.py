"""Replenishment backtest: replay a retailer's purchase history through :func:`predict` and two
baselines, and measure when their reminders would have landed.

Input: a CSV (stdlib csv, UTF-8) with the columns customer_id, product_id, quantity and timestamp
(ISO-8601; without an offset it is read as UTC), and optionally product_type and product_category
(the population levels after the product itself).

A row with quantity ≤ 0 (a return, a cancellation, a zero-unit coupon line) is not a purchase, as in
production (:func:`purchase_points` leaves it out): the report is exactly that of the file without
it, except that it counts in ``rows`` and ``ignored_rows``. It learns no interval, makes no
prediction, is no repurchase, and does not count toward ``customers``, ``products``, the data's
span or the product's type and category. A customer-product pair whose lines all have quantity ≤ 0
has no purchase, and so no repurchase either.

The replay
----------
Each customer's purchases of a product are merged as in production (:func:`purchase_points`), then
all purchases are replayed in time order. At each purchase the interval it closes (if any) is
learned (per unit into the product's, product type's and category's histograms; raw into the
product's list for the baseline), and then each method predicts from what has been learned so far
only: nothing after the purchase is ever looked at, except to judge the prediction.

Methods (all three use the same lead rule, :func:`runout_and_reminder`):

- ``asusual``: :func:`predict` with the default policy, no catalog periods (a CSV has none), and
  the population levels product, product_type, product_category.
- ``product_median``: the median of that product's raw intervals (days between consecutive
  purchases of it by any customer, at least a day apart) observed so far; needs ≥ 3 of them.
- ``last_interval``: the customer's last interval for the product (days between their last two
  purchases of it, at least a day apart); needs 2 purchases.

Figures (per method)
--------------------
A purchase has a *repurchase* when the same customer buys the same product later in the data (the
next such purchase). For each purchase after which a method predicts, with reminder time R:

- ``predictions``: purchases after which the method made a prediction.
- ``reminders``: reminders that would have gone out: R before the repurchase, or, without one,
  before the end of the data (a repurchase before R means production cancels the reminder).
- ``judged``: predictions followed by a repurchase (at time P); the shares and the MAE are over these.
- ``coverage``: judged / purchases followed by a repurchase.
- ``on_time``: share with P - 7 days ≤ R < P (landed within the 7 days before the repurchase).
- ``premature``: share with R < P - 14 days.
- ``after``: share with R ≥ P (the customer came back first: the reminder would be cancelled).
- ``mae_days``: mean of |R - P| in days.
- ``no_repurchase``: reminders that went out with no repurchase by the end of the data.
- ``bases``: predictions by basis (``asusual`` only).

Shares are None (null in JSON) when nothing was judged.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from pydantic import BaseModel, Field

from asusual.purchases import PurchaseRow, read_purchases
from asusual.triggers.replenishment import (
    MIN_GAP,
    IntervalStats,
    PurchasePoint,
    ReplenishmentPolicy,
    interval_observation,
    predict,
    purchase_points,
    runout_and_reminder,
)

OPTIONAL = ("product_type", "product_category")
ON_TIME = timedelta(days=7)
PREMATURE = timedelta(days=14)
BASELINE_MIN_INTERVALS = 3
METHODS = ("asusual", "product_median", "last_interval")


class MethodFigures(BaseModel):
    """One method's figures; the module docstring defines each."""

    predictions: int
    reminders: int
    judged: int
    coverage: float | None
    on_time: float | None
    premature: float | None
    after: float | None
    mae_days: float | None
    no_repurchase: int
    bases: dict[str, int] = Field(default_factory=dict)


class BacktestReport(BaseModel):
    rows: int = Field(description="data rows read")
    ignored_rows: int = Field(description="rows with quantity ≤ 0: not purchases, left out of the rest")
    customers: int = Field(description="customers with at least one purchase")
    products: int = Field(description="products bought at least once")
    purchases: int = Field(description="purchases after merging those less than 12 hours apart")
    repurchases: int = Field(description="purchases followed by a purchase of the same product")
    data_start: datetime | None = Field(description="the first purchase")
    data_end: datetime | None = Field(description="the last purchase: the end of the data for reminders")
    policy: ReplenishmentPolicy
    methods: dict[str, MethodFigures]


@dataclass
class _Tally:
    predictions: int = 0
    reminders: int = 0
    judged: int = 0
    on_time: int = 0
    premature: int = 0
    after: int = 0
    abs_days: float = 0.0
    no_repurchase: int = 0
    bases: Counter[str] = field(default_factory=Counter)

    def record(self, remind_at: datetime, repurchase: datetime | None, end: datetime) -> None:
        self.predictions += 1
        if repurchase is None:
            if remind_at < end:
                self.reminders += 1
                self.no_repurchase += 1
            return
        self.judged += 1
        self.abs_days += abs((repurchase - remind_at).total_seconds()) / 86400
        if remind_at >= repurchase:
            self.after += 1
            return
        self.reminders += 1
        if remind_at >= repurchase - ON_TIME:
            self.on_time += 1
        elif remind_at < repurchase - PREMATURE:
            self.premature += 1

    def figures(self, repurchases: int) -> MethodFigures:
        def share(count: float, total: int) -> float | None:
            return count / total if total else None

        return MethodFigures(
            predictions=self.predictions,
            reminders=self.reminders,
            judged=self.judged,
            coverage=share(self.judged, repurchases),
            on_time=share(self.on_time, self.judged),
            premature=share(self.premature, self.judged),
            after=share(self.after, self.judged),
            mae_days=share(self.abs_days, self.judged),
            no_repurchase=self.no_repurchase,
            bases=dict(sorted(self.bases.items())),
        )


@dataclass
class _Pair:
    product_id: str
    points: list[PurchasePoint]


def _levels(rows: list[PurchaseRow]) -> dict[str, list[tuple[str, str]]]:
    """product id → [(level, key)], most specific first; a product's type is keyed within its category."""
    seen: dict[str, PurchaseRow] = {}
    for row in rows:
        known = seen.get(row.product_id)
        if known is None or (known.product_type, known.product_category) == (None, None):
            seen[row.product_id] = row
    levels: dict[str, list[tuple[str, str]]] = {}
    for product_id, row in seen.items():
        chain = [("product", product_id)]
        if row.product_type:
            chain.append(("product_type", f"{row.product_category or ''}/{row.product_type}"))
        if row.product_category:
            chain.append(("product_category", row.product_category))
        levels[product_id] = chain
    return levels


def backtest(rows: list[PurchaseRow], policy: ReplenishmentPolicy | None = None) -> BacktestReport:
    """Replay ``rows`` (any order) and measure the three methods (module docstring: definitions)."""
    policy = policy or ReplenishmentPolicy()
    # quantity ≤ 0 is not a purchase (module docstring): everything below sees purchases only
    bought = [row for row in rows if row.quantity > 0]
    raw: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for row in bought:
        raw.setdefault((row.customer_id, row.product_id), []).append((row.at, row.quantity))
    # pairs in (customer, product) order: purchases at the same instant replay in an order that does
    # not depend on the file's
    pairs = [_Pair(product, purchase_points(history)) for (_, product), history in sorted(raw.items())]
    levels = _levels(bought)
    events = sorted((point.at, n, i) for n, pair in enumerate(pairs) for i, point in enumerate(pair.points))
    end = max((row.at for row in bought), default=None)
    horizon = end or datetime.max.replace(tzinfo=UTC)  # no purchases: no events either
    population: dict[tuple[str, str], IntervalStats] = {}
    product_intervals: dict[str, list[float]] = {}
    tallies = {method: _Tally() for method in METHODS}
    repurchases = 0
    for at, n, i in events:
        pair = pairs[n]
        chain = levels[pair.product_id]
        gap = at - pair.points[i - 1].at if i else None
        interval = gap.total_seconds() / 86400 if gap is not None and gap >= MIN_GAP else None
        observed = interval_observation(pair.points, at)  # per unit; None exactly when interval is
        if observed is not None and interval is not None:
            for key in chain:
                population.setdefault(key, IntervalStats()).add(observed)
            bisect.insort(product_intervals.setdefault(pair.product_id, []), interval)
        repurchase = pair.points[i + 1].at if i + 1 < len(pair.points) else None
        if repurchase is not None:
            repurchases += 1
        prediction = predict(
            pair.points[: i + 1],
            catalog_days=None,
            population=[(level, population.get((level, key), IntervalStats())) for level, key in chain],
            policy=policy,
        )
        if prediction is not None:
            tallies["asusual"].record(prediction.remind_at, repurchase, horizon)
            tallies["asusual"].bases[prediction.basis] += 1
        seen = product_intervals.get(pair.product_id, [])
        if len(seen) >= BASELINE_MIN_INTERVALS:
            _, remind_at = runout_and_reminder(at, median(seen), policy)
            tallies["product_median"].record(remind_at, repurchase, horizon)
        if interval is not None:
            _, remind_at = runout_and_reminder(at, interval, policy)
            tallies["last_interval"].record(remind_at, repurchase, horizon)
    return BacktestReport(
        rows=len(rows),
        ignored_rows=len(rows) - len(bought),
        customers=len({row.customer_id for row in bought}),
        products=len({row.product_id for row in bought}),
        purchases=len(events),
        repurchases=repurchases,
        data_start=min((row.at for row in bought), default=None),
        data_end=end,
        policy=policy,
        methods={method: tally.figures(repurchases) for method, tally in tallies.items()},
    )


def run_backtest(path: Path, policy: ReplenishmentPolicy | None = None) -> BacktestReport:
    return backtest(read_purchases(path), policy)


def format_report(report: BacktestReport) -> str:
    """A readable table, one row per method."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    head = (
        f"{report.rows} rows ({report.ignored_rows} ignored), {report.customers} customers, "
        f"{report.products} products, {report.purchases} purchases, {report.repurchases} repurchases"
    )
    if report.data_start and report.data_end:
        head += f", {report.data_start.date()} .. {report.data_end.date()}"
    header = ["method", "predictions", "coverage", "reminders", "on time <=7d", "premature >14d", "after"]
    table = [[*header, "MAE days"]]
    for method, figures in report.methods.items():
        table.append(
            [
                method,
                str(figures.predictions),
                pct(figures.coverage),
                str(figures.reminders),
                pct(figures.on_time),
                pct(figures.premature),
                pct(figures.after),
                "-" if figures.mae_days is None else f"{figures.mae_days:.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [head, ""]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    bases = report.methods["asusual"].bases
    if bases:
        lines += ["", "predictions by basis (asusual): " + ", ".join(f"{b} {n}" for b, n in bases.items())]
    return "\n".join(lines)
