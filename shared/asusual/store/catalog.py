"""Catalog products in the main table (docs/data-model.md).

Product   pk=PRODUCT#<product_id>   sk=PRODUCT   entity, data (JSON), updated_at (ISO, UTC)

A write is conditional on ``updated_at``: a slower upload of an older version never overwrites a
newer one that landed first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from asusual.catalog.models import CatalogProduct
from asusual.store.dynamo import batch_get, translate_errors

MAX_WORKERS = 8


def _product_key(product_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "PRODUCT"}}


def _stamp(at: datetime) -> str:
    """A fixed-width UTC timestamp, so that string order is time order in the condition."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class DynamoCatalogRepository:
    def __init__(self, client: Any, table_name: str, *, workers: int = MAX_WORKERS) -> None:
        self._db = client
        self._table = table_name
        self._workers = max(1, min(workers, MAX_WORKERS))

    @translate_errors
    def put_products(self, products: list[CatalogProduct]) -> list[str]:
        """Write each product unless a newer one is stored; the product_ids not written."""
        if not products:
            return []
        with ThreadPoolExecutor(max_workers=min(self._workers, len(products))) as pool:
            written = list(pool.map(self._put, products))
        return [product.product_id for product, ok in zip(products, written, strict=True) if not ok]

    @translate_errors
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        items = batch_get(self._db, self._table, [_product_key(p) for p in sorted(product_ids)], "pk, #d")
        products = (CatalogProduct.model_validate_json(item["data"]["S"]) for item in items)
        return {p.product_id: p for p in products}

    def _put(self, product: CatalogProduct) -> bool:
        if product.updated_at is None:
            raise ValueError(f"product {product.product_id!r} has no updated_at")
        stamp = _stamp(product.updated_at)
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **_product_key(product.product_id),
                    "entity": {"S": "product"},
                    "data": {"S": product.model_dump_json()},
                    "updated_at": {"S": stamp},
                },
                ConditionExpression="attribute_not_exists(pk) OR updated_at <= :mine",
                ExpressionAttributeValues={":mine": {"S": stamp}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True
