"""Browse reminders: the softer word about products viewed again and again, at today's price,
worth sending for 3 days; never about a sensitive product; not once one of them was put in the
cart or bought (any channel), or all sold out meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.profiles.state import ProfileState
from asusual.triggers.abandonment import browse_still_wanted
from asusual.triggers.kinds.abandonment import named_products, sold_out
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import BrowseAbandonmentFacts


class BrowseAbandonmentKind(TriggerKind[BrowseAbandonmentFacts]):
    facts_model = BrowseAbandonmentFacts
    prices_products = True
    useful_life = timedelta(days=3)

    def product_ids(self, facts: BrowseAbandonmentFacts) -> frozenset[str]:
        return frozenset(p.product_id for p in facts.products)

    def products(
        self, facts: BrowseAbandonmentFacts, catalog: Mapping[str, CatalogProduct]
    ) -> list[PricedProduct]:
        return named_products(facts.products, catalog)

    def obsolete(
        self,
        facts: BrowseAbandonmentFacts,
        state: ProfileState,
        catalog: Mapping[str, CatalogProduct],
        now: datetime,
    ) -> str | None:
        if any(catalog[p].sensitive for p in self.product_ids(facts) if p in catalog):
            return "sensitive"
        if (reason := browse_still_wanted(state, facts.products)) is not None:
            return reason
        return "out_of_stock" if sold_out(facts.products, catalog) else None


KIND = BrowseAbandonmentKind()
