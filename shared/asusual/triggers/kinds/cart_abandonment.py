"""Cart reminders: the products left in the cart at today's price, worth sending for 2 days; by
email only when one of them is sensitive (named only inside an email body); not once a product
of it was bought (any channel), the cart emptied, or everything in it sold out meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.profiles.state import ProfileState
from asusual.triggers.abandonment import cart_still_left
from asusual.triggers.kinds.abandonment import named_products, sold_out
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import CartAbandonmentFacts


class CartAbandonmentKind(TriggerKind[CartAbandonmentFacts]):
    facts_model = CartAbandonmentFacts
    prices_products = True
    useful_life = timedelta(days=2)

    def product_ids(self, facts: CartAbandonmentFacts) -> frozenset[str]:
        return frozenset(p.product_id for p in facts.products)

    def products(
        self, facts: CartAbandonmentFacts, catalog: Mapping[str, CatalogProduct]
    ) -> list[PricedProduct]:
        return named_products(facts.products, catalog)

    def quantities(self, facts: CartAbandonmentFacts) -> dict[str, float]:
        return {p.product_id: p.quantity for p in facts.products if p.quantity is not None}

    def channels(self, facts: CartAbandonmentFacts) -> frozenset[str] | None:
        return frozenset({"email"}) if any(p.sensitive for p in facts.products) else None

    def obsolete(
        self,
        facts: CartAbandonmentFacts,
        state: ProfileState,
        catalog: Mapping[str, CatalogProduct],
        now: datetime,
    ) -> str | None:
        if any(catalog[p].sensitive for p in self.product_ids(facts) if p in catalog) and not self.channels(
            facts
        ):
            return "sensitive"  # became sensitive after the reminder was made: not by SMS or push
        if (reason := cart_still_left(state, facts.products)) is not None:
            return reason
        return "out_of_stock" if sold_out(facts.products, catalog) else None


KIND = CartAbandonmentKind()
