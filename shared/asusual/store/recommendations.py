"""The recommendations' basket log and model (docs/data-model.md, docs/recommendations.md).

Basket     pk=BASKET#<order_id>     sk=BASKET     gsi1pk=BASKETS#<yyyy-mm-ddThh> (logged hour, UTC),
                                                  gsi1sk=<order_id>, data, expires_at (TTL)
Row        pk=RECO#<product_id>     sk=RECO       version, data (neighbours and counts)
Popular    pk=RECOMODEL             sk=POPULAR    version, data
Watermark  pk=RECOMODEL             sk=WATERMARK  version, data
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from asusual.recommendations.job import bucket_of
from asusual.recommendations.model import Neighbours, Popularity, Watermark
from asusual.store.dynamo import (
    Item,
    batch_get,
    data_of,
    epoch_seconds,
    item_key,
    query_all,
    to_item,
    to_values,
    translate_errors,
    versioned_put,
)
from asusual.store.tables import GSI1
from asusual.triggers.ports import BasketRecord

BASKET_DAYS = 14  # a logged basket is kept this long (TTL): the job reads it within the hour
POPULAR = "POPULAR"
WATERMARK = "WATERMARK"


def basket_partition(bucket: str) -> str:
    return f"BASKETS#{bucket}"


def basket_key(order_id: str) -> Item:
    return item_key(f"BASKET#{order_id}", "BASKET")


def _row_key(product_id: str) -> Item:
    return item_key(f"RECO#{product_id}", "RECO")


def _model_key(name: str) -> Item:
    return item_key("RECOMODEL", name)


class DynamoRecommendationRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- the basket log (the event processor) ---------------------------------------------------
    @translate_errors
    def record_basket(self, basket: BasketRecord) -> bool:
        item = {
            **basket_key(basket.order_id),
            **to_item(
                {
                    "entity": "basket",
                    "data": basket.model_dump_json(),
                    "gsi1pk": basket_partition(bucket_of(basket.recorded_at)),
                    "gsi1sk": basket.order_id,
                    "expires_at": epoch_seconds(basket.recorded_at + timedelta(days=BASKET_DAYS)),
                }
            ),
        }
        try:
            self._db.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False  # this order's basket is logged already
        return True

    @translate_errors
    def baskets(self, bucket: str) -> list[BasketRecord]:
        items = query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues=to_values({":p": basket_partition(bucket)}),
        )
        return [BasketRecord.model_validate_json(data_of(item)) for item in items]

    # -- the model ---------------------------------------------------------------------------
    @translate_errors
    def neighbours(self, product_ids: set[str]) -> dict[str, Neighbours]:
        items = batch_get(self._db, self._table, [_row_key(p) for p in sorted(product_ids)])
        rows = (Neighbours.model_validate_json(data_of(item)) for item in items)
        return {row.product_id: row for row in rows}

    @translate_errors
    def save_neighbours(self, row: Neighbours, expected_version: int | None) -> None:
        self._put(_row_key(row.product_id), "reco_row", row.model_dump_json(), row.version, expected_version)

    @translate_errors
    def popularity(self) -> Popularity:
        item = self._get(POPULAR)
        return Popularity.model_validate_json(data_of(item)) if item else Popularity()

    @translate_errors
    def save_popularity(self, popularity: Popularity, expected_version: int | None) -> None:
        self._put(
            _model_key(POPULAR),
            "reco_popular",
            popularity.model_dump_json(),
            popularity.version,
            expected_version,
        )

    @translate_errors
    def watermark(self) -> Watermark | None:
        item = self._get(WATERMARK)
        return Watermark.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def save_watermark(self, watermark: Watermark, expected_version: int | None) -> None:
        self._put(
            _model_key(WATERMARK),
            "reco_watermark",
            watermark.model_dump_json(),
            watermark.version,
            expected_version,
        )

    def _get(self, name: str) -> Item | None:
        response = self._db.get_item(TableName=self._table, Key=_model_key(name), ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    def _put(self, key: Item, entity: str, data: str, version: int, expected_version: int | None) -> None:
        item = {**key, **to_item({"entity": entity, "version": version, "data": data})}
        versioned_put(self._db, self._table, item, expected_version)
