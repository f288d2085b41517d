"""Send-once records, the message log, the caps ledger, deferred intents and the day's sticky
decisions (docs/data-model.md).

SendOnce  pk=SEND#<send_once_key>          sk=SEND          message_id, status
Message   pk=MESSAGE#<message_id>          sk=MESSAGE       data, status;
                                   gsi1pk=MSGLOG#<profile_id>, gsi1sk=<created>#<id>
Caps      pk=PROFILE#<profile_id>          sk=CAPS          version, data
Deferred  pk=DEFER#<intent_id>             sk=DEFER         data, release_at;
                                   gsi1pk=DEFER#<yyyy-mm-ddThh>, gsi1sk=<release>#<id>
DayOffer  pk=PROFILE#<profile_id>          sk=DAY#<date>#OFFER            data, expires_at
DayPrice  pk=PROFILE#<profile_id>          sk=DAY#<date>#PRICE#<product>  data, expires_at
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from asusual.catalog.models import PricedProduct
from asusual.delivery.records import (
    CapsLedger,
    DayWrites,
    Deferred,
    DispatchReadRequest,
    DispatchSnapshot,
    MessageRecord,
    MessageStatus,
    ReserveOutcome,
    release_bucket,
)
from asusual.offers.models import DayOffer, DayPrice
from asusual.settings import get_settings
from asusual.store.catalog import _product_key, product_from_item
from asusual.store.dynamo import (
    Item,
    batch_get,
    data_of,
    epoch_seconds,
    from_item,
    item_key,
    query_all,
    query_due,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.profiles import _profile_key, profile_from_item
from asusual.store.tables import GSI1

DAY_ITEMS_DAYS = 3


def send_key(send_once_key: str) -> Item:
    return item_key(f"SEND#{send_once_key}", "SEND")


def _send_item(record: MessageRecord) -> Item:
    return {
        **send_key(record.send_once_key),
        **to_item({"entity": "send_once", "message_id": record.message_id, "status": record.status.value}),
    }


def _message_key(message_id: str) -> Item:
    return item_key(f"MESSAGE#{message_id}", "MESSAGE")


def _message_item(record: MessageRecord, days: int) -> Item:
    """The message and its explanation, in its profile's log (in order of creation), for ``days``."""
    return {
        **_message_key(record.message_id),
        **to_item(
            {
                "entity": "message",
                "status": record.status.value,
                "gsi1pk": f"MSGLOG#{record.profile_id}",
                "gsi1sk": f"{utc_stamp(record.created_at)}#{record.message_id}",
                "data": record.model_dump_json(),
                "expires_at": epoch_seconds(record.created_at + timedelta(days=days)),
            }
        ),
    }


def _caps_key(profile_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", "CAPS")


def _caps_item(ledger: CapsLedger) -> Item:
    return {
        **_caps_key(ledger.profile_id),
        **to_item({"entity": "caps", "version": ledger.version, "data": ledger.model_dump_json()}),
    }


def _deferred_key(intent_id: str) -> Item:
    return item_key(f"DEFER#{intent_id}", "DEFER")


def _deferred_item(deferred: Deferred) -> Item:
    """A held-back intent, in the index partition of its release hour (UTC)."""
    release = utc_stamp(deferred.release_at)
    return {
        **_deferred_key(deferred.intent.intent_id),
        **to_item(
            {
                "entity": "deferred",
                "release_at": release,
                "gsi1pk": release_bucket(deferred.release_at.astimezone(UTC)),
                "gsi1sk": f"{release}#{deferred.intent.intent_id}",
                "data": deferred.model_dump_json(),
            }
        ),
    }


def _day_key(profile_id: str, day: date, suffix: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", f"DAY#{day.isoformat()}#{suffix}")


def _day_expiry(day: date) -> int:
    return epoch_seconds(
        datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(days=DAY_ITEMS_DAYS)
    )


def _day_offer_item(offer: DayOffer) -> Item:
    return {
        **_day_key(offer.profile_id, offer.day, "OFFER"),
        **to_item(
            {"entity": "day_offer", "data": offer.model_dump_json(), "expires_at": _day_expiry(offer.day)}
        ),
    }


def _price_data(price: DayPrice) -> str:
    return price.product.model_dump_json()


def _day_price_item(price: DayPrice) -> Item:
    return {
        **_day_key(price.profile_id, price.day, f"PRICE#{price.product.product_id}"),
        **to_item({"entity": "day_price", "data": _price_data(price), "expires_at": _day_expiry(price.day)}),
    }


def _data(item: Item) -> Any:
    """The decoded ``data`` attribute of an item."""
    return data_of(item)


class DynamoMessageRepository:
    def __init__(self, client: Any, table_name: str, message_days: int | None = None) -> None:
        self._db = client
        self._table = table_name
        # the message log (and its explanations): by default 400 days, a year of caps and audits
        self._message_days = message_days if message_days is not None else get_settings().message_log_days

    # -- send once + message log -------------------------------------------------------------
    @translate_errors
    def send_record(self, send_once_key: str) -> str | None:
        item = self._db.get_item(TableName=self._table, Key=send_key(send_once_key), ConsistentRead=True).get(
            "Item"
        )
        return str(from_item(item)["message_id"]) if item else None

    @translate_errors
    def read_for_dispatch(self, request: DispatchReadRequest) -> DispatchSnapshot:
        """One BatchGetItem (strongly consistent) of every item a dispatch may need."""
        pid = request.profile_id
        keys = [send_key(request.send_once_key), _profile_key(pid)]
        keys += [_caps_key(pid)] if request.caps else []
        keys += [_product_key(p) for p in request.product_ids]
        for day in request.days:
            keys.append(_day_key(pid, day, "OFFER"))
            keys += [_day_key(pid, day, f"PRICE#{p}") for p in request.product_ids]
        found: dict[str, Any] = {
            "sent_message_id": None,
            "profile": None,
            "caps": None,
            "products": {},
            "day_offers": {},
            "day_prices": {},
        }
        for item in batch_get(self._db, self._table, keys):
            values = from_item(item)
            sk = values["sk"]
            if sk == "SEND":
                found["sent_message_id"] = values["message_id"]
            elif sk == "PROFILE":
                found["profile"] = profile_from_item(item)
            elif sk == "CAPS":
                found["caps"] = CapsLedger.model_validate_json(values["data"])
            elif sk == "PRODUCT":
                product = product_from_item(item)
                found["products"][product.product_id] = product
            elif sk.endswith("#OFFER"):
                offer = DayOffer.model_validate_json(values["data"])
                found["day_offers"][offer.day] = offer
            elif "#PRICE#" in sk:
                _, day, _, product_id = sk.split("#", 3)
                found["day_prices"][f"{day}#{product_id}"] = PricedProduct.model_validate_json(values["data"])
        return DispatchSnapshot(request=request, **found)

    @translate_errors
    def caps(self, profile_id: str) -> CapsLedger:
        item = self._db.get_item(TableName=self._table, Key=_caps_key(profile_id), ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return CapsLedger(profile_id=profile_id)
        return CapsLedger.model_validate_json(data_of(item))

    @translate_errors
    def reserve(
        self, record: MessageRecord, ledger: CapsLedger | None, days: DayWrites | None = None
    ) -> ReserveOutcome:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _send_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": _message_item(record, self._message_days)}},
        ]
        if ledger is not None:
            items.append({"Put": self._ledger_put(ledger)})
        if days is not None:
            items += [{"Put": self._day_offer_put(offer)} for offer in days.offers]
            items += [{"Put": self._day_price_put(price)} for price in days.prices]
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return ReserveOutcome.DUPLICATE
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                return ReserveOutcome.CONFLICT
            raise
        return ReserveOutcome.RESERVED

    @translate_errors
    def mark_sent(self, record: MessageRecord, provider_id: str | None) -> None:
        self._finish(record.model_copy(update={"status": MessageStatus.SENT, "provider_id": provider_id}))

    @translate_errors
    def mark_failed(self, record: MessageRecord, error: str) -> None:
        self._finish(record.model_copy(update={"status": MessageStatus.FAILED, "error": error}))

    def _finish(self, record: MessageRecord) -> None:
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": send_key(record.send_once_key),
                        "UpdateExpression": "SET #s = :s",
                        "ConditionExpression": "message_id = :m",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": to_values(
                            {":s": record.status.value, ":m": record.message_id}
                        ),
                    }
                },
                {"Put": {"TableName": self._table, "Item": _message_item(record, self._message_days)}},
            ]
        )

    @translate_errors
    def release(self, record: MessageRecord) -> None:
        """Free the key and the cap slot again: nothing went out, so a retry may send it."""
        for _attempt in range(8):
            items: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": send_key(record.send_once_key),
                        "ConditionExpression": "message_id = :m AND #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": to_values(
                            {":m": record.message_id, ":s": MessageStatus.SENDING.value}
                        ),
                    }
                },
                {"Delete": {"TableName": self._table, "Key": _message_key(record.message_id)}},
            ]
            ledger = self.caps(record.profile_id)
            if record.message_id in ledger.sends:
                items.append({"Put": self._ledger_put(ledger.without(record.message_id), ledger.version)})
            try:
                self._db.transact_write_items(TransactItems=items)
                return
            except self._db.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return  # released already, or finished by another attempt
                continue
        raise RuntimeError(f"could not release message {record.message_id}")

    @translate_errors
    def message(self, message_id: str) -> MessageRecord | None:
        item = self._db.get_item(
            TableName=self._table, Key=_message_key(message_id), ConsistentRead=True
        ).get("Item")
        return MessageRecord.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def messages_of(self, profile_id: str, limit: int) -> list[MessageRecord]:
        """The newest ``limit`` messages; a 1 MB page holds fewer when messages are large, so the
        pages are followed until ``limit``."""
        items = query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues=to_values({":p": f"MSGLOG#{profile_id}"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [MessageRecord.model_validate_json(data_of(i)) for i in islice(items, limit)]

    def _ledger_put(self, ledger: CapsLedger, expected: int | None = None) -> dict[str, Any]:
        previous = ledger.version - 1 if expected is None else expected
        put: dict[str, Any] = {"TableName": self._table, "Item": _caps_item(ledger)}
        if previous <= 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = to_values({":v": previous})
        return put

    # -- deferred intents --------------------------------------------------------------------
    @translate_errors
    def defer(self, deferred: Deferred) -> None:
        self._db.put_item(TableName=self._table, Item=_deferred_item(deferred))

    @translate_errors
    def due_deferred(self, bucket: str, until: datetime) -> list[Deferred]:
        items = query_due(self._db, self._table, bucket, utc_stamp(until) + "~")
        return [Deferred.model_validate_json(data_of(i)) for i in items]

    @translate_errors
    def drop_deferred(self, deferred: Deferred) -> bool:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_deferred_key(deferred.intent.intent_id),
                ConditionExpression="release_at = :r",
                ExpressionAttributeValues=to_values({":r": utc_stamp(deferred.release_at)}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- the day's sticky decisions ------------------------------------------------------------
    @translate_errors
    def day_offer(self, profile_id: str, day: date) -> DayOffer | None:
        item = self._db.get_item(
            TableName=self._table, Key=_day_key(profile_id, day, "OFFER"), ConsistentRead=True
        ).get("Item")
        return DayOffer.model_validate_json(data_of(item)) if item else None

    @translate_errors
    def keep_day_offer(self, offer: DayOffer) -> DayOffer:
        try:
            self._db.put_item(**self._day_offer_put(offer))
        except self._db.exceptions.ConditionalCheckFailedException:
            stored = self.day_offer(offer.profile_id, offer.day)
            if stored is not None:
                return stored
        return offer

    def _day_offer_put(self, offer: DayOffer) -> dict[str, Any]:
        """Stored only if no offer is stored for that day (the first decision holds)."""
        return {
            "TableName": self._table,
            "Item": _day_offer_item(offer),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _day_price_put(self, price: DayPrice) -> dict[str, Any]:
        """Stored if no price is stored for that product and day, or the very same one."""
        return {
            "TableName": self._table,
            "Item": _day_price_item(price),
            "ConditionExpression": "attribute_not_exists(pk) OR #d = :d",
            "ExpressionAttributeNames": {"#d": "data"},
            "ExpressionAttributeValues": to_values({":d": _price_data(price)}),
        }

    @translate_errors
    def keep_prices(self, profile_id: str, day: date, products: list[PricedProduct]) -> list[PricedProduct]:
        if not products:
            return []
        keys = [_day_key(profile_id, day, f"PRICE#{p.product_id}") for p in products]
        stored = {
            values["sk"]: PricedProduct.model_validate_json(values["data"])
            for values in map(from_item, batch_get(self._db, self._table, keys, "sk, #d"))
        }
        kept: list[PricedProduct] = []
        for product, price_key in zip(products, keys, strict=True):
            existing = stored.get(from_item(price_key)["sk"])
            if existing is None:
                put = self._day_price_put(DayPrice(profile_id=profile_id, day=day, product=product))
                try:
                    self._db.put_item(**put)
                except self._db.exceptions.ConditionalCheckFailedException:
                    item = self._db.get_item(TableName=self._table, Key=price_key, ConsistentRead=True)[
                        "Item"
                    ]
                    existing = PricedProduct.model_validate_json(data_of(item))
            kept.append(existing or product)
        return kept
