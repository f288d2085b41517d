"""What the triggers need from the outside, as small interfaces that store/ implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.triggers.models import Intent, Interest


class IntentPublisher(Protocol):
    def publish(self, intents: Sequence[Intent]) -> None:
        """Durably enqueue every intent, or raise (the caller retries: intents are idempotent)."""
        ...


class OrderConversion(BaseModel):
    """An order a known customer completed: counted for every exposure (a campaign's or a trigger
    message's group) whose conversion window holds its time."""

    model_config = ConfigDict(frozen=True)

    profile_ids: tuple[str, ...] = Field(description="the profile and every part merged into it")
    order_id: str
    revenue: Decimal = Field(description="the order's total as reported (0 when none)")
    at: datetime = Field(description="the order's event time")


class ConversionRecorder(Protocol):
    def record_order(self, order: OrderConversion) -> int:
        """Count the order once for each exposure of its customer whose window holds its time (a
        redelivered order counts nothing more); returns how many it was counted for now."""
        ...


class InterestRecorder(Protocol):
    def record_interest(self, interest: Interest, expires_at: datetime) -> bool:
        """Keep the interest in the product's interest index unless a later one of the same profile
        and product is kept already (conditional); whether it was written."""
        ...


class BasketRecord(BaseModel):
    """One completed order as the recommendations learn it (docs/recommendations.md): what was
    bought together, what the customer bought the time before and what she viewed before buying.
    No customer id: the log says which products go together, not who bought them."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    at: datetime = Field(description="the order's event time")
    recorded_at: datetime = Field(description="when it was logged: its hour is the log's bucket")
    products: tuple[str, ...] = Field(description="the order's products, sorted")
    previous: tuple[str, ...] = Field(default=(), description="the products of her order before this one")
    viewed: tuple[str, ...] = Field(
        default=(), description="products she viewed in the days before, not bought here"
    )


class BasketLog(Protocol):
    def record_basket(self, basket: BasketRecord) -> bool:
        """Log the basket once per order id (a redelivered or re-reported order logs nothing more);
        whether it was logged now."""
        ...
