"""Item-to-item co-occurrence, learned one basket at a time, and the ranking built on it.

The model counts, per product:

- ``together``: the other products in the same basket ("bought together");
- ``after``: the products in the same customer's next basket ("bought after");
- ``viewed``: the products in a basket whose customer viewed it in the days before without buying
  it there ("viewed then bought"), and ``viewers``: how many baskets it was viewed before;
- ``baskets``: how many baskets held it (its popularity).

Memory stays bounded: each product keeps at most ``neighbours`` co-occurring products per kind; when
its counter grows to twice that, only the ``neighbours`` strongest are kept (the weak tail, which
cannot reach a top-k list, is forgotten). Popularity keeps an exact ranked pool of the ``pool`` most
bought products, updated on each increment (counts only grow, so an outside product can only enter
by its own increment: the pool is always the exact top).

:func:`recommend` ranks for one customer (docs/recommendations.md, "The blend"):

    score(q) = repeat · recency(q) · log2(1 + count(q))                 her own purchases (buy again)
             + Σ_p recency(p) · (together(p, q) + after(p, q)) / baskets(p)   what goes with them
             + Σ_v recency(v) · viewed(v, q) / viewers(v)                 what she viewed lately
             + popularity · baskets(q) / baskets(most popular)            the fallback where data is thin

(the related terms weighted by ``related``) with recency(p) = 1 / (1 + age in days / half_life_days).
Ties: higher popularity, then product id. :func:`ranked` also says, for each product, which term
gave it the most: the why a customer is told (:class:`Reason`).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

DAY_SECONDS = 86400.0


@dataclass(frozen=True, slots=True)
class Bought:
    """One product in a customer's history."""

    last_at: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Blend:
    """The weights of :func:`recommend` (module docstring); defaults from docs/recommendations.md."""

    repeat: float = 1.0
    related: float = 0.1
    popularity: float = 1.0
    half_life_days: float = 7.0


@dataclass
class CoOccurrence:
    """The incremental model; feed it baskets in time order with :meth:`add_basket`."""

    neighbours: int = 50
    pool: int = 100
    together: dict[str, Counter[str]] = field(default_factory=dict)
    after: dict[str, Counter[str]] = field(default_factory=dict)
    viewed: dict[str, Counter[str]] = field(default_factory=dict)
    baskets: Counter[str] = field(default_factory=Counter)
    viewers: Counter[str] = field(default_factory=Counter)
    _ranked: list[tuple[int, str]] = field(default_factory=list)  # (-baskets, product id), exact top

    def add_basket(
        self, products: Iterable[str], previous: Iterable[str] = (), viewed: Iterable[str] = ()
    ) -> None:
        """Learn one basket; ``previous`` is the same customer's basket before it (if any), ``viewed``
        the products she viewed before it and did not buy in it."""
        basket = sorted(set(products))
        earlier = sorted(set(previous))
        for product in basket:
            self._count(product)
            others = [other for other in basket if other != product]
            if others:
                self._pair(self.together, product, others)
        for product in earlier:
            self._pair(self.after, product, basket)
        for product in sorted(set(viewed) - set(basket)):
            self.viewers[product] += 1
            self._pair(self.viewed, product, basket)

    def seed_popular(self, counts: Mapping[str, int]) -> None:
        """Start from known basket counts (a stored model): each product's count and its rank."""
        for product, count in counts.items():
            self.baskets[product] = count
        self._ranked = sorted((-count, product) for product, count in self.baskets.items() if count)
        del self._ranked[self.pool :]

    def popular(self, k: int) -> list[str]:
        """The ``k`` most bought products (ties by product id); at most ``pool``."""
        return [product for _, product in self._ranked[:k]]

    def top_count(self) -> int:
        """Baskets holding the most bought product (0 before any basket)."""
        return -self._ranked[0][0] if self._ranked else 0

    def _count(self, product: str) -> None:
        old = self.baskets[product]
        self.baskets[product] = old + 1
        ranked = self._ranked
        if old:
            at = bisect.bisect_left(ranked, (-old, product))
            if at < len(ranked) and ranked[at] == (-old, product):
                del ranked[at]
        bisect.insort(ranked, (-old - 1, product))
        del ranked[self.pool :]

    def _pair(self, table: dict[str, Counter[str]], product: str, others: Iterable[str]) -> None:
        counts = table.setdefault(product, Counter())
        counts.update(others)
        if len(counts) >= 2 * self.neighbours:
            table[product] = Counter(dict(counts.most_common(self.neighbours)))


def recency(age_seconds: float, half_life_days: float) -> float:
    return 1.0 / (1.0 + max(age_seconds, 0.0) / DAY_SECONDS / half_life_days)


class Reason(StrEnum):
    """The term that gave a recommended product most of its score."""

    BOUGHT_BEFORE = "bought_before"  # her own repeat purchases
    BOUGHT_TOGETHER = "bought_together"  # in the same baskets as ``via``
    BOUGHT_AFTER = "bought_after"  # bought next by those who bought ``via``
    VIEWED_THEN_BOUGHT = "viewed_then_bought"  # bought by those who viewed ``via`` first
    POPULAR = "popular"  # among the most bought


@dataclass(frozen=True, slots=True)
class Pick:
    product_id: str
    score: float
    reason: Reason
    via: str | None = None  # the product of her history the reason names


def _seeds(
    model: CoOccurrence,
    history: Mapping[str, Bought],
    views: Mapping[str, datetime],
    now: datetime,
    blend: Blend,
) -> list[tuple[str, float, Counter[str], Reason]]:
    """Each related term's seed: (product of hers, its share, its neighbours, the reason)."""
    seeds = []
    for product, bought in history.items():
        seen = model.baskets.get(product, 0)
        if seen:
            share = (
                blend.related * recency((now - bought.last_at).total_seconds(), blend.half_life_days) / seen
            )
            for table, reason in (
                (model.together, Reason.BOUGHT_TOGETHER),
                (model.after, Reason.BOUGHT_AFTER),
            ):
                if product in table:
                    seeds.append((product, share, table[product], reason))
    for product, at in views.items():
        viewers = model.viewers.get(product, 0)
        if viewers and product in model.viewed:
            share = blend.related * recency((now - at).total_seconds(), blend.half_life_days) / viewers
            seeds.append((product, share, model.viewed[product], Reason.VIEWED_THEN_BOUGHT))
    return seeds


def _repeat(bought: Bought, now: datetime, blend: Blend) -> float:
    weight = recency((now - bought.last_at).total_seconds(), blend.half_life_days)
    return blend.repeat * weight * math.log2(1 + bought.count)


def _top(
    model: CoOccurrence,
    history: Mapping[str, Bought],
    views: Mapping[str, datetime],
    now: datetime,
    k: int,
    exclude: frozenset[str],
    blend: Blend,
) -> tuple[list[str], dict[str, float], list[tuple[str, float, Counter[str], Reason]]]:
    scores: dict[str, float] = {}
    for product, bought in history.items():
        scores[product] = scores.get(product, 0.0) + _repeat(bought, now, blend)
    seeds = _seeds(model, history, views, now, blend)
    for _seed, share, neighbours, _reason in seeds:
        for other, count in neighbours.items():
            scores[other] = scores.get(other, 0.0) + share * count
    top = model.top_count()
    if top:
        for product in model.popular(model.pool):
            scores[product] = scores.get(product, 0.0) + blend.popularity * model.baskets[product] / top
    best = heapq.nsmallest(
        k,
        (product for product in scores if product not in exclude),
        key=lambda product: (-scores[product], -model.baskets.get(product, 0), product),
    )
    return best, scores, seeds


def recommend(
    model: CoOccurrence,
    history: Mapping[str, Bought],
    now: datetime,
    k: int,
    exclude: frozenset[str] = frozenset(),
    blend: Blend | None = None,
) -> list[str]:
    """The ``k`` best products for a customer with ``history`` at ``now`` (module docstring), none in
    ``exclude``; fewer only when the model knows fewer products (the backtest's ``asusual``)."""
    return _top(model, history, {}, now, k, exclude, blend or Blend())[0]


def ranked(
    model: CoOccurrence,
    history: Mapping[str, Bought],
    now: datetime,
    k: int,
    views: Mapping[str, datetime] | None = None,
    blend: Blend | None = None,
) -> list[Pick]:
    """:func:`recommend` with her recent ``views`` (product → latest view) too, each product with its
    strongest personal term (popular only when none contributed): what she is told."""
    blend = blend or Blend()
    best, scores, seeds = _top(model, history, views or {}, now, k, frozenset(), blend)
    picks = []
    for product in best:
        reason, via, strongest = Reason.POPULAR, None, 0.0
        if product in history:
            reason, strongest = Reason.BOUGHT_BEFORE, _repeat(history[product], now, blend)
        for seed, share, neighbours, kind in seeds:
            value = share * neighbours.get(product, 0)
            if value > strongest:
                reason, via, strongest = kind, seed, value
        picks.append(Pick(product, scores[product], reason, via))
    return picks


def buy_again(model: CoOccurrence, history: Mapping[str, Bought], k: int) -> list[str]:
    """Baseline: her own most bought (ties: most recent, then product id), padded by popularity."""
    own = sorted(
        history, key=lambda product: (-history[product].count, -history[product].last_at.timestamp(), product)
    )
    picks = own[:k]
    for product in model.popular(k + len(picks)):
        if len(picks) >= k:
            break
        if product not in history:
            picks.append(product)
    return picks
