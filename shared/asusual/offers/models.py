"""The day's sticky decisions (the offer, the prices shown) and the small repository interface
that store/ implements (docs/data-model.md: DAY items)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import PricedProduct
from asusual.weather.rules import Weather


class DayOffer(BaseModel):
    """The offer a customer sees everywhere on one local day (site, POS, call center, email)."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    day: date
    offer: PricedProduct | None
    decided_at: datetime
    decided_on: str = Field(description="the channel or message that decided first")
    weather: Weather | None = Field(default=None, description="the day's weather the choice ranked by")


class DayPrice(BaseModel):
    """The price a product was first shown at to a customer on one local day."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    day: date
    product: PricedProduct


class DecisionRepository(Protocol):
    def day_offer(self, profile_id: str, day: date) -> DayOffer | None: ...

    def keep_day_offer(self, offer: DayOffer) -> DayOffer:
        """Store the day's offer unless one exists; the one that is stored."""
        ...

    def keep_prices(self, profile_id: str, day: date, products: list[PricedProduct]) -> list[PricedProduct]:
        """The first price each product was shown at to this customer today (kept for the day)."""
        ...
