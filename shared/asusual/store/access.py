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
from asusual.access.origins import PublicOrigins
from asusual.access.service import CachedKeyLookup
from asusual.errors import Conflict, NotFound
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.dynamo import (
    Item,
    data_of,
    from_item,
    is_conditional_failure,
    item_key,
    to_item,
    to_values,
    translate_errors,
)

SOURCES_PK = "SOURCES"
KEYS_INDEX_PK = "APIKEYS"


def _key_key(key_hash: str) -> Item:
    return item_key(f"APIKEY#{key_hash}", "APIKEY")


def _key_item(api_key: ApiKey) -> Item:
    return {
        **_key_key(api_key.key_hash),
        **to_item(
            {
                "entity": "api_key",
                "data": api_key.model_dump_json(),
                "gsi1pk": KEYS_INDEX_PK,
                "gsi1sk": f"{api_key.scope}#{api_key.created_at.isoformat()}#{api_key.key_id}",
            }
        ),
    }


def _source_key(source_id: str) -> Item:
    return item_key(SOURCES_PK, f"SOURCE#{source_id}")


def _source_item(source: Source, key_hashes: list[str]) -> Item:
    """The source, with the hashes of its keys (a list, in the order they were issued)."""
    return {
        **_source_key(source.source_id),
        **to_item({"entity": "source", "data": source.model_dump_json(), "key_hashes": key_hashes}),
    }


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
        return ApiKey.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def get_source(self, source_id: str) -> Source | None:
        item = self._source_values(source_id)
        return Source.model_validate_json(item["data"]) if item else None

    @translate_errors
    def list_sources(self) -> list[Source]:
        return [
            Source.model_validate_json(item["data"])
            for item in self._query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_values({":pk": SOURCES_PK, ":prefix": "SOURCE#"}),
            )
        ]

    @translate_errors
    def list_keys(self) -> list[ApiKey]:
        return [
            ApiKey.model_validate_json(item["data"])
            for item in self._query(
                TableName=self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues=to_values({":pk": KEYS_INDEX_PK}),
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
                            "Item": _source_item(source, [key.key_hash]),
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
        source_item = self._require_source_values(source_id)
        updates = []
        for key_hash in source_item.get("key_hashes", []):
            old = self._key_values(key_hash)
            if old is None:
                continue
            key = ApiKey.model_validate_json(old["data"])
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
                        "ExpressionAttributeValues": to_values(
                            {":new": [new_key.key_hash], ":data": source_item["data"]}
                        ),
                    }
                },
                self._put_new_key(new_key),
                *updates,
            ],
            what=f"source {source_id!r} changed while rotating; retry",
        )

    @translate_errors
    def revoke_source(self, source_id: str) -> None:
        source_item = self._require_source_values(source_id)
        source = Source.model_validate_json(source_item["data"]).model_copy(update={"status": Status.REVOKED})
        updates = [self._replace_raw(source_item, source.model_dump_json())]
        for key_hash in source_item.get("key_hashes", []):
            old = self._key_values(key_hash)
            if old is not None:
                key = ApiKey.model_validate_json(old["data"])
                updates.append(self._replace_key(old, key.model_copy(update={"status": Status.REVOKED})))
        self._transact(updates, what=f"source {source_id!r} changed while revoking; retry")

    @translate_errors
    def revoke_key(self, key_hash: str) -> None:
        old = self._key_values(key_hash)
        if old is None:
            raise NotFound("key_id: no such key")
        key = ApiKey.model_validate_json(old["data"])
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
        """Replace the ``data`` of a decoded item, conditional on the ``data`` read."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": item_key(old_item["pk"], old_item["sk"]),
                "UpdateExpression": "SET #d = :new",
                "ConditionExpression": "#d = :old",
                "ExpressionAttributeNames": {"#d": "data"},
                "ExpressionAttributeValues": to_values({":new": data, ":old": old_item["data"]}),
            }
        }

    def _transact(self, items: list[dict[str, Any]], *, what: str) -> None:
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as exc:
            if is_conditional_failure(exc):
                raise Conflict(what) from exc
            raise

    def _source_values(self, source_id: str) -> dict[str, Any] | None:
        """The source's item, decoded."""
        item = self._db.get_item(TableName=self._table, Key=_source_key(source_id), ConsistentRead=True).get(
            "Item"
        )
        return from_item(item) if item else None

    def _require_source_values(self, source_id: str) -> dict[str, Any]:
        item = self._source_values(source_id)
        if item is None:
            raise NotFound(f"source_id: no source {source_id!r}")
        return item

    def _key_values(self, key_hash: str) -> dict[str, Any] | None:
        """The key's item, decoded."""
        item = self._db.get_item(TableName=self._table, Key=_key_key(key_hash), ConsistentRead=True).get(
            "Item"
        )
        return from_item(item) if item else None

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of the query, decoded."""
        items: list[dict[str, Any]] = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(**kwargs):
            items.extend(from_item(item) for item in page.get("Items", []))
        return items


def cached_key_lookup() -> CachedKeyLookup:
    """What every API function authenticates with: the table's keys, cached per container."""
    settings = get_settings()
    return CachedKeyLookup(
        DynamoAccessRepository(clients.dynamodb(), settings.table_name),
        ttl=timedelta(seconds=settings.key_cache_seconds),
        clock_now=clock.now,
    )


def public_origins() -> PublicOrigins:
    """The origins the active public sources allow, for the CORS of the routes pages call (a
    function keeps one in its cached dependencies): read again after the key cache's time, so a
    new or revoked source takes effect within it."""
    settings = get_settings()
    return PublicOrigins(
        DynamoAccessRepository(clients.dynamodb(), settings.table_name).list_sources,
        ttl=timedelta(seconds=settings.key_cache_seconds),
        clock_now=clock.now,
    )
