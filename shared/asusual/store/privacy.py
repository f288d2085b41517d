"""The items of a person, found from their footprint; suppressions and erasure audit records
(docs/data-model.md, docs/privacy.md).

Suppressed pk=SUPPRESS#<hmac>     sk=SUPPRESS   erasure_id, at (HMAC-SHA256 under the suppression key)
Erasure    pk=ERASURE#<id>        sk=ERASURE    data (JSON, no personal data);
                                  gsi1pk=ERASURES, gsi1sk=<requested_at>#<id>
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

from asusual.delivery.records import DEFERRAL_HORIZON, release_bucket
from asusual.errors import TransientError
from asusual.identity.models import Identifier
from asusual.privacy.models import ErasureRecord, Footprint, HeldItem
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState
from asusual.store.dynamo import batch_get, query_all, translate_errors, utc_stamp
from asusual.store.profiles import (
    DynamoProfileRepository,
    UndecodableProfile,
    data_json,
    decode_json,
    profile_from_item,
    suppression_key,
)
from asusual.store.tables import GSI1
from asusual.triggers.reminders import observation_id

BATCH_WRITE = 25  # BatchWriteItem's limit of requests per call
INDEX_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk")
_DESERIALIZER = TypeDeserializer()


def _erasure_key(erasure_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ERASURE#{erasure_id}"}, "sk": {"S": "ERASURE"}}


def _jsonable(value: Any) -> Any:
    """A deserialized attribute value as JSON-ready Python (numbers, lists, text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value).hex()
    if isinstance(value, set | frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _attributes(item: dict[str, Any]) -> dict[str, Any]:
    """Every attribute but the keys; ``data`` decoded (JSON, or zlib-compressed JSON)."""
    out: dict[str, Any] = {}
    for name, value in sorted(item.items()):
        if name in INDEX_KEYS:
            continue
        if name == "data" and ("B" in value or "S" in value):
            try:
                raw = data_json(value)
                out[name] = decode_json(raw)
            except (ValueError, zlib.error):  # not JSON, or not even zlib: handed over as it is
                out[name] = bytes(value["B"]).hex() if "B" in value else value["S"]
        elif name == "expires_at" and "N" in value:
            out[name] = datetime.fromtimestamp(int(value["N"]), UTC).isoformat()
        else:
            out[name] = _jsonable(_DESERIALIZER.deserialize(value))
    return out


def _held(item: dict[str, Any], *, owner: str | None = None) -> HeldItem:
    kind = item.get("entity", {}).get("S", "item")
    version = int(item["version"]["N"]) if kind == "profile" and "version" in item else None
    return HeldItem(
        kind=kind,
        pk=item["pk"]["S"],
        sk=item["sk"]["S"],
        attributes=_attributes(item),
        version=version,
        owner=owner,
    )


# how pydantic writes an identifier in a profile's JSON (compact, keys in field order)
_IDENTIFIER_JSON = re.compile(r'\{"kind":"([a-z0-9_]{1,40})","value":"((?:[^"\\]|\\.){1,512}?)"\}')
_SALVAGED_AT = datetime(1970, 1, 1, tzinfo=UTC)


def salvaged_profile(item: dict[str, Any]) -> Profile:
    """What an erasure can know of a profile item it cannot decode (corrupt, or not a profile):
    its id, and the identifiers its JSON text names, so their claims go and are suppressed with
    it. The erasure never depends on reading a profile."""
    profile_id = item["pk"]["S"].removeprefix("PROFILE#")
    identifiers: set[Identifier] = set()
    try:
        text = data_json(item["data"]).decode("utf-8", errors="replace")
    except (KeyError, zlib.error):
        text = ""
    for kind, value in _IDENTIFIER_JSON.findall(text):
        try:
            identifiers.add(Identifier(kind=kind, value=json.loads(f'"{value}"')))
        except ValueError:
            continue
    return Profile(
        profile_id=profile_id,
        created_at=_SALVAGED_AT,
        parts={profile_id: ProfileState(identifiers=frozenset(identifiers))},
    )


class _ErasableProfiles(DynamoProfileRepository):
    """Profiles as an erasure reads them: one that cannot be decoded is salvaged, not an error."""

    def _decode(self, item: dict[str, Any]) -> Profile:
        try:
            return profile_from_item(item)
        except UndecodableProfile:
            return salvaged_profile(item)


class DynamoPrivacyRepository:
    def __init__(self, client: Any, table_name: str, *, deferred_lookback: timedelta) -> None:
        self._db = client
        self._table = table_name
        self._profiles = _ErasableProfiles(client, table_name)
        self._deferred_lookback = deferred_lookback

    # -- the person ------------------------------------------------------------------------
    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]:
        return self._profiles.owners(identifiers)

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        return self._profiles.load(profile_ids)

    @translate_errors
    def held(self, footprint: Footprint, now: datetime) -> list[HeldItem]:
        ids = footprint.profile_ids
        found: dict[tuple[str, str], HeldItem] = {}

        def add(items: Iterable[HeldItem]) -> None:
            for item in items:
                found.setdefault((item.pk, item.sk), item)

        for pid in sorted(ids):
            add(_held(i) for i in self._partition(f"PROFILE#{pid}"))
            messages = [_held(i) for i in self._query_index(f"MSGLOG#{pid}")]
            add(messages)
            sends = {m.attributes["data"].get("send_once_key") for m in messages if "data" in m.attributes}
            add(_held(i) for i in self._get("SEND", (k for k in sends if k)))
            add(_held(i) for i in self._query_index(f"ORDERS#{pid}"))
        claims = self._get("ID", (f"{i.kind}#{i.value}" for i in footprint.identifiers))
        add(_held(c, owner=c["profile_id"]["S"]) for c in claims if c.get("profile_id", {}).get("S") in ids)
        orders = [_held(o) for o in self._get("ORDER", footprint.order_ids)]
        add(o for o in orders if o.attributes.get("data", {}).get("profile_id") in ids | {None})
        observations = [
            observation
            for pid in ids
            for product, at in footprint.purchases
            for observation in (observation_id(pid, product, at), f"{pid}#{product}#{at}")
        ]
        add(_held(i) for i in self._get("OBS", observations))
        markers = self._get("MSG", footprint.message_ids)
        # markers written before they stopped naming a profile (they expire after 30 days)
        add(_held(m) for m in markers if m.get("profile_id", {}).get("S") in ids)
        add(self._deferred_of(ids, now))
        return sorted(found.values(), key=lambda i: (i.kind, i.pk, i.sk))

    def _deferred_of(self, ids: frozenset[str], now: datetime) -> list[HeldItem]:
        """Deferred intents wait in hourly release partitions, never later than the horizon: every
        partition from the deferred sweep's lookback to the horizon is read (a few hundred small
        queries, in parallel)."""
        start = (now - self._deferred_lookback).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        hours = int((self._deferred_lookback + DEFERRAL_HORIZON) / timedelta(hours=1)) + 1
        buckets = [release_bucket(start + timedelta(hours=h)) for h in range(hours)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = list(pool.map(lambda b: list(self._query_index(b)), buckets))
        mine = []
        for item in (i for page in pages for i in page):
            data = json.loads(item["data"]["S"])
            if data.get("intent", {}).get("profile_id") in ids:
                mine.append(_held(item))
        return mine

    # -- deleting --------------------------------------------------------------------------
    @translate_errors
    def delete(self, items: list[HeldItem]) -> list[HeldItem]:
        deleted: list[HeldItem] = []
        plain: list[HeldItem] = []
        for item in items:
            key = {"pk": {"S": item.pk}, "sk": {"S": item.sk}}
            if item.version is None and item.owner is None:
                plain.append(item)
                continue
            if item.version is not None:
                condition, values = "version = :v", {":v": {"N": str(item.version)}}
            else:
                condition, values = "profile_id = :o", {":o": {"S": str(item.owner)}}
            try:
                self._db.delete_item(
                    TableName=self._table,
                    Key=key,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # changed meanwhile: the next pass reads it again
            deleted.append(item)
        for start in range(0, len(plain), BATCH_WRITE):
            chunk = plain[start : start + BATCH_WRITE]
            request = {
                self._table: [
                    {"DeleteRequest": {"Key": {"pk": {"S": i.pk}, "sk": {"S": i.sk}}}} for i in chunk
                ]
            }
            for _attempt in range(8):
                response = self._db.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
            if request:
                raise TransientError("the data store did not delete every item; retry")
            deleted.extend(chunk)
        return deleted

    # -- suppressions and the audit --------------------------------------------------------
    @translate_errors
    def suppress(self, identifiers: set[Identifier], erasure_id: str, now: datetime) -> int:
        added = 0
        keys = self._profiles.suppression
        for hash_ in sorted(keys.current(i) for i in identifiers):
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        **suppression_key(hash_),
                        "entity": {"S": "suppression"},
                        "erasure_id": {"S": erasure_id},
                        "at": {"S": utc_stamp(now)},
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
                added += 1
            except self._db.exceptions.ConditionalCheckFailedException:
                continue
        return added

    @translate_errors
    def suppressed_by(self, identifier: Identifier) -> str | None:
        for hash_ in self._profiles.suppression.matching(identifier):  # the current key first
            key = suppression_key(hash_)
            item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if item:
                return str(item["erasure_id"]["S"])
        return None

    @translate_errors
    def lift_suppression(self, identifier: Identifier) -> bool:
        lifted = False
        for hash_ in self._profiles.suppression.matching(identifier):  # under every key it may be
            try:
                self._db.delete_item(
                    TableName=self._table,
                    Key=suppression_key(hash_),
                    ConditionExpression="attribute_exists(pk)",
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue
            lifted = True
        return lifted

    @translate_errors
    def save_erasure(self, record: ErasureRecord) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                **_erasure_key(record.erasure_id),
                "entity": {"S": "erasure"},
                "gsi1pk": {"S": "ERASURES"},
                "gsi1sk": {"S": f"{utc_stamp(record.requested_at)}#{record.erasure_id}"},
                "data": {"S": record.model_dump_json()},
            },
        )

    @translate_errors
    def erasure(self, erasure_id: str) -> ErasureRecord | None:
        item = self._db.get_item(
            TableName=self._table, Key=_erasure_key(erasure_id), ConsistentRead=True
        ).get("Item")
        return ErasureRecord.model_validate_json(item["data"]["S"]) if item else None

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, kind: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The items ``pk=<kind>#<id>, sk=<kind>`` that exist."""
        keys = [{"pk": {"S": f"{kind}#{i}"}, "sk": {"S": kind}} for i in sorted(set(ids))]
        return batch_get(self._db, self._table, keys) if keys else []

    def _partition(self, pk: str) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
            ConsistentRead=True,
        )

    def _query_index(self, partition: str) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
        )
