"""Item-to-item co-occurrence, learned one basket at a time, and the ranking built on it.

The model counts, per product:

- ``together``: the other products in the same basket ("bought together");
- ``after``: the products in the same customer's next basket ("bought after");
- ``baskets``: how many baskets held it (its popularity).

Memory stays bounded: each product keeps at most ``neighbours`` co-occurring products per kind; when
its counter grows to twice that, only the ``neighbours`` strongest are kept (the weak tail, which
cannot reach a top-k list, is forgotten). Popularity keeps an exact ranked pool of the ``pool`` most
bought products, updated on each increment (counts only grow, so an outside product can only enter
by its own increment: the pool is always the exact top).

:func:`recommend` ranks for one customer (docs/recommendations.md, "The blend"):

    score(q) = repeat · recency(q) · log2(1 + count(q))                 her own purchases (buy again)
             + Σ_p recency(p) · (together(p, q) + after(p, q)) / baskets(p)   what goes with them
             + popularity · baskets(q) / baskets(most popular)            the fallback where data is thin

with recency(p) = 1 / (1 + age in days / half_life_days). Ties: higher popularity, then product id.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

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
    baskets: Counter[str] = field(default_factory=Counter)
    _ranked: list[tuple[int, str]] = field(default_factory=list)  # (-baskets, product id), exact top

    def add_basket(self, products: Iterable[str], previous: Iterable[str] = ()) -> None:
        """Learn one basket; ``previous`` is the same customer's basket before it (if any)."""
        basket = sorted(set(products))
        earlier = sorted(set(previous))
        for product in basket:
            self._count(product)
            others = [other for other in basket if other != product]
            if others:
                self._pair(self.together, product, others)
        for product in earlier:
            self._pair(self.after, product, basket)

    def popular(self, k: int) -> list[str]:
        """The ``k`` most bought products (ties by product id); at most ``pool``."""
        return [product for _, product in self._ranked[:k]]

    def top_count(self) -> int:
        """Baskets holding the most bought product (0 before any basket)."""
        return -self._ranked[0][0] if self._ranked else 0

    def related(self, product: str) -> Iterable[tuple[str, int]]:
        """Products bought with or after ``product``, with their summed counts."""
        yield from self.together.get(product, Counter()).items()
        yield from self.after.get(product, Counter()).items()

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


def recommend(
    model: CoOccurrence,
    history: Mapping[str, Bought],
    now: datetime,
    k: int,
    exclude: frozenset[str] = frozenset(),
    blend: Blend | None = None,
) -> list[str]:
    """The ``k`` best products for a customer with ``history`` at ``now`` (module docstring), none in
    ``exclude``; fewer only when the model knows fewer products."""
    blend = blend or Blend()
    scores: dict[str, float] = {}
    for product, bought in history.items():
        weight = recency((now - bought.last_at).total_seconds(), blend.half_life_days)
        scores[product] = scores.get(product, 0.0) + blend.repeat * weight * math.log2(1 + bought.count)
        seen = model.baskets.get(product, 0)
        if not seen:
            continue
        share = blend.related * weight / seen
        for other, count in model.related(product):
            scores[other] = scores.get(other, 0.0) + share * count
    top = model.top_count()
    if top:
        for product in model.popular(model.pool):
            scores[product] = scores.get(product, 0.0) + blend.popularity * model.baskets[product] / top
    return heapq.nsmallest(
        k,
        (product for product in scores if product not in exclude),
        key=lambda product: (-scores[product], -model.baskets.get(product, 0), product),
    )


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
