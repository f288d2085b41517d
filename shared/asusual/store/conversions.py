"""Exposures, the trigger programs' counters, and conversions (docs/data-model.md, docs/segments.md
"Holdouts and uplift").

Exposure  pk=PROFILE#<profile_id>     sk=EXPOSE#<program>   program, group, assigned_at, window_end,
                                                            outcome, orders (SS), converted
Program   pk=PROGRAM#trigger#<kind>   sk=PROGRAM            counters (top-level numbers)
Campaign  pk=CAMPAIGN#<campaign_id>   sk=CAMPAIGN           the same counters (asusual.store.campaigns)

``<program>`` is ``campaign#<campaign_id>`` or ``trigger#<kind>#<sha256(send_once_key)[:24]>``.
Every counter moves with ``ADD`` in the same transaction as the exposure condition that makes it
exact: an exposure is put once (``attribute_not_exists``), an outcome set once, an order added to
an exposure's ``orders`` once (``NOT contains``); a condition failure means "counted before".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from asusual.campaigns.report import Conversions, GroupConversions, ProgramCounts
from asusual.delivery.holdouts import Group, TriggerExposure
from asusual.errors import TransientError
from asusual.observability import logger
from asusual.store.dynamo import (
    Item,
    batch_get,
    from_item,
    item_key,
    query_all,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.tables import GSI1
from asusual.triggers.ports import OrderConversion

EXPOSE_PREFIX = "EXPOSE#"
CAMPAIGNS_PK = "CAMPAIGNS"
MAX_ATTEMPTS = 8
_REASON = re.compile(r"[^a-z0-9_]")


def exposure_key(profile_id: str, program: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", f"{EXPOSE_PREFIX}{program}")


def _trigger_exposure_item(exposure: TriggerExposure) -> Item:
    return {
        **exposure_key(exposure.profile_id, exposure.program),
        **to_item(
            {
                "entity": "exposure",
                "program": exposure.program,
                "group": exposure.group.value,
                "assigned_at": utc_stamp(exposure.assigned_at),
                "window_end": utc_stamp(exposure.window_end),
            }
        ),
    }


def trigger_program_key(kind: str) -> Item:
    return item_key(f"PROGRAM#trigger#{kind}", "PROGRAM")


def counters_key(program: str) -> Item:
    """Where an exposure's program keeps its counters: the campaign item, or its kind's program."""
    family, _, rest = program.partition("#")
    if family == "campaign":
        return item_key(f"CAMPAIGN#{rest}", "CAMPAIGN")
    if family == "trigger":
        return trigger_program_key(rest.split("#", 1)[0])
    raise ValueError(f"unknown program {program!r}")


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

    def n(name: str) -> int:
        return int(values.get(name, 0))

    def group(name: str) -> GroupConversions:
        return GroupConversions(
            customers=n(f"conv_{name}_customers"),
            orders=n(f"conv_{name}_orders"),
            revenue=Decimal(values.get(f"conv_{name}_revenue", 0)),
        )

    skipped = {
        k.removeprefix("skipped_"): int(v) for k, v in values.items() if k.startswith("skipped_") and v
    }
    return ProgramCounts(
        audience=n("audience"),
        holdout=n("holdout"),
        sent=n("sent"),
        deferred=n("deferred"),
        failed=n("failed"),
        skipped=dict(sorted(skipped.items())),
        conversions=Conversions(recipients=group("recipient"), holdout=group("holdout")),
    )


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
                        "Item": _trigger_exposure_item(exposure),
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
        status, _, reason = outcome.partition(":")
        counter = f"skipped_{_REASON.sub('_', reason)}" if status == "skipped" else status
        return self._transact(
            [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": exposure_key(exposure.profile_id, exposure.program),
                        "UpdateExpression": "SET outcome = :o",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(outcome)",
                        "ExpressionAttributeValues": to_values({":o": outcome}),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": trigger_program_key(exposure.kind),
                        **_add({counter: 1}, entity="program"),
                    }
                },
            ]
        )

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
            program = {"TableName": self._table, "Key": counters_key(values["program"]), **_add(counters)}
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
            ExpressionAttributeValues=to_values({":pk": CAMPAIGNS_PK}),
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
