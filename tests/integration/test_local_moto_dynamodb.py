"""The shortcuts local mode takes through moto's DynamoDB (asusual.local.moto_dynamodb): a
cancelled transaction still writes nothing, and every answer — cancellation reasons, query pages —
is the one moto gives without them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from asusual.local import moto_dynamodb
from asusual.local.runtime import LocalRuntime


@pytest.fixture
def db(runtime):
    from asusual.store import clients

    return clients.dynamodb()


@pytest.fixture
def table(runtime) -> str:
    return runtime.table_name


@contextlib.contextmanager
def moto_as_released() -> Iterator[None]:
    """moto's own TransactWriteItems and Query for a while."""
    moto_dynamodb.uninstall()
    try:
        yield
    finally:
        assert moto_dynamodb.install()


def item(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}


def key(pk: str, sk: str) -> dict[str, Any]:
    return item(pk, sk)


def everything(db, table) -> list[dict[str, Any]]:
    items = db.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def seed(db, table) -> None:
    for written in (
        item("T#b", "v", state="before"),
        item("T#c", "v", state="to delete"),
        item("T#d", "v", state="exists"),
    ):
        db.put_item(TableName=table, Item=written)


def cancelled(db, table, operations) -> dict[str, Any]:
    """The error a transaction is refused with, without its request id."""
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=operations)
    return {k: v for k, v in err.value.response.items() if k != "ResponseMetadata"}


FAILING = [
    {"Put": {"TableName": "{table}", "Item": item("T#a", "v", state="new")}},
    {
        "Update": {
            "TableName": "{table}",
            "Key": key("T#b", "v"),
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": "after"}},
        }
    },
    {"Delete": {"TableName": "{table}", "Key": key("T#c", "v")}},
    {
        "Update": {  # an update of a missing item creates it
            "TableName": "{table}",
            "Key": key("T#e", "v"),
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": "created"}},
        }
    },
    {
        "ConditionCheck": {
            "TableName": "{table}",
            "Key": key("T#d", "v"),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    },
]


def operations_for(table: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{kind: {**op, "TableName": table} for kind, op in o.items()} for o in operations]


def test_shortcuts_are_installed_while_the_embedded_runtime_runs_only(clock):
    from moto.dynamodb.models import DynamoDBBackend

    moto_method = DynamoDBBackend.transact_write_items
    with LocalRuntime(clock=clock):
        assert moto_dynamodb.installed()
        assert DynamoDBBackend.transact_write_items is moto_dynamodb.transact_write_items
    assert not moto_dynamodb.installed()
    assert DynamoDBBackend.transact_write_items is moto_method


def test_cancelled_transaction_writes_nothing_with_the_cancellation_reasons_of_moto(db, table):
    seed(db, table)
    before = everything(db, table)
    operations = operations_for(table, FAILING)
    answer = cancelled(db, table, operations)
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in answer["CancellationReasons"]] == [
        "None",
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert answer["CancellationReasons"][4]["Item"] == item("T#d", "v", state="exists")
    assert everything(db, table) == before
    with moto_as_released():
        assert cancelled(db, table, operations) == answer
        assert everything(db, table) == before


def test_transaction_naming_one_item_twice_is_refused_and_writes_nothing(db, table):
    seed(db, table)
    before = everything(db, table)
    operations = operations_for(
        table,
        [
            {"Put": {"TableName": "", "Item": item("T#a", "v", state="new")}},
            {"Delete": {"TableName": "", "Key": key("T#b", "v")}},
            {"Put": {"TableName": "", "Item": item("T#a", "v", state="again")}},
        ],
    )
    answer = cancelled(db, table, operations)
    assert answer["Error"]["Code"] == "ValidationException"
    assert everything(db, table) == before
    with moto_as_released():
        assert cancelled(db, table, operations) == answer
        assert everything(db, table) == before


def test_transaction_that_passes_writes_every_item(db, table):
    seed(db, table)
    passing = [o for o in FAILING if "ConditionCheck" not in o]
    db.transact_write_items(TransactItems=operations_for(table, passing))
    assert [i for i in everything(db, table) if i["pk"]["S"].startswith("T#")] == [
        item("T#a", "v", state="new"),
        item("T#b", "v", state="after"),
        item("T#d", "v", state="exists"),
        item("T#e", "v", state="created"),
    ]


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#1"}}},
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P#1"}, ":s": {"S": "B#"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "P#2"}, ":a": {"S": "A#02"}, ":b": {"S": "B#03"}},
        "Limit": 3,
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#none"}}},
    {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "G#even"}},
        "Limit": 4,
    },
    {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :g AND gsi1sk > :s",
        "ExpressionAttributeValues": {
            ":g": {"S": "G#odd"},
            ":s": {"S": "2026-11-23T09:00:01"},
            ":x": {"S": "skip"},
        },
        "ScanIndexForward": False,
        "FilterExpression": "#s <> :x",
        "ExpressionAttributeNames": {"#s": "state"},
    },
]


def pages(db, table, query) -> list[dict[str, Any]]:
    """Every page of ``query`` (LastEvaluatedKey followed), without request ids."""
    request = dict(query)
    found = []
    while True:
        page = db.query(TableName=table, **request)
        found.append({k: v for k, v in page.items() if k != "ResponseMetadata"})
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_query_pages_are_those_moto_gives_without_the_shortcut(db, table):
    for p in (1, 2, 3):
        for s in range(6):
            gsi = {"gsi1pk": "G#even" if s % 2 == 0 else "G#odd", "gsi1sk": f"2026-11-23T09:00:0{s}"}
            state = "skip" if s == 5 else "keep"
            db.put_item(TableName=table, Item=item(f"P#{p}", f"{'AB'[s % 2]}#{s:02d}", state=state, **gsi))
    ours = [pages(db, table, query) for query in QUERIES]
    with moto_as_released():
        theirs = [pages(db, table, query) for query in QUERIES]
    assert ours == theirs
    assert [sum(page["Count"] for page in answer) for answer in ours] == [6, 3, 4, 0, 9, 3]
