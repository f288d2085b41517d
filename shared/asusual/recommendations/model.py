"""The co-occurrence model as DynamoDB keeps it (docs/data-model.md: RECO items), and the small
interface store/ implements. One row per product: its basket count and its neighbours per kind,
bounded as :class:`~asusual.recommendations.cooccurrence.CoOccurrence` bounds them; one item for the
popularity pool; one watermark for the job."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.recommendations.cooccurrence import CoOccurrence
from asusual.triggers.ports import BasketRecord

POOL = 100  # products in the popularity pool (as the backtest's model)
NEIGHBOURS = 50  # neighbours kept per product and kind (up to twice as many between cuts)


class Neighbours(BaseModel):
    """One product's row: ``pk=RECO#<product_id>``."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    baskets: int = Field(default=0, description="baskets that held it")
    viewers: int = Field(
        default=0, description="baskets whose customer viewed it before, not buying it there"
    )
    together: dict[str, int] = Field(default_factory=dict, description="bought in the same basket")
    after: dict[str, int] = Field(default_factory=dict, description="bought in the customer's next basket")
    viewed: dict[str, int] = Field(default_factory=dict, description="bought after viewing this one")
    through: str | None = Field(default=None, description="the last log bucket folded into this row")
    version: int = 0


class Popularity(BaseModel):
    """The most bought products with their basket counts: ``pk=RECO#POPULAR``."""

    model_config = ConfigDict(frozen=True)

    counts: dict[str, int] = Field(default_factory=dict)
    version: int = 0


class Watermark(BaseModel):
    """The last log bucket the job folded in: ``pk=RECO#WATERMARK``."""

    model_config = ConfigDict(frozen=True)

    through: str | None = None
    version: int = 0
    updated_at: datetime | None = None


class ModelSource(Protocol):
    def neighbours(self, product_ids: set[str]) -> dict[str, Neighbours]:
        """The stored rows of these products (a product without one is absent)."""
        ...

    def popularity(self) -> Popularity: ...


class ModelStore(ModelSource, Protocol):
    def baskets(self, bucket: str) -> list[BasketRecord]:
        """The baskets logged in one hour bucket (``yyyy-mm-ddThh``, UTC)."""
        ...

    def save_neighbours(self, row: Neighbours, expected_version: int | None) -> None:
        """Write the row if its stored version is ``expected_version`` (None: no row yet), else Conflict."""
        ...

    def save_popularity(self, popularity: Popularity, expected_version: int | None) -> None: ...

    def watermark(self) -> Watermark | None: ...

    def save_watermark(self, watermark: Watermark, expected_version: int | None) -> None: ...


def load_rows(model: CoOccurrence, rows: Iterable[Neighbours]) -> CoOccurrence:
    """Put stored rows into an in-memory model (the one the backtest learns and ranks with)."""
    for row in rows:
        product = row.product_id
        if row.baskets:
            model.baskets[product] = row.baskets
        if row.viewers:
            model.viewers[product] = row.viewers
        for table, counts in (
            (model.together, row.together),
            (model.after, row.after),
            (model.viewed, row.viewed),
        ):
            if counts:
                table[product] = Counter(counts)
    return model


def served_model(rows: Iterable[Neighbours], popularity: Popularity) -> CoOccurrence:
    """The model :func:`~asusual.recommendations.cooccurrence.ranked` needs for one customer: the
    rows of her products and the popularity pool."""
    model = CoOccurrence(neighbours=NEIGHBOURS, pool=POOL)
    model.seed_popular(popularity.counts)
    return load_rows(model, rows)


def row_of(model: CoOccurrence, product: str, through: str, version: int) -> Neighbours:
    return Neighbours(
        product_id=product,
        baskets=model.baskets.get(product, 0),
        viewers=model.viewers.get(product, 0),
        together=dict(sorted(model.together.get(product, Counter()).items())),
        after=dict(sorted(model.after.get(product, Counter()).items())),
        viewed=dict(sorted(model.viewed.get(product, Counter()).items())),
        through=through,
        version=version,
    )
