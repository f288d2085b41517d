"""Recommendations backtest: for each customer's next basket, would any of k recommended products
have been in it, using only what happened before it (docs/recommendations.md).

Input: a CSV (stdlib csv, UTF-8) with the columns customer_id, product_id, quantity and timestamp
(ISO-8601; without an offset it is read as UTC), as the replenishment backtest, plus ``basket_id``
when present. A basket is (customer, basket_id), or (customer, timestamp) without a basket id; its
time is its earliest line. A line with quantity ≤ 0 is not a purchase and is left out.

The replay: baskets in time order; those at the same instant are all judged before any of them is
learned. Each basket after the customer's first is a *case*: each method recommends k products from
the model as it stands (everything before that instant, every customer), and scores a hit when one
of them is in the basket. Then the basket is learned.

Methods: ``asusual`` (:func:`recommend`, the blend), ``popularity`` (the k most bought before),
``buy_again`` (her own most bought before, padded by popularity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from pathlib import Path

from pydantic import BaseModel

from asusual.purchases import read_purchases
from asusual.recommendations.cooccurrence import Blend, Bought, CoOccurrence, buy_again, recommend

METHODS = ("asusual", "popularity", "buy_again")


@dataclass(frozen=True, slots=True)
class Line:
    customer_id: str
    product_id: str
    quantity: float
    at: datetime
    basket_id: str | None = None


@dataclass(frozen=True, slots=True)
class Basket:
    customer_id: str
    at: datetime
    products: frozenset[str]


class MethodFigures(BaseModel):
    hit_rate: float | None
    cases: int


class BacktestReport(BaseModel):
    k: int
    methods: dict[str, MethodFigures]


def read_lines(path: Path) -> list[Line]:
    """The lines of a purchases CSV (asusual.purchases: BacktestInputError names the column and
    line), as the replay needs them."""
    return [Line(r.customer_id, r.product_id, r.quantity, r.at, r.basket_id) for r in read_purchases(path)]


def baskets(lines: list[Line]) -> list[Basket]:
    """Purchases grouped into baskets (module docstring), in (time, customer, basket) order."""
    grouped: dict[tuple[str, str], tuple[datetime, set[str]]] = {}
    for line in lines:
        if line.quantity <= 0:
            continue
        key = (line.customer_id, line.basket_id or line.at.isoformat())
        at, products = grouped.get(key, (line.at, set()))
        products.add(line.product_id)
        grouped[key] = (min(at, line.at), products)
    ordered = sorted(grouped.items(), key=lambda item: (item[1][0], item[0]))
    return [Basket(customer, at, frozenset(products)) for (customer, _), (at, products) in ordered]


def backtest(lines: list[Line], k: int = 10, blend: Blend | None = None) -> BacktestReport:
    """Replay ``lines`` (any order) and measure the three methods at ``k`` (module docstring)."""
    model = CoOccurrence(pool=max(100, 2 * k))
    histories: dict[str, dict[str, Bought]] = {}
    last_basket: dict[str, frozenset[str]] = {}
    hits = dict.fromkeys(METHODS, 0)
    cases = 0
    for at, group in groupby(baskets(lines), key=lambda basket: basket.at):
        same_instant = list(group)
        for basket in same_instant:
            history = histories.get(basket.customer_id)
            if not history:
                continue
            cases += 1
            picks = {
                "asusual": recommend(model, history, at, k, blend=blend),
                "popularity": model.popular(k),
                "buy_again": buy_again(model, history, k),
            }
            for method, products in picks.items():
                hits[method] += not basket.products.isdisjoint(products)
        for basket in same_instant:
            model.add_basket(basket.products, last_basket.get(basket.customer_id, ()))
            last_basket[basket.customer_id] = basket.products
            history = histories.setdefault(basket.customer_id, {})
            for product in basket.products:
                known = history.get(product)
                history[product] = Bought(at, (known.count if known else 0) + 1)
    return BacktestReport(
        k=k,
        methods={
            method: MethodFigures(hit_rate=round(hits[method] / cases, 4) if cases else None, cases=cases)
            for method in METHODS
        },
    )


def run_backtest(path: Path, k: int = 10) -> BacktestReport:
    return backtest(read_lines(path), k)


def format_report(report: BacktestReport) -> str:
    """A readable table, one row per method."""
    lines = [f"hit rate at {report.k} (a recommended product in the customer's next basket)", ""]
    for method, figures in report.methods.items():
        rate = "-" if figures.hit_rate is None else f"{100 * figures.hit_rate:.2f}%"
        lines.append(f"{method.ljust(10)}  {rate.rjust(7)}  of {figures.cases} baskets")
    return "\n".join(lines)
