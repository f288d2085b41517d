"""Catalog items (design.md 3.3). Prices in every message and decision come from here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from asusual.weather.rules import Weather


class Season(StrEnum):
    WINTER = "winter"
    SPRING = "spring"
    SUMMER = "summer"
    AUTUMN = "autumn"


class Product(BaseModel):
    """What every view of a product names. One family, with explicit conversions between its
    members: the catalog keeps the whole product (`CatalogProduct`); a message or decision keeps
    it as it was shown, at the price of that moment (`CatalogProduct.priced()` → `PricedProduct`);
    a template sees that with the quantity ordered (`PricedProduct.shown()` → `ContentProduct`)."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str
    price: Decimal | None = None
    currency: str | None = None
    category: str | None = None
    sensitive: bool = False


class CatalogProduct(Product):
    """One product as the retailer's admin uploads it (POST /v1/catalog/products)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str = Field(min_length=1, max_length=100, description="the id channels send in products[]")
    name: str = Field(min_length=1, max_length=300)
    price: Decimal = Field(ge=0, max_digits=14, decimal_places=4, description="current price, tax included")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. RUB")
    category: str | None = Field(default=None, max_length=200)
    seasons: frozenset[Season] = Field(
        default_factory=frozenset, description="local seasons it is offered in; empty means all year"
    )
    replenish_days: float | None = Field(
        default=None, gt=0, le=3650, description="days one unit lasts; null when unknown or not consumable"
    )
    sensitive: bool = Field(default=False, description="named only inside email bodies (pharmacy, intimate)")
    promoted: bool = Field(
        default=False, description="in the offer pool that decisions and marketing messages choose from"
    )
    in_stock: bool = Field(
        default=True,
        description="can be bought now; an out-of-stock product is never offered, and its return to "
        "stock tells the customers who wanted it (back_in_stock)",
    )
    # -- weather (docs/weather.md): ranks first on such a day, never outside its seasons --------
    weather: frozenset[Weather] = Field(
        default_factory=frozenset,
        description="cold, rain, heat: offered first on such a day where the customer is (when the "
        "weather feature is on); empty: no weather of its own",
    )
    updated_at: datetime | None = Field(default=None, description="set by asusual when stored")

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_serializer("seasons")
    def _sorted_seasons(self, seasons: frozenset[Season]) -> list[str]:
        order = list(Season)
        return [s.value for s in sorted(seasons, key=order.index)]

    @field_serializer("weather")
    def _sorted_weather(self, weather: frozenset[Weather]) -> list[str]:
        order = list(Weather)
        return [w.value for w in sorted(weather, key=order.index)]

    def priced(self) -> PricedProduct:
        """The product as a message or decision shows it now: the catalog's current price."""
        return PricedProduct(**_shared_fields(self))


class PricedProduct(Product):
    """A product as a message or decision showed it: the catalog price at decision time (null when
    the catalog does not know the product). Kept in message records and the day's decisions."""

    price: Decimal | None  # required: a record always says what it showed, null included
    currency: str | None

    @field_serializer("price")
    def _exact(self, price: Decimal | None) -> str | None:
        return None if price is None else str(price)

    def shown(self, quantity: float | None = None) -> ContentProduct:
        """The product as a template sees it (the price is the one kept for the day)."""
        return ContentProduct(**_shared_fields(self), quantity=quantity)


class ContentProduct(Product):
    """A product a message names, with the catalog's price (never one from the event facts)."""

    quantity: float | None = None


def _shared_fields(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in Product.model_fields}
