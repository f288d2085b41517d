"""Catalog items (design.md 3.3). Prices in every message and decision come from here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


class Season(StrEnum):
    WINTER = "winter"
    SPRING = "spring"
    SUMMER = "summer"
    AUTUMN = "autumn"


class CatalogProduct(BaseModel):
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
    updated_at: datetime | None = Field(default=None, description="set by asusual when stored")

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_serializer("seasons")
    def _sorted_seasons(self, seasons: frozenset[Season]) -> list[str]:
        order = list(Season)
        return [s.value for s in sorted(seasons, key=order.index)]
