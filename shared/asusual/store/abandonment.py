"""Abandonment timers (docs/data-model.md).

Timer   pk=PROFILE#<profile_id>   sk=ABANDON#<cart|browse>   profile_id, kind, version, armed_at,
                                  reminded (JSON: cart id or product → when); while due
                                  also due, gsi1pk=ABANDON#<yyyy-mm-dd>, gsi1sk=<due>#<profile_id>#<kind>

The event processor arms a timer with one conditional UpdateItem (no read): the cart's only when
the activity is later than the one recorded, the browse timer only when no earlier due is pending.
The sweep settles it conditionally on the version it read. A timer outlives its last due by 60
days (TTL), long enough to remember the carts and products it reminded of.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from asusual.errors import Conflict
from asusual.store.dynamo import (
    Item,
    epoch_seconds,
    from_item,
    item_key,
    query_due,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.triggers.abandonment import Timer, TimerKind, due_bucket

KEPT_AFTER = timedelta(days=60)


def timer_key(profile_id: str, kind: TimerKind) -> Item:
    return item_key(f"PROFILE#{profile_id}", f"ABANDON#{kind.value}")


def _index_keys(profile_id: str, kind: TimerKind, due: datetime) -> dict[str, str]:
    return {":p": due_bucket(due), ":s": f"{utc_stamp(due)}#{profile_id}#{kind.value}"}


def timer_from_item(item: Mapping[str, Any]) -> Timer:
    values = from_item(item)
    due = values.get("due")
    return Timer(
        profile_id=str(values["profile_id"]),
        kind=TimerKind(values["kind"]),
        version=int(values.get("version", 0)),
        due=datetime.fromisoformat(due) if due else None,
        armed_at=datetime.fromisoformat(values["armed_at"]),
        reminded={
            k: datetime.fromisoformat(v) for k, v in json.loads(values.get("reminded") or "{}").items()
        },
    )


class DynamoTimerRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    @translate_errors
    def arm(self, profile_id: str, kind: TimerKind, at: datetime, due: datetime) -> bool:
        if kind is TimerKind.CART:
            condition = "attribute_not_exists(armed_at) OR armed_at < :a"
        else:
            condition = "attribute_not_exists(due) OR due > :due"
        try:
            self._db.update_item(
                TableName=self._table,
                Key=timer_key(profile_id, kind),
                UpdateExpression=(
                    "SET entity = :e, profile_id = :pid, #k = :k, armed_at = :a, due = :due, "
                    "gsi1pk = :p, gsi1sk = :s, expires_at = :x ADD version :one"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#k": "kind"},
                ExpressionAttributeValues=to_values(
                    {
                        ":e": "abandon_timer",
                        ":pid": profile_id,
                        ":k": kind.value,
                        ":a": utc_stamp(at),
                        ":due": utc_stamp(due),
                        **_index_keys(profile_id, kind, due),
                        ":x": epoch_seconds(due + KEPT_AFTER),
                        ":one": 1,
                    }
                ),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @translate_errors
    def timer(self, profile_id: str, kind: TimerKind) -> Timer | None:
        response = self._db.get_item(
            TableName=self._table, Key=timer_key(profile_id, kind), ConsistentRead=True
        )
        item = response.get("Item")
        return timer_from_item(item) if item else None

    @translate_errors
    def due_timers(self, bucket: str, until: datetime) -> list[Timer]:
        items = query_due(self._db, self._table, bucket, f"{utc_stamp(until)}#~")
        return [timer_from_item(item) for item in items]

    @translate_errors
    def settle(self, timer: Timer, due: datetime | None, reminded: Mapping[str, datetime]) -> None:
        values: dict[str, Any] = {
            ":v": timer.version,
            ":r": json.dumps({k: utc_stamp(v) for k, v in sorted(reminded.items())}),
            ":one": 1,
        }
        last = max([timer.armed_at, *reminded.values(), *([due] if due else [])])
        values[":x"] = epoch_seconds(last + KEPT_AFTER)
        if due is None:
            expression = "SET reminded = :r, expires_at = :x REMOVE due, gsi1pk, gsi1sk ADD version :one"
        else:
            expression = (
                "SET reminded = :r, expires_at = :x, due = :due, gsi1pk = :p, gsi1sk = :s ADD version :one"
            )
            values |= {":due": utc_stamp(due), **_index_keys(timer.profile_id, timer.kind, due)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=timer_key(timer.profile_id, timer.kind),
                UpdateExpression=expression,
                ConditionExpression="version = :v",
                ExpressionAttributeValues=to_values(values),
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict("the timer changed since it was read") from exc
