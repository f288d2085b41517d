"""The one way items and expression values become DynamoDB attribute values, and back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary

from asusual.store.dynamo import batch_get, epoch_seconds, from_item, item_key, to_item, to_values


def test_to_item_with_each_python_type_gives_its_attribute_type() -> None:
    assert to_item(
        {
            "text": "a",
            "empty": "",
            "count": 3,
            "days": Decimal("30.2500"),
            "data": b"\x78\x9c",
            "key_hashes": ["h1", "h2"],
            "tags": {"a"},
        }
    ) == {
        "text": {"S": "a"},
        "empty": {"S": ""},
        "count": {"N": "3"},
        "days": {"N": "30.2500"},
        "data": {"B": b"\x78\x9c"},
        "key_hashes": {"L": [{"S": "h1"}, {"S": "h2"}]},
        "tags": {"SS": ["a"]},
    }


def test_to_item_with_a_none_value_leaves_the_attribute_out() -> None:
    assert to_item({"entity": "order", "gsi1pk": None}) == {"entity": {"S": "order"}}


def test_to_values_with_a_none_value_gives_null() -> None:
    assert to_values({":v": None, ":one": 1}) == {":v": {"NULL": True}, ":one": {"N": "1"}}


def test_to_item_with_a_float_refuses_it() -> None:
    with pytest.raises(TypeError):
        to_item({"days": 30.25})


def test_item_key_gives_string_pk_and_sk() -> None:
    assert item_key("ORDER#o1", "ORDER") == {"pk": {"S": "ORDER#o1"}, "sk": {"S": "ORDER"}}


def test_from_item_gives_text_decimals_binary_and_lists() -> None:
    values = from_item(
        {
            "pk": {"S": "PROFILE#p1"},
            "version": {"N": "3"},
            "data": {"B": b"\x78\x9c"},
            "key_hashes": {"L": [{"S": "h1"}]},
        }
    )

    assert values == {
        "pk": "PROFILE#p1",
        "version": Decimal(3),
        "data": Binary(b"\x78\x9c"),
        "key_hashes": ["h1"],
    }
    assert isinstance(values["version"], Decimal)
    assert bytes(values["data"]) == b"\x78\x9c"


def test_epoch_seconds_of_an_instant_drops_the_fraction() -> None:
    assert epoch_seconds(datetime(2025, 12, 23, 9, 0, 0, 999999, tzinfo=UTC)) == 1766480400


class ChunkedTable:
    """A fake client's BatchGetItem: at most 100 keys a call, the first answer of each call
    leaving its last key unprocessed; the calls and their sizes are kept."""

    def __init__(self, items: dict[str, dict]) -> None:
        self.items = items
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def batch_get_item(self, RequestItems: dict) -> dict:
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        assert len(keys) <= 100 and request["ConsistentRead"] is True
        with self.lock:
            self.calls.append(len(keys))
        served, left = (keys[:-1], keys[-1:]) if len(keys) > 1 else (keys, [])
        found = [self.items[k["pk"]["S"]] for k in served if k["pk"]["S"] in self.items]
        answer: dict = {"Responses": {table: found}}
        if left:
            answer["UnprocessedKeys"] = {table: {**request, "Keys": left}}
        return answer


def test_batch_get_of_250_keys_reads_three_chunks_and_retries_what_was_unprocessed() -> None:
    items = {f"K#{n}": {"pk": {"S": f"K#{n}"}} for n in range(0, 250, 2)}  # every other key exists
    table = ChunkedTable(items)
    keys = [item_key(f"K#{n}", "K") for n in range(250)]
    found = batch_get(table, "t", keys)
    assert sorted(i["pk"]["S"] for i in found) == sorted(items)
    assert sorted(table.calls) == [1, 1, 1, 50, 100, 100]
