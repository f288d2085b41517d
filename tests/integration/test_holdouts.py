"""Trigger holdouts over local mode (moto): with 50 % of welcomes held out, the holdout gets nothing,
holdout + sent == audience, later orders are counted for each group once, whatever the
redeliveries, and the report route lists the kind with its uplift."""

from __future__ import annotations

from typing import Any

import pytest

from asusual.store import clients
from asusual.store.dynamo import from_item, query_all, to_values

MOSCOW = "Europe/Moscow"
PEOPLE = 40


@pytest.fixture(autouse=True)
def welcome_holdout(monkeypatch):
    """Before the local runtime starts: half of the welcomes are held out."""
    monkeypatch.setenv("ASUSUAL_TRIGGER_HOLDOUTS", '{"welcome": 50}')
    monkeypatch.setenv("ASUSUAL_TRIGGER_CONVERSION_DAYS", "7")


def subscriber(n: int) -> dict[str, Any]:
    traits = {
        "email": f"c{n}@example.com",
        "timezone": MOSCOW,
        "subscriptions": {"email": {"marketing": True}},
    }
    return {"type": "identify", "userId": f"u-{n}", "traits": traits, "timestamp": "2026-11-23T09:00:00Z"}


def order(n: int, order_id: str, ts: str, total: float, message_id: str | None = None) -> dict[str, Any]:
    event = {
        "type": "track",
        "userId": f"u-{n}",
        "event": "Order Completed",
        "timestamp": ts,
        "properties": {"order_id": order_id, "total": total, "currency": "RUB"},
    }
    return {**event, "messageId": message_id} if message_id else event


def exposures(profile_id: str) -> list[dict[str, Any]]:
    return [
        from_item(i)
        for i in query_all(
            clients.dynamodb(),
            TableName="asusual-local",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
            ExpressionAttributeValues=to_values({":pk": f"PROFILE#{profile_id}", ":e": "EXPOSE#"}),
        )
    ]


def test_welcome_holdout_gets_nothing_and_later_orders_count_for_each_group(
    send, profile, outbox, at, admin_api
):
    send("web_local_key", *(subscriber(n) for n in range(PEOPLE)))  # 12:00 in Moscow: welcomes go now
    ids = {n: profile("user_id", f"u-{n}")["profile_id"] for n in range(PEOPLE)}
    welcomed = {m["profile_id"] for m in outbox() if m["trigger"] == "welcome"}
    groups = {}
    for n, pid in ids.items():
        [exposure] = exposures(pid)
        assert exposure["sk"].startswith("EXPOSE#trigger#welcome#")
        assert (exposure["assigned_at"], exposure["window_end"]) == (
            "2026-11-23T09:00:00.000000+00:00",
            "2026-11-30T09:00:00.000000+00:00",
        )
        groups[n] = exposure["group"]
        assert (pid in welcomed) == (exposure["group"] == "recipient")  # the holdout got nothing
    held = [n for n, g in groups.items() if g == "holdout"]
    received = [n for n, g in groups.items() if g == "recipient"]
    assert 0 < len(held) < PEOPLE and len(received) == len(welcomed)

    # two days later: two of each group order; one recipient twice; a redelivery and a resend count once
    buyers = [*held[:2], *received[:2]]
    at("2026-11-25T09:00:00Z")
    send("store_local_key", *(order(n, f"o-{n}", "2026-11-25T09:00:00Z", 1000.0, f"m-o-{n}") for n in buyers))
    send(
        "store_local_key",
        order(buyers[0], f"o-{buyers[0]}", "2026-11-25T09:00:00Z", 1000.0, f"m-o-{buyers[0]}"),
    )
    send("web_local_key", order(buyers[0], f"o-{buyers[0]}", "2026-11-25T09:00:00Z", 1000.0, "m-again"))
    at("2026-11-26T09:00:00Z")
    send("web_local_key", order(received[0], "o-second", "2026-11-26T09:00:00Z", 500.0))
    at("2026-12-01T09:00:00Z")  # after the window: not the message's doing
    send("web_local_key", order(received[1], "o-late", "2026-12-01T09:00:00Z", 700.0))

    report = admin_api("GET", "/v1/reports/uplift")
    assert report.status == 200, report.body
    body = report.json()
    [welcome] = body["triggers"]
    assert (welcome["program"], welcome["id"], welcome["holdout_percent"]) == ("trigger", "welcome", 50)
    assert (welcome["audience"], welcome["holdout"], welcome["sent"]) == (PEOPLE, len(held), len(received))
    assert welcome["holdout"] + welcome["sent"] == welcome["audience"]
    assert welcome["conversions"] == {
        "recipients": {"customers": 2, "orders": 3, "revenue": "2500.00"},
        "holdout": {"customers": 2, "orders": 2, "revenue": "2000.00"},
    }
    uplift = welcome["uplift"]
    assert (uplift["recipients"]["size"], uplift["holdout"]["size"]) == (len(received), len(held))
    assert uplift["verdict"] == "too_small_to_tell"
    assert body["campaigns"] == []
    converted = [e for n in buyers for e in exposures(ids[n])]
    assert sorted(sorted(e["orders"]) for e in converted) == sorted(
        [[f"o-{held[0]}"], [f"o-{held[1]}"], sorted([f"o-{received[0]}", "o-second"]), [f"o-{received[1]}"]]
    )
    assert all(e["converted"] is True for e in converted)


def test_uplift_report_needs_the_admin_key(admin_api):
    assert admin_api("GET", "/v1/reports/uplift", key="read_local_key").status == 403
    assert admin_api("GET", "/v1/reports/uplift", key=None).status == 401


@pytest.fixture
def admin_profiles(runtime):
    from functions.profiles_api import handler
    from tests.integration.conftest import json_api

    return json_api(handler, "profiles_api", "admin_local_key")


def test_exposures_are_exported_and_erased_with_the_person_and_the_counts_stay(
    send, profile, admin_profiles, admin_api
):
    send("web_local_key", subscriber(1), subscriber(4))
    send("web_local_key", order(1, "o-1", "2026-11-23T09:00:00Z", 990.0))
    pid = profile("user_id", "u-1")["profile_id"]

    exported = admin_profiles("GET", "/v1/profiles/user_id/u-1/export").json()
    [exposure] = exported["items"]["exposure"]
    assert exposure["sk"].startswith("EXPOSE#trigger#welcome#") and exposure["orders"] == ["o-1"]
    assert {"group", "assigned_at", "window_end", "program", "profile_id", "converted"} <= set(exposure)

    erased = admin_profiles("DELETE", "/v1/profiles/user_id/u-1")
    assert erased.status == 200, erased.body
    assert erased.json()["deleted"]["exposure"] == 1
    assert exposures(pid) == []
    # the counts hold no one: they stay, so the report does not change with an erasure
    [welcome] = admin_api("GET", "/v1/reports/uplift").json()["triggers"]
    assert welcome["audience"] == 2
    group = "recipients" if exposure["group"] == "recipient" else "holdout"
    assert welcome["conversions"][group]["orders"] == 1
