"""What a catalog upload changed that customers hear about (issue 21: back in stock, price drop).

A product update is compared with the version it actually replaced (the store's conditional put
returns it, so two racing uploads each compare with what they overwrote): ``in_stock`` turning true
is a restock; a price lowered by at least the configured share (``ASUSUAL_PRICE_DROP_SHARE``, 10 %)
in the same currency, while in stock, is a price drop. A restock that also lowers the price is one
restock (its message shows the current price anyway). A new product, a price rise, an equal price,
a smaller drop, a product still or again out of stock: no change.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import CatalogProduct


class ChangeKind(StrEnum):
    BACK_IN_STOCK = "back_in_stock"
    PRICE_DROP = "price_drop"


class ProductChange(BaseModel):
    """One change customers who wanted the product hear about (the stock queue's first message)."""

    model_config = ConfigDict(frozen=True)

    change: ChangeKind
    product_id: str
    price: Decimal = Field(description="the new price")
    previous_price: Decimal = Field(description="the price of the version replaced")
    currency: str
    changed_at: datetime = Field(description="updated_at of the version that made the change")

    @property
    def change_id(self) -> str:
        """Names the change for its fan-out's progress: the same change announced twice (an upload
        retried after the queue failed) is one fan-out."""
        raw = f"{self.change.value}|{self.product_id}|{self.changed_at.isoformat()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def holds(self, current: CatalogProduct | None) -> bool:
        """Whether the catalog's current version still shows the change: in stock, and for a price
        drop still at or below the dropped price (no message about a sale that is over)."""
        if current is None or not current.in_stock:
            return False
        if self.change is ChangeKind.PRICE_DROP:
            return current.currency == self.currency and current.price <= self.price
        return True


def detect(old: CatalogProduct | None, new: CatalogProduct, drop_share: Decimal) -> ProductChange | None:
    """The change ``new`` makes to ``old`` (the stored version it replaced), or None."""
    if old is None or not new.in_stock or new.updated_at is None:
        return None
    if not old.in_stock:
        kind = ChangeKind.BACK_IN_STOCK
    elif old.currency == new.currency and old.price > 0 and new.price <= old.price * (1 - drop_share):
        kind = ChangeKind.PRICE_DROP
    else:
        return None
    return ProductChange(
        change=kind,
        product_id=new.product_id,
        price=new.price,
        previous_price=old.price,
        currency=new.currency,
        changed_at=new.updated_at,
    )
