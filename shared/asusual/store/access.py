"""Sources and API keys in the main table (docs/data-model.md).

    Source   pk=SOURCES        sk=SOURCE#<source_id>   data, key_hashes
    ApiKey   pk=APIKEY#<sha256> sk=APIKEY               data, gsi1pk=APIKEYS gsi1sk=<scope>#<created>#<key_id>

Models are stored whole as JSON in ``data``; every change of an existing item is conditional on
the ``data`` read (optimistic), and multi-item changes are one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from asusual import clock
from asusual.access.models import ApiKey, Source, Status
from asusual.access.service import CachedKeyLookup
from asusual.errors import Conflict, NotFound
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.dynamo import is_conditional_failure, translate_errors

SOURCES_PK = "SOURCES"
KEYS_INDEX_PK = "APIKEYS"


def _key_item(key: ApiKey) -> dict[str, Any]:
    return {
        "pk": {"S": f"APIKEY#{key.key_hash}"},
        "sk": {"S": "APIKEY"},
        "entity": {"S": "api_key"},
        "data": {"S": key.model_dump_json()},
        "gsi1pk": {"S": KEYS_INDEX_PK},
        "gsi1sk": {"S": f"{key.scope}#{key.created_at.isoformat()}#{key.key_id}"},
    }


def _source_key(source_id: str) -> dict[str, Any]:
    return {"pk": {"S": SOURCES_PK}, "sk": {"S": f"SOURCE#{source_id}"}}


def _key_key(key_hash: str) -> dict[str, Any]:
    return {"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": "APIKEY"}}


class DynamoAccessRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- lookups ---------------------------------------------------------------------------
    @translate_errors
    def find_key(self, key_hash: str) -> ApiKey | None:
        item = self._db.get_item(TableName=self._table, Key=_key_key(key_hash), ConsistentRead=True).get(
            "Item"
        )
        return ApiKey.model_validate_json(item["data"]["S"]) if item else None

    @translate_errors
    def get_source(self, source_id: str) -> Source | None:
        item = self._get_source_item(source_id)
        return Source.model_validate_json(item["data"]["S"]) if item else None

    @translate_errors
    def list_sources(self) -> list[Source]:
        return [
            Source.model_validate_json(item["data"]["S"])
            for item in self._query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": SOURCES_PK}, ":prefix": {"S": "SOURCE#"}},
            )
        ]

    @translate_errors
    def list_keys(self) -> list[ApiKey]:
        return [
            ApiKey.model_validate_json(item["data"]["S"])
            for item in self._query(
                TableName=self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": KEYS_INDEX_PK}},
            )
        ]

    # -- changes ---------------------------------------------------------------------------
    @translate_errors
    def create_source(self, source: Source, key: ApiKey) -> None:
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **_source_key(source.source_id),
                                "entity": {"S": "source"},
                                "data": {"S": source.model_dump_json()},
                                "key_hashes": {"L": [{"S": key.key_hash}]},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self._put_new_key(key),
                ]
            )
        except self._db.exceptions.TransactionCanceledException as exc:
            raise Conflict(f"source_id: a source {source.source_id!r} already exists") from exc

    @translate_errors
    def add_key(self, key: ApiKey) -> None:
        self._db.transact_write_items(TransactItems=[self._put_new_key(key)])

    @translate_errors
    def rotate_source_key(self, source_id: str, new_key: ApiKey, expire_at: datetime) -> None:
        source_item = self._require_source_item(source_id)
        hashes = [h["S"] for h in source_item.get("key_hashes", {}).get("L", [])]
        updates = []
        for key_hash in hashes:
            old = self._key_item_raw(key_hash)
            if old is None:
                continue
            key = ApiKey.model_validate_json(old["data"]["S"])
            if key.status is Status.ACTIVE and (key.not_after is None or key.not_after > expire_at):
                updates.append(self._replace_key(old, key.model_copy(update={"not_after": expire_at})))
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _source_key(source_id),
                        "UpdateExpression": "SET key_hashes = list_append(key_hashes, :new)",
                        "ConditionExpression": "#d = :data",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {
                            ":new": {"L": [{"S": new_key.key_hash}]},
                            ":data": source_item["data"],
                        },
                    }
                },
                self._put_new_key(new_key),
                *updates,
            ],
            what=f"source {source_id!r} changed while rotating; retry",
        )

    @translate_errors
    def revoke_source(self, source_id: str) -> None:
        source_item = self._require_source_item(source_id)
        source = Source.model_validate_json(source_item["data"]["S"]).model_copy(
            update={"status": Status.REVOKED}
        )
        updates = [self._replace_raw(source_item, source.model_dump_json())]
        for h in source_item.get("key_hashes", {}).get("L", []):
            old = self._key_item_raw(h["S"])
            if old is not None:
                key = ApiKey.model_validate_json(old["data"]["S"])
                updates.append(self._replace_key(old, key.model_copy(update={"status": Status.REVOKED})))
        self._transact(updates, what=f"source {source_id!r} changed while revoking; retry")

    @translate_errors
    def revoke_key(self, key_hash: str) -> None:
        old = self._key_item_raw(key_hash)
        if old is None:
            raise NotFound("key_id: no such key")
        key = ApiKey.model_validate_json(old["data"]["S"])
        self._transact(
            [self._replace_key(old, key.model_copy(update={"status": Status.REVOKED}))],
            what="key changed while revoking; retry",
        )

    # -- helpers ---------------------------------------------------------------------------
    def _put_new_key(self, key: ApiKey) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": _key_item(key),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _replace_key(self, old_item: dict[str, Any], key: ApiKey) -> dict[str, Any]:
        return self._replace_raw(old_item, key.model_dump_json())

    def _replace_raw(self, old_item: dict[str, Any], data: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": old_item["pk"], "sk": old_item["sk"]},
                "UpdateExpression": "SET #d = :new",
                "ConditionExpression": "#d = :old",
                "ExpressionAttributeNames": {"#d": "data"},
                "ExpressionAttributeValues": {":new": {"S": data}, ":old": old_item["data"]},
            }
        }

    def _transact(self, items: list[dict[str, Any]], *, what: str) -> None:
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as exc:
            if is_conditional_failure(exc):
                raise Conflict(what) from exc
            raise

    def _get_source_item(self, source_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._db.get_item(
            TableName=self._table, Key=_source_key(source_id), ConsistentRead=True
        ).get("Item")
        return item

    def _require_source_item(self, source_id: str) -> dict[str, Any]:
        item = self._get_source_item(source_id)
        if item is None:
            raise NotFound(f"source_id: no source {source_id!r}")
        return item

    def _key_item_raw(self, key_hash: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._db.get_item(
            TableName=self._table, Key=_key_key(key_hash), ConsistentRead=True
        ).get("Item")
        return item

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(**kwargs):
            items.extend(page.get("Items", []))
        return items


def cached_key_lookup() -> CachedKeyLookup:
    """What every API function authenticates with: the table's keys, cached per container."""
    settings = get_settings()
    return CachedKeyLookup(
        DynamoAccessRepository(clients.dynamodb(), settings.table_name),
        ttl=timedelta(seconds=settings.key_cache_seconds),
        clock_now=clock.now,
    )
