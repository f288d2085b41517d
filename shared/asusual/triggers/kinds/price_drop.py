"""Price drop: a product the customer viewed or added to the cart costs less (by at least
``ASUSUAL_PRICE_DROP_SHARE``); no longer wanted once the price is back above the dropped one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from asusual.catalog.models import CatalogProduct
from asusual.profiles.state import ProfileState
from asusual.triggers.kinds.wanted import WantedProductKind
from asusual.triggers.models import PriceDropFacts


class PriceDropKind(WantedProductKind[PriceDropFacts]):
    facts_model = PriceDropFacts

    def obsolete(
        self, facts: PriceDropFacts, state: ProfileState, catalog: Mapping[str, CatalogProduct], now: datetime
    ) -> str | None:
        reason = super().obsolete(facts, state, catalog, now)
        if reason is not None:
            return reason
        product = catalog[facts.product_id]
        if product.currency != facts.currency or product.price > facts.price:
            return "price_back_up"
        return None


KIND = PriceDropKind()
