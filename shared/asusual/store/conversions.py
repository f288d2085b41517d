"""Trigger exposures, conversions, and the programs' counters for the uplift report
(docs/data-model.md, docs/segments.md "Holdouts and uplift"). The exposure item, its key, the
counters' item of a program and the outcome transition are asusual.store.campaigns' (one item
type for campaigns and trigger kinds); what is added here:

- a trigger message's exposure, put by the dispatcher once (``attribute_not_exists``) with its
  kind's ``PROGRAM#trigger#<kind>`` counters (``audience``, ``holdout``) in one transaction;
- an order counted for an exposure: ``orders`` (string set) gains its id once (``NOT contains``;
  the first also sets ``converted``), and the program's ``conv_<group>_orders``,
  ``conv_<group>_revenue`` and (first order) ``conv_<group>_customers`` move in the same
  transaction. A condition failure means "counted before": exact under redelivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from asusual.campaigns.models import Exposure
from asusual.campaigns.report import ProgramCounts, counts_of
from asusual.delivery.holdouts import Group, TriggerExposure
from asusual.errors import TransientError
from asusual.observability import logger
from asusual.store.campaigns import (
    CAMPAIGNS_PARTITION,
    counters_of,
    exposure_item,
    outcome_transition,
    program_counter_key,
)
from asusual.store.dynamo import (
    Item,
    batch_get,
    from_item,
    item_key,
    query_all,
    to_values,
    translate_errors,
)
from asusual.store.tables import GSI1
from asusual.triggers.ports import OrderConversion

EXPOSE_PREFIX = "EXPOSE#"
MAX_ATTEMPTS = 8


def trigger_exposure_item(exposure: TriggerExposure) -> Item:
    """A trigger message's exposure: the campaigns' exposure item, without a release."""
    return exposure_item(
        Exposure(
            profile_id=exposure.profile_id,
            program=exposure.program,
            group=exposure.group.value,
            assigned_at=exposure.assigned_at,
            window_end=exposure.window_end,
        )
    )


def trigger_program_key(kind: str) -> Item:
    return program_counter_key(f"trigger#{kind}")


def _add(counters: Mapping[str, int | Decimal], entity: str | None = None) -> dict[str, Any]:
    """``[SET entity = :e] ADD #c0 :c0, #c1 :c1 ...`` for an UpdateItem of a program's counters."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values: dict[str, Any] = {f":c{i}": value for i, value in enumerate(counters.values())}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
    expression = f"ADD {adds}"
    if entity is not None:
        values[":e"] = entity
        expression = f"SET entity = :e {expression}"
    return {
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_values(values),
    }


def program_counts(values: Mapping[str, Any]) -> ProgramCounts:
    """The counters of a decoded campaign or program item (absent: 0)."""
    return counts_of(counters_of(dict(values)))


def _cancel_reasons(exc: Any) -> list[str | None]:
    return [r.get("Code") for r in exc.response.get("CancellationReasons", [])]


class DynamoConversionRepository:
    """Trigger exposures and their outcomes (the dispatcher), orders counted for exposures (the
    event processor), and the programs' counters (the uplift report)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """True when written; False when the first item's condition failed (done before). A
        conflict with another transaction on the program's counters is tried again."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                self._db.transact_write_items(TransactItems=items)
            except self._db.exceptions.TransactionCanceledException as exc:
                reasons = _cancel_reasons(exc)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                if "TransactionConflict" not in reasons:
                    raise
                continue
            return True
        raise TransientError("a program's counters changed concurrently too often; retry")

    # -- the dispatcher (asusual.delivery.holdouts.ExposureRecorder) ------------------------
    @translate_errors
    def assign(self, exposure: TriggerExposure) -> bool:
        counters = {"audience": 1, **({"holdout": 1} if exposure.group is Group.HOLDOUT else {})}
        return self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": trigger_exposure_item(exposure),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": trigger_program_key(exposure.kind),
                        **_add(counters, entity="program"),
                    }
                },
            ]
        )

    @translate_errors
    def record_outcome(self, exposure: TriggerExposure, outcome: str) -> bool:
        transition = outcome_transition(
            self._table, exposure.profile_id, exposure.program, outcome, from_deferred=False
        )
        return self._transact(transition)

    # -- the event processor (asusual.triggers.ports.ConversionRecorder) --------------------
    @translate_errors
    def record_order(self, order: OrderConversion) -> int:
        counted = 0
        for profile_id in order.profile_ids:
            for item in query_all(
                self._db,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_values(
                    {":pk": f"PROFILE#{profile_id}", ":prefix": EXPOSE_PREFIX}
                ),
                ConsistentRead=True,
            ):
                values = from_item(item)
                if _holds(values, order.at) and self._count(values, order):
                    counted += 1
        return counted

    def _count(self, values: dict[str, Any], order: OrderConversion) -> bool:
        """Add the order to one exposure and its group's conversions, once; a lost race with
        another order of the same customer reads the exposure again."""
        for _attempt in range(MAX_ATTEMPTS):
            orders = values.get("orders") or set()
            if order.order_id in orders:
                return False
            first = not orders
            group = values["group"]
            counters: dict[str, int | Decimal] = {
                f"conv_{group}_orders": 1,
                f"conv_{group}_revenue": order.revenue,
            }
            if first:
                counters[f"conv_{group}_customers"] = 1
            exposure: dict[str, Any] = {
                "TableName": self._table,
                "Key": exposure_key_of(values),
                "UpdateExpression": "SET converted = :t ADD orders :o" if first else "ADD orders :o",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(orders)"
                if first
                else "attribute_exists(pk) AND NOT contains(orders, :id)",
                "ExpressionAttributeValues": to_values(
                    {":o": {order.order_id}, **({":t": True} if first else {":id": order.order_id})}
                ),
            }
            program = {
                "TableName": self._table,
                "Key": program_counter_key(values["program"]),
                **_add(counters),
            }
            try:
                self._db.transact_write_items(TransactItems=[{"Update": exposure}, {"Update": program}])
                return True
            except self._db.exceptions.TransactionCanceledException as exc:
                if "ConditionalCheckFailed" not in _cancel_reasons(
                    exc
                ) and "TransactionConflict" not in _cancel_reasons(exc):
                    raise
            fresh = self._db.get_item(
                TableName=self._table, Key=exposure_key_of(values), ConsistentRead=True
            ).get("Item")
            if not fresh:
                return False  # erased meanwhile
            values = from_item(fresh)
        logger.warning("order not counted: its exposure changed too often", program=values.get("program"))
        raise TransientError("an exposure changed concurrently too often; retry")

    # -- the report (asusual.campaigns.report.ProgramReader) --------------------------------
    @translate_errors
    def campaign_counts(self) -> list[tuple[str, ProgramCounts]]:
        out = []
        for item in query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=to_values({":pk": CAMPAIGNS_PARTITION}),
        ):
            values = from_item(item)
            out.append((str(values["pk"]).removeprefix("CAMPAIGN#"), program_counts(values)))
        return out

    @translate_errors
    def trigger_counts(self, kinds: Sequence[str]) -> dict[str, ProgramCounts]:
        items = batch_get(self._db, self._table, [trigger_program_key(k) for k in kinds]) if kinds else []
        found = {
            str(from_item(i)["pk"]).removeprefix("PROGRAM#trigger#"): program_counts(from_item(i))
            for i in items
        }
        return {k: found[k] for k in kinds if k in found}


def exposure_key_of(values: Mapping[str, Any]) -> Item:
    return item_key(str(values["pk"]), str(values["sk"]))


def _holds(values: Mapping[str, Any], at: datetime) -> bool:
    """Whether an exposure's window [assigned_at, window_end] holds the instant ``at``."""
    start, end = values.get("assigned_at"), values.get("window_end")
    if not start or not end or "group" not in values or "program" not in values:
        return False
    return datetime.fromisoformat(str(start)) <= at <= datetime.fromisoformat(str(end))
