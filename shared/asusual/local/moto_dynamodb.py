"""Two shortcuts through moto's DynamoDB, for the table local mode keeps in moto.

moto 5.2.5 spends time in proportion to the whole table where DynamoDB would not, so the embedded
default of ``make serve`` slowed down as its table grew:

- TransactWriteItems deep-copies each table it names before writing (to roll back on a
  cancellation). The replacement does exactly what moto's does — the same checks in the same
  order, the same errors, the same cancellation reasons — but keeps only the items the
  transaction touches (each as it was before its operation, or its absence) and puts those back
  on a rollback, with the stream records the transaction added dropped again.
- Query lists every item of the table sorted by key (``Table.all_items``), then keeps those of
  the partition (a table query) or of the index key (an index query), and sorts what it kept. In
  a query, ``all_items`` now gives a table query the partition alone and an index query the
  items unsorted: what moto keeps of them, and the order it sorts that into (by the full key,
  unique per item), are the same.

Both mirror the moto version named in :data:`MIRRORS`; with another one :func:`install` leaves
moto alone (slow but correct) and returns False."""

from __future__ import annotations

import copy
import inspect
import threading
from typing import Any

MIRRORS = "5.2.5"

_originals: dict[str, Any] = {}


def install() -> bool:
    """Patch moto's DynamoDB (idempotent). False when moto is not the version this mirrors."""
    import moto
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if moto.__version__ != MIRRORS:
        return False
    if not _originals:
        _originals["transact_write_items"] = DynamoDBBackend.transact_write_items
        _originals["query"] = Table.query
        _originals["all_items"] = Table.all_items
        _QUERY_SIGNATURE.append(inspect.signature(Table.query))
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        Table.query = _query  # type: ignore[method-assign]
        Table.all_items = _all_items  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if _originals:
        DynamoDBBackend.transact_write_items = _originals.pop("transact_write_items")  # type: ignore[method-assign]
        Table.query = _originals.pop("query")  # type: ignore[method-assign]
        Table.all_items = _originals.pop("all_items")  # type: ignore[method-assign]
        _QUERY_SIGNATURE.clear()


def installed() -> bool:
    return bool(_originals)


# -- Query -----------------------------------------------------------------------------------------
_QUERY_SIGNATURE: list[inspect.Signature] = []


class _InQuery(threading.local):
    """What the query running on this thread needs of ``all_items``."""

    active: bool = False
    partition: Any = None  # a table query's hash key (a DynamoType); None for an index query


_in_query = _InQuery()


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    arguments = _QUERY_SIGNATURE[0].bind(self, *args, **kwargs).arguments
    outer = (_in_query.active, _in_query.partition)
    _in_query.active = True
    _in_query.partition = arguments.get("hash_key") if arguments.get("index_name") is None else None
    try:
        return _originals["query"](self, *args, **kwargs)
    finally:
        _in_query.active, _in_query.partition = outer


def _all_items(self: Any) -> list[Any]:
    if not _in_query.active:
        everything: list[Any] = _originals["all_items"](self)
        return everything
    if _in_query.partition is None:  # an index query: every item, in no particular order
        if self.range_key_attr:
            return [item for partition in self.items.values() for item in partition.values()]
        return list(self.items.values())
    hash_key = _in_query.partition
    if hash_key not in self.items:  # (``in``: ``items`` is a defaultdict; reading would add the key)
        return []
    return list(self.items[hash_key].values()) if self.range_key_attr else [self.items[hash_key]]


# -- TransactWriteItems ----------------------------------------------------------------------------
class _Undo:
    """The items a transaction touched, as they were, and each stream's length before it."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item or None)
        self._streams: dict[int, tuple[Any, int]] = {}

    def keep(self, backend: Any, table_name: str, key: dict[str, Any]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = backend.tables.get(table_name)
        if table is None or table.hash_key_attr not in key:
            return
        if table.range_key_attr is not None and table.range_key_attr not in key:
            return
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        before = table.get_item(hash_value, range_value)
        self._items.append((table, hash_value, range_value, copy.deepcopy(before)))
        if table.stream_shard is not None and id(table) not in self._streams:
            self._streams[id(table)] = (table, len(table.stream_shard.items))

    def roll_back(self) -> None:
        for table, hash_value, range_value, before in reversed(self._items):
            if range_value is not None:
                if before is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        for table, length in self._streams.values():
            del table.stream_shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's ``DynamoDBBackend.transact_write_items``; only what it keeps to roll back
    differs (see :class:`_Undo`)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if op_type != "ConditionCheck":
                undo.keep(self, table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)
