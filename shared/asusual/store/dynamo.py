"""What every repository shares: items to and from DynamoDB's attribute values, error handling
(throttling and outages become typed, retryable errors), paging and batched reads."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from asusual.errors import Conflict, Throttled, TransientError
from asusual.store.tables import GSI1

BATCH_GET = 100  # BatchGetItem's limit of keys per call
BATCH_WRITE = 25  # BatchWriteItem's limit of requests per call

AttributeValue = dict[str, Any]  # {"S": "..."}, {"N": "12"}, {"B": b"..."}, {"L": [...]} ...
Item = dict[str, AttributeValue]

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> Item:
    """A DynamoDB item from plain Python, by boto3's serializer: str → S (empty too), int and
    Decimal → N (a float is refused: pass a Decimal of the digits to store), bytes → B, list and
    tuple → L, dict → M, a set of str → SS. An attribute whose value is None is left out: no item
    stores NULL, an absent index attribute keeps the item out of the index."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items() if value is not None}


def to_values(values: Mapping[str, Any]) -> Item:
    """ExpressionAttributeValues (``{":v": 3}``), through the same serializer as the items."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Plain Python from a DynamoDB item: S → str, N → Decimal, B → boto3 ``Binary`` (``bytes()``
    of it is the value), L → list, M → dict, SS → set."""
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def data_of(item: Mapping[str, AttributeValue]) -> Any:
    """An item's ``data`` attribute, decoded: its model's JSON (str; Binary for a profile)."""
    return _DESERIALIZER.deserialize(item["data"])


def item_key(pk: str, sk: str) -> Item:
    """An item's primary key."""
    return to_item({"pk": pk, "sk": sk})


def epoch_seconds(instant: datetime) -> int:
    """A TTL attribute's value (``expires_at``): whole seconds since the epoch, stored as N."""
    return int(instant.timestamp())


P = ParamSpec("P")
R = TypeVar("R")

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "RequestThrottled",
        "TooManyRequestsException",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalError",
        "KMS.ThrottlingException",
    }
)


def classify_aws_error(exc: Exception, what: str) -> Exception | None:
    """The typed error for an AWS failure a client should retry, or None for a real fault."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            return Throttled(f"{what} is throttled; retry", retry_after=1)
        if code in TRANSIENT_CODES:
            return TransientError(f"{what} is unavailable; retry")
        return None
    if isinstance(exc, ConnectionError | ReadTimeoutError | BotoCoreError):
        return TransientError(f"{what} cannot be reached; retry")
    return None


def translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            typed = classify_aws_error(exc, "the data store")
            if typed is None:
                raise
            raise typed from exc

    return wrapper


def versioned_put(client: Any, table_name: str, item: Item, expected_version: int | None) -> None:
    """Put ``item`` if the stored one has ``expected_version`` (None: if there is none); Conflict
    otherwise (the caller reads again and retries)."""
    kwargs: dict[str, Any] = {"TableName": table_name, "Item": item}
    if expected_version is None:
        kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        kwargs["ConditionExpression"] = "version = :v"
        kwargs["ExpressionAttributeValues"] = to_values({":v": expected_version})
    try:
        client.put_item(**kwargs)
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise Conflict("changed concurrently") from exc


def is_conditional_failure(exc: Any) -> bool:
    reasons = getattr(exc, "response", {}).get("CancellationReasons", [])
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


def utc_stamp(at: datetime) -> str:
    """A fixed-width UTC timestamp: string order is time order (conditions, sort keys)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def query_all(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, page after page."""
    while True:
        response = client.query(**kwargs)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def query_due(
    client: Any, table_name: str, partition: str, until: str, **extra: Any
) -> Iterator[dict[str, Any]]:
    """Every item of one partition of a due-time index (gsi1) whose sort key is at or below
    ``until``: what a sweep reads, never more."""
    return query_all(
        client,
        TableName=table_name,
        IndexName=GSI1.name,
        KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :u",
        ExpressionAttributeValues=to_values({":p": partition, ":u": until}),
        **extra,
    )


def batch_get(
    client: Any,
    table_name: str,
    keys: list[dict[str, Any]],
    projection: str | None = None,
    *,
    consistent: bool = True,
) -> list[dict[str, Any]]:
    """BatchGetItem of any number of keys, strongly consistent unless ``consistent`` is False
    (half the read units): chunks of 100, read in parallel (a batch's 300 keys wait for one round
    trip, not three), unprocessed keys retried. ``#d`` in ``projection`` stands for the reserved
    word ``data``."""
    chunks = [keys[start : start + BATCH_GET] for start in range(0, len(keys), BATCH_GET)]

    def read(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _batch_get_chunk(client, table_name, chunk, projection, consistent)

    if len(chunks) <= 1:
        return [item for chunk in chunks for item in read(chunk)]
    return [item for found in _readers().map(read, chunks) for item in found]


@functools.cache
def _readers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="batch-get")


os.register_at_fork(after_in_child=_readers.cache_clear)  # a forked child has none of its threads


def _batch_get_chunk(
    client: Any, table_name: str, keys: list[dict[str, Any]], projection: str | None, consistent: bool
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        table_name: {
            "Keys": keys,
            "ConsistentRead": consistent,
            **({"ProjectionExpression": projection} if projection else {}),
            **({"ExpressionAttributeNames": {"#d": "data"}} if projection and "#d" in projection else {}),
        }
    }
    for _attempt in range(8):
        response = client.batch_get_item(RequestItems=request)
        items.extend(response.get("Responses", {}).get(table_name, []))
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return items
    raise TransientError("the data store did not return every item; retry")


def batch_write(client: Any, table_name: str, requests: list[dict[str, Any]], what: str = "item") -> None:
    """BatchWriteItem of any number of requests ({"PutRequest": ...} or {"DeleteRequest": ...}):
    chunks of 25, unprocessed requests retried; TransientError if some are still left."""
    for start in range(0, len(requests), BATCH_WRITE):
        request: dict[str, Any] = {table_name: requests[start : start + BATCH_WRITE]}
        for _attempt in range(8):
            response = client.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
            if not request:
                break
        if request:
            raise TransientError(f"the data store did not write every {what}; retry")
