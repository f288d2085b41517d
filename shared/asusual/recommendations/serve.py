"""Recommendations served (POST /v1/decide, message content): the products a customer is shown,
each with why (docs/recommendations.md, "Serving").

:func:`recommend_products` is pure: the stored model's rows for her products, ranked by
:func:`~asusual.recommendations.cooccurrence.ranked` (the backtest's scoring), keeping only what the
day's offer could be (asusual.offers.service.offerable: priced, in stock, in season where she is,
never sensitive, not bought in the last 30 days). Where data is thin — none of her purchases or
views is known to the model — only her own repeat purchases keep their rank, then comes the current
ranking (the offer pool's: categories she bought from first), then the model's popular products;
otherwise the model's ranking is kept whole and any list still short is padded by the current one.
:func:`recommendations_for` reads what it needs through small interfaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import CatalogProduct, PricedProduct, Season
from asusual.offers.service import categories_bought, offerable, ranked_offers, recently_bought
from asusual.profiles.state import ProfileState
from asusual.recommendations.cooccurrence import Bought, CoOccurrence, Pick, Reason, ranked
from asusual.recommendations.model import ModelSource, served_model

MAX_RECOMMENDATIONS = 10
DEFAULT_RECOMMENDATIONS = 5
VIEW_DAYS = 30  # her views older than this say nothing more about what she wants now
HISTORY_PRODUCTS = 20  # her latest purchased products whose rows are read
VIEWED_PRODUCTS = 20  # her latest viewed products whose rows are read
CANDIDATES = 40  # ranked beyond k: room for what the catalog leaves out


class Recommended(BaseModel):
    """A recommended product, the reason, and the product of hers that the reason is about."""

    model_config = ConfigDict(frozen=True)

    product: PricedProduct
    reason: str = Field(
        description="bought_before, bought_together, bought_after, viewed_then_bought, "
        "popular_in_category, popular"
    )
    via: PricedProduct | None = Field(
        default=None, description="her product the reason names (never a sensitive one)"
    )


def history_of(state: ProfileState) -> dict[str, Bought]:
    """Her purchased products (the latest HISTORY_PRODUCTS): last time and number of orders."""
    history: dict[str, Bought] = {}
    for order in sorted(state.orders.values(), key=lambda o: o.stamp()):
        for product in {line.product_id for line in order.products}:
            known = history.get(product)
            history[product] = Bought(order.at, (known.count if known else 0) + 1)
    latest = sorted(history, key=lambda p: history[p].last_at, reverse=True)[:HISTORY_PRODUCTS]
    return {p: history[p] for p in latest}


def views_of(state: ProfileState, now: datetime) -> dict[str, datetime]:
    """Her products viewed in the last VIEW_DAYS (the latest VIEWED_PRODUCTS): the latest view of each."""
    since = now - timedelta(days=VIEW_DAYS)
    latest = {pid: max(v.at) for pid, v in state.views.items() if v.at and max(v.at) >= since}
    kept = sorted(latest, key=lambda pid: (latest[pid], pid), reverse=True)[:VIEWED_PRODUCTS]
    return {pid: latest[pid] for pid in kept}


def _picks(model: CoOccurrence, state: ProfileState, now: datetime, k: int) -> list[Pick]:
    return ranked(model, history_of(state), now, k + CANDIDATES, views=views_of(state, now))


def recommend_products(
    state: ProfileState,
    model: CoOccurrence,
    catalog: Mapping[str, CatalogProduct],
    pool: Sequence[CatalogProduct],
    season: Season | None,
    now: datetime,
    day: date,
    profile_id: str,
    k: int,
) -> list[Recommended]:
    """At most ``k`` products for her (module docstring), best first, each with its reason."""
    if k <= 0:
        return []
    history, views = history_of(state), views_of(state, now)
    recent = recently_bought(state, day)
    known = any(model.baskets.get(p) for p in history) or any(model.viewers.get(p) for p in views)
    out: list[Recommended] = []
    chosen: set[str] = set()

    def take(product: CatalogProduct | None, reason: str, via: str | None = None) -> None:
        if len(out) >= k or product is None or product.product_id in chosen:
            return
        if not offerable(product, season, recent):
            return
        shown_via = catalog.get(via) if via else None
        chosen.add(product.product_id)
        out.append(
            Recommended(
                product=product.priced(),
                reason=reason,
                via=shown_via.priced() if shown_via is not None and not shown_via.sensitive else None,
            )
        )

    categories = categories_bought(state)

    def current_ranking() -> None:
        for product in ranked_offers(pool, state, season, profile_id, day):
            take(product, "popular_in_category" if product.category in categories else "popular")

    picks = _picks(model, state, now, k)
    for pick in picks:  # thin data: her own products first, the model's popular ones last
        if known or pick.reason is not Reason.POPULAR:
            take(catalog.get(pick.product_id), pick.reason.value, pick.via)
    current_ranking()
    for pick in picks:
        take(catalog.get(pick.product_id), Reason.POPULAR.value)
    return out


class CatalogReader(Protocol):
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]: ...


@dataclass(frozen=True)
class Recommender:
    """Where recommendations come from: the stored model and the catalog."""

    model: ModelSource
    catalog: CatalogReader


def recommendations_for(
    state: ProfileState,
    recommender: Recommender,
    pool: Sequence[CatalogProduct],
    season: Season | None,
    now: datetime,
    day: date,
    profile_id: str,
    k: int,
) -> list[Recommended]:
    """:func:`recommend_products` with the rows of her purchased and viewed products, the popularity
    pool and the catalog entries of the candidates (three reads)."""
    if k <= 0:
        return []
    k = min(k, MAX_RECOMMENDATIONS)
    mine = set(history_of(state)) | set(views_of(state, now))
    source = recommender.model
    model = served_model(source.neighbours(mine).values() if mine else (), source.popularity())
    picks = _picks(model, state, now, k)
    wanted = {p.product_id for p in picks} | {p.via for p in picks if p.via}
    products = recommender.catalog.get_products(wanted) if wanted else {}
    return recommend_products(state, model, products, pool, season, now, day, profile_id, k)


WHY: dict[str, dict[str, str]] = {
    "en": {
        "bought_before": "You bought it before",
        "bought_together": "Often bought together with {via}",
        "bought_after": "Often bought after {via}",
        "viewed_then_bought": "Often bought after viewing {via}",
        "bought_together.": "Often bought together with what you bought",
        "bought_after.": "Often bought after what you bought",
        "viewed_then_bought.": "Often bought after what you viewed",
        "popular_in_category": "Popular in {category}",
        "popular": "Popular right now",
    },
    "ru": {
        "bought_before": "Вы уже покупали это",
        "bought_together": "Часто покупают вместе с «{via}»",  # noqa: RUF001 - the Russian preposition
        "bought_after": "Часто покупают после «{via}»",
        "viewed_then_bought": "Часто покупают, посмотрев «{via}»",
        "bought_together.": "Часто покупают вместе с тем, что вы купили",  # noqa: RUF001 - the Russian preposition
        "bought_after.": "Часто покупают после того, что вы купили",
        "viewed_then_bought.": "Часто покупают после того, что вы смотрели",
        "popular_in_category": "Популярно в категории «{category}»",
        "popular": "Популярно сейчас",
    },
}


def why_text(recommended: Recommended, locale: str) -> str:
    """The one line a customer reads: why this product (a sensitive product of hers never named)."""
    words = WHY.get(locale, WHY["en"])
    reason = recommended.reason
    if reason in ("bought_together", "bought_after", "viewed_then_bought") and recommended.via is None:
        reason += "."
    if reason == "popular_in_category" and not recommended.product.category:
        reason = "popular"
    via = recommended.via.name if recommended.via is not None else ""
    return words[reason].format(via=via, category=recommended.product.category or "")
