"""The DynamoDB table as data: the CDK stack, the tests and the local server build it from here,
so every environment has the same keys, indexes and TTL attribute (docs/data-model.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = "expires_at"
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        """Arguments for DynamoDB CreateTable (on-demand), as tests and local mode use them."""
        attributes = {self.partition_key, self.sort_key}
        for index in self.indexes:
            attributes |= {index.partition_key, index.sort_key}
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ]
        return kwargs


GSI1 = IndexSpec(name="gsi1", partition_key="gsi1pk", sort_key="gsi1sk")

MAIN_TABLE = TableSpec(indexes=(GSI1,))


# table_exists polls every 20 s by default; a new on-demand table is ACTIVE within seconds
_ACTIVE_WAIT = {"Delay": 2, "MaxAttempts": 150}


class TableMismatch(ValueError):
    """An existing table of the given name does not have the keys and indexes of the spec."""


def create_main_table(dynamodb_client: Any, table_name: str) -> None:
    """Create the table and enable TTL (tests, local mode, DynamoDB Local)."""
    dynamodb_client.create_table(**MAIN_TABLE.create_table_kwargs(table_name))
    dynamodb_client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=_ACTIVE_WAIT)
    dynamodb_client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": MAIN_TABLE.ttl_attribute},
    )


def ensure_main_table(dynamodb_client: Any, table_name: str) -> bool:
    """Create the table if it is absent, else check that it has the spec's keys and indexes and
    wait until it is ACTIVE (local mode against DynamoDB Local or real DynamoDB: the data stays
    between runs). True when the table was created. Raises :class:`TableMismatch` naming the
    table when an existing one does not fit; extra indexes are allowed."""
    try:
        description = dynamodb_client.describe_table(TableName=table_name)["Table"]
    except dynamodb_client.exceptions.ResourceNotFoundException:
        try:
            create_main_table(dynamodb_client, table_name)
            return True
        except dynamodb_client.exceptions.ResourceInUseException:  # created meanwhile by another
            description = dynamodb_client.describe_table(TableName=table_name)["Table"]
    problems = table_mismatches(description)
    if problems:
        raise TableMismatch(
            f"table {table_name!r} exists but does not have the asusual keys and indexes: "
            + "; ".join(problems)
            + ". Use another table name or delete this table."
        )
    if description.get("TableStatus") != "ACTIVE":
        dynamodb_client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=_ACTIVE_WAIT)
    return False


def table_mismatches(description: dict[str, Any], spec: TableSpec = MAIN_TABLE) -> list[str]:
    """How a DescribeTable ``Table`` differs from the spec (keys, their types, the indexes)."""
    expected = spec.create_table_kwargs(str(description.get("TableName", "")))
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    problems = []
    schema = description.get("KeySchema", [])
    if _keys(schema) != _keys(expected["KeySchema"]):
        problems.append(f"key schema is {_show(schema)}, expected {_show(expected['KeySchema'])}")
    indexes = {i["IndexName"]: i for i in description.get("GlobalSecondaryIndexes", [])}
    for wanted in expected.get("GlobalSecondaryIndexes", []):
        found = indexes.get(wanted["IndexName"])
        if found is None:
            problems.append(f"global secondary index {wanted['IndexName']!r} is missing")
        elif _keys(found.get("KeySchema", [])) != _keys(wanted["KeySchema"]):
            problems.append(
                f"index {wanted['IndexName']!r} has key schema {_show(found.get('KeySchema', []))}, "
                f"expected {_show(wanted['KeySchema'])}"
            )
        elif found.get("Projection", {}).get("ProjectionType") != "ALL":
            problems.append(f"index {wanted['IndexName']!r} does not project ALL attributes")
    for definition in expected["AttributeDefinitions"]:
        name = definition["AttributeName"]
        if name in types and types[name] != definition["AttributeType"]:
            problems.append(
                f"attribute {name!r} has type {types[name]}, expected {definition['AttributeType']}"
            )
    return problems


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((k["KeyType"], k["AttributeName"]) for k in schema)


def _show(schema: list[dict[str, str]]) -> str:
    return ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in schema) or "empty"
