"""What back-in-stock and price-drop messages share: one product the customer viewed or added to
the cart, shown at today's catalog price (kept for the local day), worth sending for 3 days, and
no longer wanted once the customer bought it, or it sold out again, or left the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.profiles.state import ProfileState
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import WantedProductFacts

W = TypeVar("W", bound=WantedProductFacts)


def bought_since(state: ProfileState, product_id: str, since: datetime) -> bool:
    """Whether an order at or after ``since`` holds the product."""
    return any(
        order.at >= since and any(line.product_id == product_id for line in order.products)
        for order in state.orders.values()
    )


class WantedProductKind(TriggerKind[W]):
    prices_products = True
    useful_life: ClassVar[timedelta | None] = timedelta(days=3)

    def product_ids(self, facts: W) -> frozenset[str]:
        return frozenset({facts.product_id})

    def products(self, facts: W, catalog: Mapping[str, CatalogProduct]) -> list[PricedProduct]:
        product = catalog.get(facts.product_id)
        return [product.priced()] if product is not None else []

    def obsolete(
        self, facts: W, state: ProfileState, catalog: Mapping[str, CatalogProduct], now: datetime
    ) -> str | None:
        product = catalog.get(facts.product_id)
        if product is None:
            return "not_in_catalog"
        if not product.in_stock:
            return "out_of_stock"
        if bought_since(state, facts.product_id, facts.interested_at):
            return "already_bought"
        return None
