"""Replenishment reminders: the product at today's price, only in its local season, worth sending
for 7 days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import ReplenishmentFacts


class ReplenishmentKind(TriggerKind[ReplenishmentFacts]):
    facts_model = ReplenishmentFacts
    prices_products = True
    useful_life = timedelta(days=7)

    def product_ids(self, facts: ReplenishmentFacts) -> frozenset[str]:
        return frozenset({facts.product_id})

    def products(
        self, facts: ReplenishmentFacts, catalog: Mapping[str, CatalogProduct]
    ) -> list[PricedProduct]:
        """The catalog's product and price; a product no longer in the catalog by the name the
        reminder kept, without a price."""
        product = catalog.get(facts.product_id)
        if product is not None:
            return [product.priced()]
        name = facts.product_name or facts.product_id
        return [PricedProduct(product_id=facts.product_id, name=name, price=None, currency=None)]

    def quantities(self, facts: ReplenishmentFacts) -> dict[str, float]:
        return {facts.product_id: facts.quantity}

    def in_season_only(self, facts: ReplenishmentFacts) -> frozenset[str]:
        return frozenset({facts.product_id})


KIND = ReplenishmentKind()
