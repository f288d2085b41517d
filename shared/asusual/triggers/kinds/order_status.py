"""Order status messages: one template per status, the order's own lines named, never priced (the
message speaks of the order's total)."""

from __future__ import annotations

from collections.abc import Mapping

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import OrderStatusFacts


class OrderStatusKind(TriggerKind[OrderStatusFacts]):
    facts_model = OrderStatusFacts
    may_hold_out = False  # the customer is owed it: never held out

    def template_key(self, facts: OrderStatusFacts) -> str:
        return f"order_{facts.status.value}"

    def product_ids(self, facts: OrderStatusFacts) -> frozenset[str]:
        return frozenset(line.product_id for line in facts.products)

    def products(self, facts: OrderStatusFacts, catalog: Mapping[str, CatalogProduct]) -> list[PricedProduct]:
        """The order's lines by name only (the name the order gave, else the catalog's)."""
        out = []
        for line in facts.products:
            known = catalog.get(line.product_id)
            out.append(
                PricedProduct(
                    product_id=line.product_id,
                    name=line.name or (known.name if known else line.product_id),
                    price=None,
                    currency=None,
                    category=known.category if known else None,
                    sensitive=known.sensitive if known else False,
                )
            )
        return out

    def origin_channel(self, facts: OrderStatusFacts) -> str | None:
        return facts.order_channel

    def quantities(self, facts: OrderStatusFacts) -> dict[str, float]:
        return {line.product_id: line.quantity for line in facts.products}


KIND = OrderStatusKind()
