"""Catalog products in the main table (docs/data-model.md).

Product   pk=PRODUCT#<product_id>   sk=PRODUCT   entity, data (JSON), updated_at (ISO, UTC);
                                                 promoted ones also gsi1pk=OFFERS, gsi1sk=<product_id>

A write is conditional on ``updated_at``: a slower upload of an older version never overwrites a
newer one that landed first. It returns the version it replaced (``ReturnValues=ALL_OLD``), which
the upload compares with to find restocks and price drops; ``owed`` (JSON list, set only when
announcing them failed) keeps those changes until the next write of the product announces them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from asusual import clock
from asusual.catalog.changes import ProductChange
from asusual.catalog.models import CatalogProduct
from asusual.catalog.service import Stored
from asusual.store.dynamo import (
    Item,
    batch_get,
    data_of,
    item_key,
    query_all,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.tables import GSI1

MAX_WORKERS = 8
OFFER_POOL = "OFFERS"
_CHANGES = TypeAdapter(list[ProductChange])


def _product_key(product_id: str) -> Item:
    return item_key(f"PRODUCT#{product_id}", "PRODUCT")


def _product_item(product: CatalogProduct, stamp: str) -> Item:
    """The product, stamped with its ``updated_at``; a promoted one in the offer pool's partition."""
    return {
        **_product_key(product.product_id),
        **to_item(
            {
                "entity": "product",
                "data": product.model_dump_json(),
                "updated_at": stamp,
                "gsi1pk": OFFER_POOL if product.promoted else None,
                "gsi1sk": product.product_id if product.promoted else None,
            }
        ),
    }


def product_from_item(item: Item) -> CatalogProduct:
    return CatalogProduct.model_validate_json(data_of(item))


class DynamoCatalogRepository:
    def __init__(self, client: Any, table_name: str, *, workers: int = MAX_WORKERS) -> None:
        self._db = client
        self._table = table_name
        self._workers = max(1, min(workers, MAX_WORKERS))

    @translate_errors
    def store_products(self, products: list[CatalogProduct]) -> Stored:
        """Write each product unless a newer one is stored; what was not written, and what each
        write replaced."""
        stored = Stored()
        if not products:
            return stored
        with ThreadPoolExecutor(max_workers=min(self._workers, len(products))) as pool:
            outcomes = list(pool.map(self._put, products))
        for product, (written, old) in zip(products, outcomes, strict=True):
            if not written:
                stored.superseded.append(product.product_id)
            elif old:
                stored.replaced[product.product_id] = product_from_item(old)
                if "owed" in old:
                    stored.owed[product.product_id] = _CHANGES.validate_json(old["owed"]["S"])
        return stored

    def put_products(self, products: list[CatalogProduct]) -> list[str]:
        """Write each product unless a newer one is stored; the product_ids not written."""
        return self.store_products(products).superseded

    @translate_errors
    def owe_changes(self, product: CatalogProduct, changes: list[ProductChange]) -> None:
        if product.updated_at is None:
            raise ValueError(f"product {product.product_id!r} has no updated_at")
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_product_key(product.product_id),
                UpdateExpression="SET owed = :owed",
                ConditionExpression="updated_at = :mine",
                ExpressionAttributeValues=to_values(
                    {":owed": _CHANGES.dump_json(changes).decode(), ":mine": utc_stamp(product.updated_at)}
                ),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return  # a newer version replaced it meanwhile: that write carried them on (ALL_OLD)

    @translate_errors
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        items = batch_get(self._db, self._table, [_product_key(p) for p in sorted(product_ids)], "pk, #d")
        products = (product_from_item(item) for item in items)
        return {p.product_id: p for p in products}

    @translate_errors
    def offer_pool(self) -> list[CatalogProduct]:
        """Every promoted product (the offer pool), from its sparse index partition."""
        items = query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues=to_values({":p": OFFER_POOL}),
        )
        return [product_from_item(i) for i in items]

    def _put(self, product: CatalogProduct) -> tuple[bool, Item | None]:
        """Whether it was written, and the item it replaced."""
        if product.updated_at is None:
            raise ValueError(f"product {product.product_id!r} has no updated_at")
        stamp = utc_stamp(product.updated_at)
        try:
            response = self._db.put_item(
                TableName=self._table,
                Item=_product_item(product, stamp),
                ConditionExpression="attribute_not_exists(pk) OR updated_at <= :mine",
                ExpressionAttributeValues=to_values({":mine": stamp}),
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False, None
        return True, response.get("Attributes") or None


class CachedOfferPool:
    """The offer pool, re-read at most every ``seconds`` per container (decide answers fast)."""

    def __init__(self, repo: DynamoCatalogRepository, seconds: int) -> None:
        self._repo = repo
        self._ttl = timedelta(seconds=seconds)
        self._cached: list[CatalogProduct] | None = None
        self._read_at: datetime | None = None

    def offer_pool(self) -> list[CatalogProduct]:
        now = clock.now()
        if (
            self._cached is None
            or self._read_at is None
            or not (self._read_at <= now < self._read_at + self._ttl)
        ):
            self._cached = self._repo.offer_pool()
            self._read_at = now
        return self._cached
