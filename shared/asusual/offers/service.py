"""The day's offer: chosen once per customer and local day from the offer pool (promoted catalog
products), then kept, so the site banner, the POS screen, the call-center script and the email
of that day show the same product at the same price (design.md principle 3).

The choice is pure: in season where the customer is (unknown season: all-year products only),
never a sensitive product (an offer may be shown on a screen), not something they bought in the
last 30 days; categories they bought from first, then a stable per-day rotation. When the day's
weather where the customer is is known (docs/weather.md), products made for it rank first among
those in season; the season rule stays the guard (no down jacket in July, however cold the day).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from asusual.catalog.models import CatalogProduct, Season
from asusual.localtime import local_now
from asusual.offers.models import DayOffer, DecisionRepository
from asusual.profiles.state import ProfileState
from asusual.weather.rules import Weather

RECENT_PURCHASE_DAYS = 30


class OfferPool(Protocol):
    def offer_pool(self) -> list[CatalogProduct]: ...


def customer_day(now: datetime, zones: Sequence[str]) -> date:
    """The customer's local date (their first plausible zone), UTC's when no zone is known."""
    return local_now(now, zones).date()


def in_season(product: CatalogProduct, season: Season | None) -> bool:
    return not product.seasons or (season is not None and season in product.seasons)


def recently_bought(state: ProfileState, day: date) -> set[str]:
    """Products she bought in the RECENT_PURCHASE_DAYS before ``day``: never offered again yet."""
    cutoff = datetime.combine(day, datetime.min.time()) - timedelta(days=RECENT_PURCHASE_DAYS)
    return {
        line.product_id
        for order in state.orders.values()
        if order.at.replace(tzinfo=None) >= cutoff
        for line in order.products
    }


def categories_bought(state: ProfileState) -> list[str]:
    """The categories she bought from, latest order first."""
    categories: list[str] = []
    for order in sorted(state.orders.values(), key=lambda o: o.stamp(), reverse=True):
        for line in order.products:
            if line.category and line.category not in categories:
                categories.append(line.category)
    return categories


def offerable(product: CatalogProduct, season: Season | None, recent: set[str]) -> bool:
    """A product a screen may show her now: priced, in stock, in season, not sensitive, not just bought."""
    return (
        not product.sensitive
        and product.in_stock
        and product.price is not None
        and in_season(product, season)
        and product.product_id not in recent
    )


def ranked_offers(
    pool: Sequence[CatalogProduct],
    state: ProfileState,
    season: Season | None,
    profile_id: str,
    day: date,
    weather: Weather | None = None,
) -> list[CatalogProduct]:
    """The offerable products of ``pool``, best first: made for the day's weather first (when it is
    known), then categories she bought from, then a stable per-day rotation."""
    recent = recently_bought(state, day)
    categories = categories_bought(state)

    def rank(product: CatalogProduct) -> tuple[int, int, str]:
        for_weather = 0 if weather is not None and weather in product.weather else 1
        category = categories.index(product.category) if product.category in categories else len(categories)
        rotation = hashlib.sha256(f"{profile_id}|{day}|{product.product_id}".encode()).hexdigest()
        return for_weather, category, rotation

    return sorted((p for p in pool if offerable(p, season, recent)), key=rank)


def choose_offer(
    pool: Sequence[CatalogProduct],
    state: ProfileState,
    season: Season | None,
    profile_id: str,
    day: date,
    weather: Weather | None = None,
) -> CatalogProduct | None:
    ranked = ranked_offers(pool, state, season, profile_id, day, weather)
    return ranked[0] if ranked else None


def todays_offer(
    decisions: DecisionRepository,
    pool: Sequence[CatalogProduct],
    state: ProfileState,
    season: Season | None,
    profile_id: str,
    day: date,
    now: datetime,
    decided_on: str,
    weather: Weather | None = None,
) -> DayOffer:
    """The stored offer of the day, or a new one (the first channel to ask decides, conditionally;
    the weather of that moment counts, and the offer then holds all day whatever the sky does)."""
    stored = decisions.day_offer(profile_id, day)
    if stored is None:
        chosen = choose_offer(pool, state, season, profile_id, day, weather)
        offer = chosen.priced() if chosen is not None else None
        candidate = DayOffer(
            profile_id=profile_id,
            day=day,
            offer=offer,
            decided_at=now,
            decided_on=decided_on,
            weather=weather if offer is not None else None,
        )
        stored = decisions.keep_day_offer(candidate)
    if stored.offer is None:
        return stored
    pooled = next((p for p in pool if p.product_id == stored.offer.product_id), None)
    if pooled is not None and not in_season(pooled, season):
        # decided before a season changed where the customer may be: show nothing rather than
        # another offer (the day's price promise holds) or an offer out of season
        return stored.model_copy(update={"offer": None})
    # a message about the same product today (a replenishment reminder) shows this price too
    kept = decisions.keep_prices(profile_id, day, [stored.offer])
    return stored.model_copy(update={"offer": kept[0]})
