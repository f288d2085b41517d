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
from typing import Any

from asusual.errors import Conflict
from asusual.profiles.birthday import BirthdayEntry
from asusual.store.dynamo import batch_get, query_all, translate_errors
from asusual.store.tables import GSI1
from asusual.triggers.birthday import BirthdayCandidate
from asusual.triggers.orders import OrderRecord
from asusual.triggers.reminders import Reminder, ReminderStatus, due_bucket
from asusual.triggers.replenishment import IntervalStats


def _utc(instant: datetime) -> str:
    return f"{instant:%Y-%m-%dT%H:%M:%SZ}"


def birthday_key(profile_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "BIRTHDAY"}}


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
            "ExpressionAttributeValues": {
                ":e": {"S": "birthday"},
                ":p": {"S": f"BIRTHDAY#{entry.month_day}"},
                ":s": {"S": f"PROFILE#{profile_id}"},
                ":d": {"S": entry.model_dump_json()},
            },
        }
    }


def _stat_name(bucket: int) -> str:
    return f"b{bucket}"


class DynamoTriggerRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- orders ------------------------------------------------------------------------------
    @translate_errors
    def load_order(self, order_id: str) -> OrderRecord | None:
        response = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return OrderRecord.model_validate_json(item["data"]["S"]) if item else None

    @translate_errors
    def save_order(self, record: OrderRecord, expected_version: int | None) -> None:
        item = {
            "pk": {"S": f"ORDER#{record.order_id}"},
            "sk": {"S": "ORDER"},
            "entity": {"S": "order"},
            "version": {"N": str(record.version)},
            "data": {"S": record.model_dump_json()},
        }
        if record.profile_id:  # a customer's orders, for their access and erasure requests
            item["gsi1pk"] = {"S": f"ORDERS#{record.profile_id}"}
            item["gsi1sk"] = {"S": f"ORDER#{record.order_id}"}
        self._conditional_put(item, expected_version)

    # -- birthdays ---------------------------------------------------------------------------
    @translate_errors
    def birthdays_on(self, month_day: str) -> list[BirthdayCandidate]:
        candidates = []
        for item in self._query_index(f"BIRTHDAY#{month_day}"):
            year = item.get("congratulated_year")
            candidates.append(
                BirthdayCandidate(
                    profile_id=item["pk"]["S"].removeprefix("PROFILE#"),
                    entry=BirthdayEntry.model_validate_json(item["data"]["S"]),
                    congratulated_year=int(year["N"]) if year else None,
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
                ExpressionAttributeValues={":y": {"N": str(year)}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- reminders ---------------------------------------------------------------------------
    @translate_errors
    def reminder(self, profile_id: str, product_id: str) -> Reminder | None:
        response = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": f"REMIND#{product_id}"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Reminder.model_validate_json(item["data"]["S"]) if item else None

    @translate_errors
    def save_reminder(self, reminder: Reminder, expected_version: int | None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"PROFILE#{reminder.profile_id}"},
            "sk": {"S": f"REMIND#{reminder.product_id}"},
            "entity": {"S": "reminder"},
            "version": {"N": str(reminder.version)},
            "data": {"S": reminder.model_dump_json()},
        }
        if reminder.status is ReminderStatus.PENDING and reminder.remind_at is not None:
            # in the due index only while pending (a sparse index: sent ones cost nothing to sweep)
            item["gsi1pk"] = {"S": due_bucket(reminder.remind_at)}
            item["gsi1sk"] = {"S": f"{_utc(reminder.remind_at)}#{reminder.profile_id}#{reminder.product_id}"}
        self._conditional_put(item, expected_version)

    @translate_errors
    def due_reminders(self, bucket: str, until: datetime) -> list[Reminder]:
        items = self._query_index(bucket, until=f"{_utc(until)}#~")
        return [Reminder.model_validate_json(item["data"]["S"]) for item in items]

    # -- interval statistics -----------------------------------------------------------------
    @translate_errors
    def population(self, keys: Sequence[str]) -> dict[str, IntervalStats]:
        if not keys:
            return {}
        items = batch_get(
            self._db,
            self._table,
            [{"pk": {"S": f"STATS#{k}"}, "sk": {"S": "STATS"}} for k in keys],
        )
        stats = {}
        for item in items:
            counts = {
                int(name[1:]): int(value["N"])
                for name, value in item.items()
                if name.startswith("b") and "N" in value
            }
            stats[item["pk"]["S"].removeprefix("STATS#")] = IntervalStats.from_counts(counts)
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
                    "Item": {
                        "pk": {"S": f"OBS#{observation_id}"},
                        "sk": {"S": "OBS"},
                        "entity": {"S": "interval_observation"},
                        "days": {"N": f"{days:.4f}"},
                        "expires_at": {"N": str(int(expires_at.timestamp()))},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": f"STATS#{key}"}, "sk": {"S": "STATS"}},
                    "UpdateExpression": "SET entity = :e ADD n :one, #b :one",
                    "ExpressionAttributeNames": {"#b": _stat_name(bucket)},
                    "ExpressionAttributeValues": {":e": {"S": "interval_stats"}, ":one": {"N": "1"}},
                }
            }
            for key in keys
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
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": item}
        if expected_version is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        try:
            self._db.put_item(**kwargs)
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict("changed concurrently") from exc

    def _query_index(self, partition: str, until: str | None = None) -> Iterator[dict[str, Any]]:
        return query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p" + (" AND gsi1sk <= :u" if until else ""),
            ExpressionAttributeValues={":p": {"S": partition}, **({":u": {"S": until}} if until else {})},
        )
