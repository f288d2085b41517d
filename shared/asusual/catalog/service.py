"""Catalog uploads and reads (pure: the store is behind :class:`CatalogRepository`).

An upload is one product object or ``{"products": [...]}`` with up to 1,000. Products are
validated one by one: a bad item is rejected alone, with a reason naming the field at fault.
The body as a whole is refused (400) only when its shape cannot be used, or when a single-product
body is invalid (there is nothing else in it to accept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from asusual.catalog.changes import ProductChange, detect
from asusual.catalog.models import CatalogProduct
from asusual.errors import BadRequest, NotFound

MAX_PRODUCTS = 1000
DEFAULT_DROP_SHARE = Decimal("0.10")


@dataclass
class Stored:
    """What a store of products did: the product_ids not written (a newer version is stored), and
    for each written one the version it replaced and the changes that version still owed (their
    announcement failed)."""

    superseded: list[str] = field(default_factory=list)
    replaced: dict[str, CatalogProduct] = field(default_factory=dict)
    owed: dict[str, list[ProductChange]] = field(default_factory=dict)


class CatalogRepository(Protocol):
    def store_products(self, products: list[CatalogProduct]) -> Stored:
        """Store each product unless a newer version (by ``updated_at``) is stored already; say
        which were not written, and what each written one replaced (race-free: from the write)."""
        ...

    def owe_changes(self, product: CatalogProduct, changes: list[ProductChange]) -> None:
        """Keep on the stored ``product`` (if still that version) the changes whose announcement
        failed: the next store of the product announces them."""
        ...

    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        """The stored products among ``product_ids``, by product_id."""
        ...


class ChangeAnnouncer(Protocol):
    def announce(self, changes: Sequence[ProductChange]) -> None:
        """Durably enqueue each change for its fan-out, or raise."""
        ...


class CatalogBatch(BaseModel):
    """A bulk upload (documentation of the body; items are validated one by one)."""

    model_config = ConfigDict(extra="forbid")

    products: list[CatalogProduct] = Field(max_length=MAX_PRODUCTS)


class CatalogUpload(RootModel[CatalogProduct | CatalogBatch]):
    """Body of POST /v1/catalog/products: one product, or ``{"products": [...]}`` (up to 1,000)."""


class ProductRejection(BaseModel):
    """One product of an upload that was not stored, and why."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="position in products[] (0 for a single-product upload)")
    product_id: str | None = Field(default=None, description="as sent, when it was a string")
    reason: str = Field(description="names the field at fault, e.g. 'price: Input should be ...'")


class UploadResult(BaseModel):
    """200 answer of an upload. The three lists are disjoint."""

    model_config = ConfigDict(frozen=True)

    accepted: list[str] = Field(default_factory=list, description="product_ids stored by this upload")
    rejected: list[ProductRejection] = Field(default_factory=list, description="items not valid")
    superseded: list[str] = Field(
        default_factory=list, description="valid product_ids not stored: a newer version is stored already"
    )


def upload(
    repo: CatalogRepository,
    payload: Any,
    now: datetime,
    *,
    announcer: ChangeAnnouncer | None = None,
    drop_share: Decimal = DEFAULT_DROP_SHARE,
) -> UploadResult:
    """Validate, stamp ``updated_at=now``, de-duplicate and store an upload body (parsed JSON);
    then announce each restock and price drop it made (:mod:`asusual.catalog.changes`). When the
    announcement fails, the changes stay owed on the stored products and the error propagates (the
    client retries: the retry's store finds them and announces them)."""
    items, single = _items(payload)
    rejected: list[ProductRejection] = []
    valid: dict[str, tuple[int, CatalogProduct]] = {}  # product_id -> the last valid item with it
    for index, item in enumerate(items):
        outcome = _validate(index, item, now)
        if isinstance(outcome, ProductRejection):
            if single:
                raise BadRequest(outcome.reason, code="invalid_product")
            rejected.append(outcome)
            continue
        earlier = valid.pop(outcome.product_id, None)
        if earlier is not None:
            rejected.append(
                ProductRejection(
                    index=earlier[0],
                    product_id=outcome.product_id,
                    reason="product_id: repeated later in this upload",
                )
            )
        valid[outcome.product_id] = (index, outcome)
    products = [product for _, product in sorted(valid.values(), key=lambda pair: pair[0])]
    stored = repo.store_products(products) if products else Stored()
    if announcer is not None:
        _announce(repo, announcer, products, stored, drop_share)
    kept_back = set(stored.superseded)
    return UploadResult(
        accepted=[p.product_id for p in products if p.product_id not in kept_back],
        rejected=sorted(rejected, key=lambda r: r.index),
        superseded=[p.product_id for p in products if p.product_id in kept_back],
    )


def changes_made(product: CatalogProduct, stored: Stored, drop_share: Decimal) -> list[ProductChange]:
    """The changes storing ``product`` made, with those its replaced version still owed."""
    found = [*stored.owed.get(product.product_id, [])]
    made = detect(stored.replaced.get(product.product_id), product, drop_share)
    if made is not None:
        found.append(made)
    return list({c.change_id: c for c in found}.values())


def _announce(
    repo: CatalogRepository,
    announcer: ChangeAnnouncer,
    products: list[CatalogProduct],
    stored: Stored,
    drop_share: Decimal,
) -> None:
    kept_back = set(stored.superseded)
    changes = {
        p.product_id: (p, made)
        for p in products
        if p.product_id not in kept_back and (made := changes_made(p, stored, drop_share))
    }
    if not changes:
        return
    try:
        announcer.announce([c for _, made in changes.values() for c in made])
    except Exception:
        for product, made in changes.values():
            repo.owe_changes(product, made)
        raise


def get_product(repo: CatalogRepository, product_id: str) -> CatalogProduct:
    product = repo.get_products({product_id}).get(product_id)
    if product is None:
        raise NotFound(f"product_id: no product {product_id!r}")
    return product


def _items(payload: Any) -> tuple[list[Any], bool]:
    """The items of an upload body, and whether it was a single product."""
    if not isinstance(payload, dict):
        raise BadRequest(
            'body: must be a JSON object, one product or {"products": [...]}', code="invalid_body"
        )
    if "products" not in payload:
        return [payload], True
    extra = sorted(set(payload) - {"products"})
    if extra:
        raise BadRequest(f"{extra[0]}: not allowed next to products", code="invalid_body")
    items = payload["products"]
    if not isinstance(items, list):
        raise BadRequest("products: must be an array of products", code="invalid_body")
    if len(items) > MAX_PRODUCTS:
        raise BadRequest(
            f"products: {len(items)} products exceeds the limit of {MAX_PRODUCTS}", code="too_many_products"
        )
    return items, False


def _validate(index: int, item: Any, now: datetime) -> CatalogProduct | ProductRejection:
    if not isinstance(item, dict):
        return ProductRejection(index=index, reason=f"products[{index}]: must be a JSON object")
    raw_id = item.get("product_id")
    product_id = raw_id if isinstance(raw_id, str) else None
    # updated_at is ours to set; a product read back from GET may be uploaded again as it is
    fields = {name: value for name, value in item.items() if name != "updated_at"}
    try:
        product = CatalogProduct.model_validate(fields)
    except ValidationError as exc:
        return ProductRejection(index=index, product_id=product_id, reason=_reason(exc))
    return product.model_copy(update={"updated_at": now})


def _reason(exc: ValidationError) -> str:
    """One line naming each field at fault: ``price: Input should be ...; name: Field required``."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)
