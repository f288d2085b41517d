"""What the two abandonment kinds share: the products they name at today's catalog price, and
the checks made when the message is about to go (asusual.triggers.abandonment)."""

from __future__ import annotations

from collections.abc import Mapping

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.triggers.models import AbandonedProduct


def named_products(
    products: tuple[AbandonedProduct, ...], catalog: Mapping[str, CatalogProduct]
) -> list[PricedProduct]:
    """The catalog's product and today's price; one gone from the catalog by the name the
    reminder kept, without a price."""
    return [
        catalog[p.product_id].priced()
        if p.product_id in catalog
        else PricedProduct(
            product_id=p.product_id, name=p.name, price=None, currency=None, sensitive=p.sensitive
        )
        for p in products
    ]


def sold_out(products: tuple[AbandonedProduct, ...], catalog: Mapping[str, CatalogProduct]) -> bool:
    """Every named product is out of stock (or gone from the catalog): nothing to come back for."""
    return not any(p.product_id in catalog and catalog[p.product_id].in_stock for p in products)
