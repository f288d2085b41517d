"""TTL on the real engine: the table's TTL is on `expires_at`, and exactly the items
docs/data-model.md says expire carry it, in epoch seconds, the documented time ahead. (DynamoDB
Local keeps expired items; only the attribute and the setting are asserted.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from asusual.store.tables import MAIN_TABLE
from tests.engine.events import EMAIL_MARKETING, MOSCOW, epoch, identify, mine, order, product, utc

pytestmark = pytest.mark.slow

EXPIRING = {"MSG", "OBS", "MESSAGE", "DAY", "BASKET"}  # by the first part of the sort key
KEPT = {"SOURCE", "APIKEY", "PROFILE", "ID", "CONSENT", "BIRTHDAY", "REMIND", "CAPS", "SEND", "ORDER",
        "PRODUCT", "STATS", "DEFER", "MERGE", "DIR", "WATERMARK",
        "LOCAL"}  # fmt: skip  # local mode only, the table in DynamoDB Local: its suppression key


def kind(sort_key: str) -> str:
    return sort_key.split("#", 1)[0]


def test_table_ttl_is_enabled_on_expires_at(local_client, table):
    description = local_client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert description == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert MAIN_TABLE.ttl_attribute == "expires_at"


def test_ttl_expiring_items_carry_epoch_seconds_the_documented_time_ahead_and_the_rest_none(
    send, admin_api, decide_api, at, outbox, profile, items, engine
):
    now = engine.clock.now()  # 2026-11-23T09:00Z, 12:00 in Moscow
    admin_api("POST", "/v1/catalog/products", product("tea-1", replenish_days=20, promoted=True))
    send(
        "web_local_key",
        identify(
            "u-1",
            email="u1@example.com",
            timezone=MOSCOW,
            birthday="1990-03-05",
            subscriptions=EMAIL_MARKETING,
        ),
    )
    line = {"products": [{"product_id": "tea-1", "quantity": 1}], "total": 100, "currency": "RUB"}
    send("web_local_key", order("u-1", "Order Completed", "o-0", ts="2026-10-28T09:00:00Z", **line))
    send(
        "web_local_key", order("u-1", "Order Completed", "o-1", ts="2026-11-23T09:00:00Z", **line)
    )  # a repeat
    send(  # 23:00 in Kiritimati: this welcome is deferred
        "web_local_key",
        identify("u-2", email="u2@example.com", timezone="Pacific/Kiritimati", subscriptions=EMAIL_MARKETING),
    )
    send("web_local_key", {"type": "identify", "userId": "u-3", "anonymousId": "a-3"})
    send("web_local_key", {"type": "page", "anonymousId": "a-4", "name": "Home"})
    send("web_local_key", {"type": "identify", "userId": "u-3", "anonymousId": "a-4"})  # a merge
    ask = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_banner", "channel": "web"}
    assert decide_api("POST", "/v1/decide", ask).status == 200
    pid = profile("user_id", "u-1")["profile_id"]
    assert [m["trigger"] for m in mine(outbox, pid)] == ["welcome", "order_placed"]

    stored = items()
    kinds = {kind(sk) for _, sk in stored}
    assert kinds == EXPIRING | KEPT, kinds ^ (EXPIRING | KEPT)  # every item kind is here to be judged
    for (pk, sk), item in stored.items():
        if kind(sk) in KEPT:
            assert "expires_at" not in item, (pk, sk)
            continue
        assert set(item["expires_at"]) == {"N"}, (pk, sk)  # a number: TTL ignores anything else
        expires = int(item["expires_at"]["N"])
        if sk == "MSG":  # processed-message marker: processing time + 30 days
            assert expires == epoch(now + timedelta(days=30)), pk
        elif sk == "OBS" or sk == "MESSAGE":  # interval observation: 400 days
            assert expires == epoch(now + timedelta(days=400)), pk
        elif sk == "BASKET":  # the recommendations' basket log: logged + 14 days
            assert expires == epoch(now + timedelta(days=14)), pk
        else:  # the day's offer and prices: three days after the customer's local day began (in UTC)
            assert sk.startswith("DAY#2026-11-23#"), sk
            assert expires == epoch(utc("2026-11-26T00:00:00Z")), sk
    assert sum(sk == "OBS" for _, sk in stored) == 1
    assert {sk for _, sk in stored if sk.startswith("DAY#")} == {
        "DAY#2026-11-23#OFFER",
        "DAY#2026-11-23#PRICE#tea-1",
    }
