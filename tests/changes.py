"""Catalog changes for the back-in-stock and price-drop tests of every tier."""

from datetime import datetime
from decimal import Decimal

from asusual.catalog.changes import ChangeKind, ProductChange


def price_drop(
    at: datetime, product_id: str = "sku-1", price: int = 2400, previous: int = 3000
) -> ProductChange:
    """The catalog lowered the product's price (RUB) at ``at``."""
    return ProductChange(
        change=ChangeKind.PRICE_DROP,
        product_id=product_id,
        price=Decimal(price),
        previous_price=Decimal(previous),
        currency="RUB",
        changed_at=at,
    )
