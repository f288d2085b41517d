"""The interest index and the fan-out progress of back-in-stock and price-drop news
(asusual.triggers.stock; docs/data-model.md).

Interest   pk=PROFILE#<profile_id>  sk=INTEREST#<product_id>
           gsi1pk=INTEREST#<product_id>  gsi1sk=<at UTC>#<profile_id>   at, how, expires_at (at + window)
Fan-out    pk=FANOUT#<change_id>     sk=FANOUT   position, previous, updated_at, expires_at (+7 days)

An interest is written conditionally (``attribute_not_exists(pk) OR #at < :at``): an older view or
add never replaces a newer one. The fan-out reads a product's interests with a Query on gsi1
(``gsi1sk >= <window start>``, Limit, ExclusiveStartKey from the cursor), never a scan; its
progress moves conditionally on the position the page read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from asusual.profiles.model import Profile
from asusual.store.dynamo import (
    batch_get,
    epoch_seconds,
    item_key,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.profiles import profile_from_item
from asusual.store.tables import GSI1
from asusual.triggers.models import Interest

FANOUT_KEPT = timedelta(days=7)


def interest_partition(product_id: str) -> str:
    return f"INTEREST#{product_id}"


def _interest_key(profile_id: str, product_id: str) -> dict[str, Any]:
    return item_key(f"PROFILE#{profile_id}", f"INTEREST#{product_id}")


def _fanout_key(change_id: str) -> dict[str, Any]:
    return item_key(f"FANOUT#{change_id}", "FANOUT")


class DynamoInterestRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- the event processor's side (asusual.triggers.ports.InterestRecorder) --------------------
    @translate_errors
    def record_interest(self, interest: Interest, expires_at: datetime) -> bool:
        at = utc_stamp(interest.at)
        item = {
            **_interest_key(interest.profile_id, interest.product_id),
            **to_item(
                {
                    "entity": "interest",
                    "gsi1pk": interest_partition(interest.product_id),
                    "gsi1sk": f"{at}#{interest.profile_id}",
                    "at": at,
                    "how": interest.how,
                    "expires_at": epoch_seconds(expires_at),
                }
            ),
        }
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #at < :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues=to_values({":at": at}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- the stock worker's side (asusual.triggers.stock) ----------------------------------------
    @translate_errors
    def interested(
        self, product_id: str, since: datetime, limit: int, cursor: str | None
    ) -> tuple[list[Interest], str | None]:
        partition = interest_partition(product_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1.name,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk >= :since",
            "ExpressionAttributeValues": to_values({":p": partition, ":since": utc_stamp(since)}),
            "Limit": limit,
        }
        if cursor is not None:
            profile_id = cursor.split("#", 1)[1]
            request["ExclusiveStartKey"] = {
                **_interest_key(profile_id, product_id),
                **to_item({"gsi1pk": partition, "gsi1sk": cursor}),
            }
        response = self._db.query(**request)
        found = [
            Interest(
                profile_id=item["gsi1sk"]["S"].split("#", 1)[1],
                product_id=product_id,
                at=datetime.fromisoformat(item["at"]["S"]),
                how=item["how"]["S"],
            )
            for item in response.get("Items", [])
        ]
        last = response.get("LastEvaluatedKey")
        return found, last["gsi1sk"]["S"] if last else None

    @translate_errors
    def position(self, change_id: str) -> tuple[str, str] | None:
        item = self._db.get_item(
            TableName=self._table,
            Key=_fanout_key(change_id),
            ConsistentRead=True,
            ProjectionExpression="#p, previous",
            ExpressionAttributeNames={"#p": "position"},
        ).get("Item")
        if item is None:
            return None
        return item["position"]["S"], item["previous"]["S"]

    @translate_errors
    def advance(self, change_id: str, at: str | None, to: str, now: datetime) -> bool:
        condition = "attribute_not_exists(pk)" if at is None else "#p = :at"
        values: dict[str, Any] = {":to": to, ":prev": at or "", ":now": utc_stamp(now)}
        values[":exp"] = epoch_seconds(now + FANOUT_KEPT)
        if at is not None:
            values[":at"] = at
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_fanout_key(change_id),
                UpdateExpression="SET #p = :to, previous = :prev, updated_at = :now, expires_at = :exp",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#p": "position"},
                ExpressionAttributeValues=to_values(values),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True


class EventualProfiles:
    """The interested customers' profiles for a fan-out page, read eventually consistent (half the
    units of a consistent read: the page needs merges, consent and purchases, which a second's lag
    does not change; the dispatcher reads the profile again, consistently, before sending)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    @translate_errors
    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        keys = [item_key(f"PROFILE#{p}", "PROFILE") for p in sorted(profile_ids)]
        profiles = (
            profile_from_item(i) for i in batch_get(self._db, self._table, keys, "pk, #d", consistent=False)
        )
        return {p.profile_id: p for p in profiles}
