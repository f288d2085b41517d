"""Segment definitions, memberships, size counters, due entries and the profile directory
(docs/data-model.md).

Definition pk=SEGMENTS                      sk=SEGMENT#<segment_id>  revision, status, incarnation, data
Membership pk=SEGMENT#<segment_id>#<inc>    sk=M#<profile_id>        data: profile_id, since, rule_version,
                                                                     zones, country, locale
Counter    pk=SEGCOUNT#<0..15>              sk=SEGCOUNT              '<segment_id>#<inc>': members (N)
Due entry  pk=PROFILE#<profile_id>          sk=SEGDUE                due; gsi1pk=SEGDUE#<yyyy-mm-ddThh>,
                                                                     gsi1sk=<due UTC>#<profile_id>
Directory  pk=PROFILE#<profile_id>          sk=DIR                   gsi1pk=PROFILES#<0..15>,
                                                                     gsi1sk=<profile_id>

Memberships, counters and due entries change only in a profile's own transaction
(:func:`segment_writes`, used by ``DynamoProfileRepository.commit``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from asusual import clock
from asusual.errors import Conflict, NotFound
from asusual.profiles.derived import (
    COUNTER_SHARDS,
    DIRECTORY_SHARDS,
    MemberRecord,
    SegmentWrites,
    shard_of,
)
from asusual.profiles.view import TenurePolicy
from asusual.segments.evaluate import EvalContext, MemberWords
from asusual.segments.jobs import due_bucket
from asusual.segments.live import CachedDefinitions, LiveMembership, rule_evaluator
from asusual.segments.models import Segment, SegmentStatus
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.dynamo import (
    Item,
    batch_get,
    from_item,
    item_key,
    query_all,
    query_due,
    to_item,
    to_values,
    translate_errors,
)
from asusual.store.tables import GSI1

SEGMENTS_PK = "SEGMENTS"  # the definitions' partition (infra grants Query on it alone)
BATCH_WRITE = 25


def _utc(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


# -- definitions ---------------------------------------------------------------------------------
def definition_key(segment_id: str) -> Item:
    return item_key(SEGMENTS_PK, f"SEGMENT#{segment_id}")


def definition_item(segment: Segment) -> Item:
    return {
        **definition_key(segment.segment_id),
        **to_item(
            {
                "entity": "segment",
                "revision": segment.revision,
                "status": segment.status.value,
                "incarnation": segment.incarnation,
                "data": segment.model_dump_json(exclude={"revision"}),
            }
        ),
    }


def segment_from_item(item: dict[str, Any]) -> Segment:
    values = from_item(item)
    return Segment.model_validate({**json.loads(values["data"]), "revision": int(values["revision"])})


# -- memberships ---------------------------------------------------------------------------------
def member_pk(segment_id: str, incarnation: str) -> str:
    return f"SEGMENT#{segment_id}#{incarnation}"


def member_key(segment_id: str, incarnation: str, profile_id: str) -> Item:
    return item_key(member_pk(segment_id, incarnation), f"M#{profile_id}")


def member_item(record: MemberRecord) -> Item:
    data = {
        "profile_id": record.profile_id,
        "since": record.since.isoformat(),
        "rule_version": record.rule_version,
        "zones": list(record.zones),
        "country": record.country,
        "locale": record.locale,
    }
    return {
        **member_key(record.segment_id, record.incarnation, record.profile_id),
        **to_item({"entity": "segment_member", "data": json.dumps(data, sort_keys=True)}),
    }


def member_from_item(item: dict[str, Any]) -> MemberRecord:
    values = from_item(item)
    _, segment_id, incarnation = values["pk"].split("#", 2)
    data = json.loads(values["data"])
    return MemberRecord(
        segment_id=segment_id,
        incarnation=incarnation,
        profile_id=data["profile_id"],
        since=datetime.fromisoformat(data["since"]),
        rule_version=int(data["rule_version"]),
        zones=tuple(data.get("zones") or ()),
        country=data.get("country"),
        locale=data.get("locale"),
    )


# -- counters, due entries, directory ------------------------------------------------------------
def counter_key(shard: int) -> Item:
    return item_key(f"SEGCOUNT#{shard}", "SEGCOUNT")


def counter_update(table: str, shard: int, deltas: dict[str, int]) -> dict[str, Any]:
    """One Update of a counter shard: ADD each changed segment's delta (a transaction may not
    touch an item twice, so every segment of the shard goes in one)."""
    names = {f"#c{i}": counter for i, counter in enumerate(sorted(deltas))}
    adds = ", ".join(f"#c{i} :d{i}" for i in range(len(names)))
    values = {f":d{i}": deltas[counter] for i, counter in enumerate(sorted(deltas))}
    return {
        "Update": {
            "TableName": table,
            "Key": counter_key(shard),
            "UpdateExpression": f"SET entity = :e ADD {adds}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_values({":e": "segment_counter", **values}),
        }
    }


def due_key(profile_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", "SEGDUE")


def due_item(profile_id: str, due: datetime) -> Item:
    return {
        **due_key(profile_id),
        **to_item(
            {
                "entity": "segment_due",
                "due": _utc(due),
                "gsi1pk": due_bucket(due.astimezone(UTC)),
                "gsi1sk": f"{_utc(due)}#{profile_id}",
            }
        ),
    }


def directory_key(profile_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", "DIR")


def directory_item(profile_id: str) -> Item:
    return {
        **directory_key(profile_id),
        **to_item(
            {
                "entity": "profile_directory",
                "gsi1pk": f"PROFILES#{shard_of(profile_id, DIRECTORY_SHARDS)}",
                "gsi1sk": profile_id,
            }
        ),
    }


def segment_writes(table: str, writes: SegmentWrites, listed: list[str]) -> list[dict[str, Any]]:
    """The transaction items of a profile write's segment changes and directory entries."""
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": member_item(record)}} for record in writes.put
    ]
    items += [
        {"Delete": {"TableName": table, "Key": member_key(k.segment_id, k.incarnation, k.profile_id)}}
        for k in writes.delete
    ]
    items += [
        counter_update(table, shard, deltas) for shard, deltas in sorted(writes.counts.items()) if deltas
    ]
    for profile_id, due in sorted(writes.due.items()):
        if due is None:
            items.append({"Delete": {"TableName": table, "Key": due_key(profile_id)}})
        else:
            items.append({"Put": {"TableName": table, "Item": due_item(profile_id, due)}})
    items += [{"Put": {"TableName": table, "Item": directory_item(pid)}} for pid in listed]
    return items


class DynamoSegmentRepository:
    """Definitions (asusual.segments.service.SegmentRepository), the pages the worker reads and
    deletes, and the due index the sweep reads."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- definitions -------------------------------------------------------------------------
    @translate_errors
    def segments(self) -> list[Segment]:
        items = query_all(
            self._db,
            TableName=self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues=to_values({":p": SEGMENTS_PK, ":s": "SEGMENT#"}),
            ConsistentRead=True,
        )
        return [segment_from_item(item) for item in items]

    @translate_errors
    def segment(self, segment_id: str) -> Segment | None:
        response = self._db.get_item(
            TableName=self._table, Key=definition_key(segment_id), ConsistentRead=True
        )
        item = response.get("Item")
        return segment_from_item(item) if item else None

    @translate_errors
    def create(self, segment: Segment) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=definition_item(segment),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(f"segment {segment.segment_id!r} exists") from exc

    @translate_errors
    def save(self, segment: Segment, expected_revision: int) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=definition_item(segment),
                ConditionExpression="revision = :r",
                ExpressionAttributeValues=to_values({":r": expected_revision}),
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(f"segment {segment.segment_id!r} changed meanwhile") from exc

    @translate_errors
    def sizes(self) -> dict[str, int]:
        items = batch_get(self._db, self._table, [counter_key(s) for s in range(COUNTER_SHARDS)])
        sizes: dict[str, int] = {}
        for item in items:
            for name, value in from_item(item).items():
                if name not in ("pk", "sk", "entity"):
                    sizes[name] = sizes.get(name, 0) + int(value)
        return sizes

    # -- members -----------------------------------------------------------------------------
    @translate_errors
    def members_page(
        self, segment_id: str, limit: int = 100, cursor: str | None = None, *, incarnation: str | None = None
    ) -> tuple[list[MemberRecord], str | None]:
        """Up to ``limit`` membership items of the live segment, in profile id order after
        ``cursor`` (the last profile id of the page before), and the cursor of the next page (None:
        no more). Campaign planning reads these, never the profiles. ``incarnation``: the one the
        caller read (else the definition is read; NotFound unless it is live)."""
        if incarnation is None:
            segment = self.segment(segment_id)
            if segment is None or not segment.live:
                raise NotFound(f"segment_id: no segment {segment_id!r}")
            incarnation = segment.incarnation
        pk = member_pk(segment_id, incarnation)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "ExpressionAttributeValues": to_values({":p": pk, ":m": "M#"}),
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = member_key(segment_id, incarnation, cursor)
        response = self._db.query(**request)
        records = [member_from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return records, (from_item(last)["sk"].removeprefix("M#") if last else None)

    # -- the worker --------------------------------------------------------------------------
    @translate_errors
    def directory_page(self, shard: int, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        condition = "gsi1pk = :p" + (" AND gsi1sk > :c" if cursor else "")
        values: dict[str, Any] = {":p": f"PROFILES#{shard}", **({":c": cursor} if cursor else {})}
        response = self._db.query(
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_values(values),
            ProjectionExpression="gsi1sk",
            Limit=limit,
        )
        ids = [str(from_item(item)["gsi1sk"]) for item in response.get("Items", [])]
        return ids, (ids[-1] if ids and "LastEvaluatedKey" in response else None)

    @translate_errors
    def delete_members(self, segment_id: str, incarnation: str, limit: int) -> tuple[int, bool]:
        response = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=to_values({":p": member_pk(segment_id, incarnation)}),
            ProjectionExpression="pk, sk",
            Limit=limit,
        )
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in response.get("Items", [])]
        for start in range(0, len(keys), BATCH_WRITE):
            request = {
                self._table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH_WRITE]]
            }
            for _attempt in range(8):
                answer = self._db.batch_write_item(RequestItems=request)
                request = answer.get("UnprocessedItems") or {}
                if not request:
                    break
            if request:
                raise Conflict("the data store did not delete every membership; retry")
        return len(keys), "LastEvaluatedKey" in response

    @translate_errors
    def drop(self, segment: Segment) -> None:
        for shard in range(COUNTER_SHARDS):
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=counter_key(shard),
                    UpdateExpression="REMOVE #c",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={"#c": segment.counter},
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # no counter shard yet: nothing to remove
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=definition_key(segment.segment_id),
                ConditionExpression="#s = :deleting AND incarnation = :i",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_values(
                    {":deleting": SegmentStatus.DELETING.value, ":i": segment.incarnation}
                ),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return  # dropped already (a replayed last page)

    # -- the sweep ---------------------------------------------------------------------------
    @translate_errors
    def due_profiles(self, bucket: str, until: datetime) -> list[str]:
        items = query_due(self._db, self._table, bucket, f"{_utc(until)}#~", ProjectionExpression="pk")
        return [str(from_item(item)["pk"]).removeprefix("PROFILE#") for item in items]


def cached_definitions(repo: DynamoSegmentRepository | None = None) -> CachedDefinitions:
    """The definitions as a function keeps them in its cached dependencies (the processor, the
    profile and decide views): read again after ``ASUSUAL_SEGMENT_CACHE_SECONDS``."""
    settings = get_settings()
    repo = repo or DynamoSegmentRepository(clients.dynamodb(), settings.table_name)
    return CachedDefinitions(repo.segments, ttl=timedelta(seconds=settings.segment_cache_seconds))


def live_membership(definitions: Callable[[], Sequence[Segment]]) -> LiveMembership:
    """The segment hook over ``definitions``, with this deployment's country and tenure."""
    settings = get_settings()
    tenure = TenurePolicy(
        returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
    )
    return LiveMembership(
        definitions,
        rule_evaluator(settings.default_country, tenure),
        default_country=settings.default_country,
        grace=timedelta(seconds=settings.segment_mark_grace_seconds),
    )


def member_words(definitions: Callable[[], Sequence[Segment]] | None = None) -> MemberWords:
    """Why a member is in a segment, in words, with this deployment's country and tenure, from
    the definitions as this function caches them."""
    settings = get_settings()
    tenure = TenurePolicy(
        returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
    )
    context = EvalContext(default_country=settings.default_country, tenure=tenure)
    return MemberWords(definitions or cached_definitions(), context, clock.now)
