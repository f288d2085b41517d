"""Orders, birthday index entries, replenishment reminders and interval statistics
(docs/data-model.md).

Order      pk=ORDER#<order_id>         sk=ORDER            version, data
Birthday   pk=PROFILE#<profile_id>     sk=BIRTHDAY         gsi1pk=BIRTHDAY#<MM-DD>, gsi1sk=PROFILE#<id>,
                                                           data, congratulated_year
Reminder   pk=PROFILE#<profile_id>     sk=REMIND#<product> version, data; while pending
                                                           gsi1pk=DUE#<yyyy-mm-dd>, gsi1sk=<due>#<id>
Stats      pk=STATS#<level>#<value>    sk=STATS            n, b<bucket> (counters)
Observed   pk=OBS#<observation id>     sk=OBS              expires_at (TTL)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from asusual.errors import Conflict
from asusual.profiles.birthday import BirthdayEntry
from asusual.store.dynamo import (
    Item,
    batch_get,
    data_of,
    epoch_seconds,
    from_item,
    item_key,
    query_all,
    to_item,
    to_values,
    translate_errors,
    versioned_put,
)
from asusual.store.tables import GSI1
from asusual.triggers.birthday import BirthdayCandidate
from asusual.triggers.orders import OrderRecord
from asusual.triggers.reminders import Reminder, ReminderStatus, due_bucket
from asusual.triggers.replenishment import IntervalStats


def _utc(instant: datetime) -> str:
    return f"{instant:%Y-%m-%dT%H:%M:%SZ}"


def birthday_key(profile_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", "BIRTHDAY")


def birthday_write(table: str, profile_id: str, entry: BirthdayEntry | None) -> dict[str, Any]:
    """The transaction item that writes (or removes) a profile's birthday index entry; an update,
    so the year already congratulated survives a change of timezone or consent."""
    if entry is None:
        return {"Delete": {"TableName": table, "Key": birthday_key(profile_id)}}
    return {
        "Update": {
            "TableName": table,
            "Key": birthday_key(profile_id),
            "UpdateExpression": "SET entity = :e, gsi1pk = :p, gsi1sk = :s, #d = :d",
            "ExpressionAttributeNames": {"#d": "data"},
            "ExpressionAttributeValues": to_values(
                {
                    ":e": "birthday",
                    ":p": f"BIRTHDAY#{entry.month_day}",
                    ":s": f"PROFILE#{profile_id}",
                    ":d": entry.model_dump_json(),
                }
            ),
        }
    }


def order_key(order_id: str) -> Item:
    return item_key(f"ORDER#{order_id}", "ORDER")


def _order_item(record: OrderRecord) -> Item:
    customer = record.profile_id  # a customer's orders are indexed, for their access and erasure
    return {
        **order_key(record.order_id),
        **to_item(
            {
                "entity": "order",
                "version": record.version,
                "data": record.model_dump_json(),
                "gsi1pk": f"ORDERS#{customer}" if customer else None,
                "gsi1sk": f"ORDER#{record.order_id}" if customer else None,
            }
        ),
    }


def _reminder_key(profile_id: str, product_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", f"REMIND#{product_id}")


def _reminder_item(reminder: Reminder) -> Item:
    # in the due index only while pending (a sparse index: sent ones cost nothing to sweep)
    due = reminder.remind_at if reminder.status is ReminderStatus.PENDING else None
    return {
        **_reminder_key(reminder.profile_id, reminder.product_id),
        **to_item(
            {
                "entity": "reminder",
                "version": reminder.version,
                "data": reminder.model_dump_json(),
                "gsi1pk": due_bucket(due) if due else None,
                "gsi1sk": f"{_utc(due)}#{reminder.profile_id}#{reminder.product_id}" if due else None,
            }
        ),
    }


def observation_key(observation_id: str) -> Item:
    return item_key(f"OBS#{observation_id}", "OBS")


def _observation_item(observation_id: str, days: float, expires_at: datetime) -> Item:
    return {
        **observation_key(observation_id),
        **to_item(
            {
                "entity": "interval_observation",
                "days": Decimal(f"{days:.4f}"),  # four decimals, as always stored
                "expires_at": epoch_seconds(expires_at),
            }
        ),
    }


def _stats_key(level: str) -> Item:
    return item_key(f"STATS#{level}", "STATS")


def _stat_name(bucket: int) -> str:
    return f"b{bucket}"


class DynamoTriggerRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- orders ------------------------------------------------------------------------------
    @translate_errors
    def load_order(self, order_id: str) -> OrderRecord | None:
        response = self._db.get_item(TableName=self._table, Key=order_key(order_id), ConsistentRead=True)
        item = response.get("Item")
        return OrderRecord.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def save_order(self, record: OrderRecord, expected_version: int | None) -> None:
        self._conditional_put(_order_item(record), expected_version)

    # -- birthdays ---------------------------------------------------------------------------
    @translate_errors
    def birthdays_on(self, month_day: str) -> list[BirthdayCandidate]:
        candidates = []
        for item in self._query_index(f"BIRTHDAY#{month_day}"):
            values = from_item(item)
            year = values.get("congratulated_year")
            candidates.append(
                BirthdayCandidate(
                    profile_id=values["pk"].removeprefix("PROFILE#"),
                    entry=BirthdayEntry.model_validate_json(values["data"]),
                    congratulated_year=int(year) if year is not None else None,
                )
            )
        return candidates

    @translate_errors
    def mark_congratulated(self, profile_id: str, year: int) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=birthday_key(profile_id),
                UpdateExpression="SET congratulated_year = :y",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(congratulated_year) OR congratulated_year < :y)",
                ExpressionAttributeValues=to_values({":y": year}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- reminders ---------------------------------------------------------------------------
    @translate_errors
    def reminder(self, profile_id: str, product_id: str) -> Reminder | None:
        response = self._db.get_item(
            TableName=self._table, Key=_reminder_key(profile_id, product_id), ConsistentRead=True
        )
        item = response.get("Item")
        return Reminder.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def save_reminder(self, reminder: Reminder, expected_version: int | None) -> None:
        self._conditional_put(_reminder_item(reminder), expected_version)

    @translate_errors
    def due_reminders(self, bucket: str, until: datetime) -> list[Reminder]:
        items = self._query_index(bucket, until=f"{_utc(until)}#~")
        return [Reminder.model_validate_json(data_of(item)) for item in items]

    # -- interval statistics -----------------------------------------------------------------
    @translate_errors
    def population(self, keys: Sequence[str]) -> dict[str, IntervalStats]:
        if not keys:
            return {}
        items = batch_get(self._db, self._table, [_stats_key(k) for k in keys])
        stats = {}
        for item in items:
            values = from_item(item)
            counts = {
                int(name[1:]): int(value)
                for name, value in values.items()
                if name.startswith("b") and isinstance(value, Decimal)
            }
            stats[values["pk"].removeprefix("STATS#")] = IntervalStats.from_counts(counts)
        return stats

    @translate_errors
    def record_interval(
        self, observation_id: str, keys: Sequence[str], days: float, expires_at: datetime
    ) -> bool:
        bucket = IntervalStats.bucket(days)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _observation_item(observation_id, days, expires_at),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _stats_key(level),
                    "UpdateExpression": "SET entity = :e ADD n :one, #b :one",
                    "ExpressionAttributeNames": {"#b": _stat_name(bucket)},
                    "ExpressionAttributeValues": to_values({":e": "interval_stats", ":one": 1}),
                }
            }
            for level in keys
        ]
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # counted before (a redelivered event)
            if "TransactionConflict" in reasons:
                raise Conflict("interval statistics changed concurrently") from exc
            raise
        return True

    # -- helpers -----------------------------------------------------------------------------
    def _conditional_put(self, item: dict[str, Any], expected_version: int | None) -> None:
        versioned_put(self._db, self._table, item, expected_version)

    def _query_index(self, partition: str, until: str | None = None) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p" + (" AND gsi1sk <= :u" if until else ""),
            ExpressionAttributeValues=to_values({":p": partition, **({":u": until} if until else {})}),
        )
