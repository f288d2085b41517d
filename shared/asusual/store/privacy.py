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

from boto3.dynamodb.types import Binary

from asusual.delivery.records import DEFERRAL_HORIZON, release_bucket
from asusual.identity.models import Identifier
from asusual.privacy.models import ErasureRecord, Footprint, HeldItem
from asusual.profiles.derived import shard_of
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState
from asusual.store.dynamo import (
    BATCH_WRITE,
    Item,
    batch_get,
    batch_write,
    data_of,
    from_item,
    is_conditional_failure,
    item_key,
    query_all,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.messages import send_key
from asusual.store.profiles import (
    DynamoProfileRepository,
    UndecodableProfile,
    _claim_key,
    data_json,
    decode_json,
    marker_key,
    profile_from_item,
    suppression_item,
    suppression_key,
)
from asusual.store.recommendations import basket_key
from asusual.store.segments import DynamoSegmentRepository, counter_update, member_key
from asusual.store.tables import GSI1
from asusual.store.triggers import observation_key, order_key
from asusual.triggers.reminders import observation_id

INDEX_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk")
ERASURES_PK = "ERASURES"


def _erasure_key(erasure_id: str) -> Item:
    return item_key(f"ERASURE#{erasure_id}", "ERASURE")


def _erasure_item(record: ErasureRecord) -> Item:
    return {
        **_erasure_key(record.erasure_id),
        **to_item(
            {
                "entity": "erasure",
                "gsi1pk": ERASURES_PK,
                "gsi1sk": f"{utc_stamp(record.requested_at)}#{record.erasure_id}",
                "data": record.model_dump_json(),
            }
        ),
    }


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


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Every attribute of a decoded item but the keys; ``data`` decoded (JSON, or zlib-compressed
    JSON), ``expires_at`` as an ISO time."""
    out: dict[str, Any] = {}
    for name, value in sorted(values.items()):
        if name in INDEX_KEYS:
            continue
        if name == "data" and isinstance(value, Binary | str):
            try:
                out[name] = decode_json(data_json(value))
            except (ValueError, zlib.error):  # not JSON, or not even zlib: handed over as it is
                out[name] = bytes(value).hex() if isinstance(value, Binary) else value
        elif name == "expires_at" and isinstance(value, Decimal):
            out[name] = datetime.fromtimestamp(int(value), UTC).isoformat()
        else:
            out[name] = _jsonable(value)
    return out


def _held(item: Item, *, owner: str | None = None) -> HeldItem:
    values = from_item(item)
    kind = values.get("entity", "item")
    version = int(values["version"]) if kind == "profile" and "version" in values else None
    return HeldItem(
        kind=kind,
        pk=values["pk"],
        sk=values["sk"],
        attributes=_attributes(values),
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
    values = from_item(item)
    profile_id = values["pk"].removeprefix("PROFILE#")
    identifiers: set[Identifier] = set()
    try:
        text = data_json(values["data"]).decode("utf-8", errors="replace")
    except (KeyError, TypeError, zlib.error):
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
            add(_held(i) for i in self._get(send_key(k) for k in sends if k))
            add(_held(i) for i in self._query_index(f"ORDERS#{pid}"))
        claims = self._get(_claim_key(i) for i in footprint.identifiers)
        add(_held(c, owner=owner) for c in claims if (owner := from_item(c).get("profile_id")) in ids)
        orders = [_held(o) for o in self._get(order_key(o) for o in footprint.order_ids)]
        add(o for o in orders if o.attributes.get("data", {}).get("profile_id") in ids | {None})
        # her orders' baskets in the recommendations' log (products only, kept 14 days)
        add(_held(i) for i in self._get(basket_key(o) for o in footprint.order_ids))
        observations = [
            observation
            for pid in ids
            for product, at in footprint.purchases
            for observation in (observation_id(pid, product, at), f"{pid}#{product}#{at}")
        ]
        add(_held(i) for i in self._get(observation_key(o) for o in observations))
        markers = self._get(marker_key(m) for m in footprint.message_ids)
        # markers written before they stopped naming a profile (they expire after 30 days)
        add(_held(m) for m in markers if from_item(m).get("profile_id") in ids)
        add(self._deferred_of(ids, now))
        add(self._memberships_of(ids))
        return sorted(found.values(), key=lambda i: (i.kind, i.pk, i.sk))

    def _memberships_of(self, ids: frozenset[str]) -> list[HeldItem]:
        """Membership items live in their segment's partition: one key per (segment, profile),
        for every defined segment (deleting ones too), read in one BatchGetItem."""
        if not ids:
            return []
        segments = DynamoSegmentRepository(self._db, self._table).segments()
        keys = [member_key(s.segment_id, s.incarnation, pid) for s in segments for pid in sorted(ids)]
        return [_held(item, owner=str(from_item(item)["sk"]).removeprefix("M#")) for item in self._get(keys)]

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
            data = json.loads(data_of(item))
            if data.get("intent", {}).get("profile_id") in ids:
                mine.append(_held(item))
        return mine

    # -- deleting --------------------------------------------------------------------------
    @translate_errors
    def delete(self, items: list[HeldItem]) -> list[HeldItem]:
        deleted: list[HeldItem] = []
        plain: list[HeldItem] = []
        for item in items:
            if item.kind == "segment_member":
                if self._leave_segment(item):
                    deleted.append(item)
                continue
            if item.version is None and item.owner is None:
                plain.append(item)
                continue
            if item.version is not None:
                condition, values = "version = :v", to_values({":v": item.version})
            else:
                condition, values = "profile_id = :o", to_values({":o": str(item.owner)})
            try:
                self._db.delete_item(
                    TableName=self._table,
                    Key=item_key(item.pk, item.sk),
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # changed meanwhile: the next pass reads it again
            deleted.append(item)
        for start in range(0, len(plain), BATCH_WRITE):
            chunk = plain[start : start + BATCH_WRITE]
            requests = [{"DeleteRequest": {"Key": item_key(i.pk, i.sk)}} for i in chunk]
            batch_write(self._db, self._table, requests)
            deleted.extend(chunk)
        return deleted

    def _leave_segment(self, item: HeldItem) -> bool:
        """A membership goes with its segment's size counted down, in one transaction: the size
        stays the number of members. False when it was gone already."""
        _, segment_id, incarnation = item.pk.split("#", 2)
        profile_id = item.sk.removeprefix("M#")
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": item_key(item.pk, item.sk),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    counter_update(self._table, shard_of(profile_id), {f"{segment_id}#{incarnation}": -1}),
                ]
            )
        except self._db.exceptions.TransactionCanceledException as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    # -- suppressions and the audit --------------------------------------------------------
    @translate_errors
    def suppress(self, identifiers: set[Identifier], erasure_id: str, now: datetime) -> int:
        added = 0
        keys = self._profiles.suppression
        for hash_ in sorted(keys.current(i) for i in identifiers):
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item=suppression_item(hash_, erasure_id, now),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                added += 1
            except self._db.exceptions.ConditionalCheckFailedException:
                continue
        return added

    @translate_errors
    def suppressed_by(self, identifier: Identifier) -> str | None:
        for hash_ in self._profiles.suppression.matching(identifier):  # the current key first
            item = self._db.get_item(
                TableName=self._table, Key=suppression_key(hash_), ConsistentRead=True
            ).get("Item")
            if item:
                return str(from_item(item)["erasure_id"])
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
        self._db.put_item(TableName=self._table, Item=_erasure_item(record))

    @translate_errors
    def erasure(self, erasure_id: str) -> ErasureRecord | None:
        item = self._db.get_item(
            TableName=self._table, Key=_erasure_key(erasure_id), ConsistentRead=True
        ).get("Item")
        return ErasureRecord.model_validate_json(data_of(item)) if item else None

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, keys: Iterable[Item]) -> list[Item]:
        """The items of these keys that exist."""
        by_key = {(values["pk"], values["sk"]): k for k in keys for values in [from_item(k)]}
        ordered = [by_key[pk_sk] for pk_sk in sorted(by_key)]
        return batch_get(self._db, self._table, ordered) if ordered else []

    def _partition(self, pk: str) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=to_values({":p": pk}),
            ConsistentRead=True,
        )

    def _query_index(self, partition: str) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues=to_values({":p": partition}),
        )
