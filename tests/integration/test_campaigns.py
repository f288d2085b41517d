"""Campaigns over local mode: each member at 10:00 in her own zone, once; nobody without consent;
a holdout that gets nothing; a cancel that stops the rest."""

from __future__ import annotations

import json

import pytest

from asusual.store import clients
from asusual.store.dynamo import item_key, to_item

CONSENT = {"email": {"marketing": True, "transactional": True}}
CONTENT = {
    "ru": {
        "subject": "{% if has_name %}{{ name }}, {% endif %}корм по скидке",
        "body": "{{ hello }}! Для ваших питомцев — скидка на корм до воскресенья.",
        "text": "Скидка на корм до воскресенья.",
    }
}


def identify(user: str, zone: str | None, subscriptions=CONSENT) -> dict:
    traits = {"email": f"{user}@example.com", "firstName": user.title(), "subscriptions": subscriptions}
    if zone:
        traits["timezone"] = zone
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": "2026-12-01T09:00:00Z"}


@pytest.fixture
def members(runtime, send, profile):
    """Customers made through intake, then put in segment ``pets`` as its membership items are
    written (the segments' own writer is another part's; this is its stored format)."""

    def make(*people: tuple[str, str | None, dict | None]) -> dict[str, str]:
        send("web_local_key", *[identify(user, zone, subs or {}) for user, zone, subs in people])
        ids = {user: profile("user_id", user)["profile_id"] for user, _zone, _subs in people}
        db, table = clients.dynamodb(), runtime.table_name
        definition = {
            "segment_id": "pets",
            "name": "Покупатели корма",
            "incarnation": "inc1",
            "status": "active",
        }
        db.put_item(
            TableName=table,
            Item={
                **item_key("SEGMENTS", "SEGMENT#pets"),
                **to_item({"entity": "segment", "data": json.dumps(definition)}),
            },
        )
        for user, zone, _subs in people:
            data = {
                "profile_id": ids[user],
                "zones": [zone] if zone else ["Europe/Moscow"],
                "country": "RU",
                "locale": "ru",
            }
            db.put_item(
                TableName=table,
                Item={
                    **item_key("SEGMENT#pets#inc1", f"M#{ids[user]}"),
                    **to_item({"entity": "segment_member", "data": json.dumps(data)}),
                },
            )
        return ids

    return make


def campaign(**overrides) -> dict:
    return {
        "campaign_id": "pets-december",
        "segment_id": "pets",
        "topic": "marketing",
        "send_at": {"local_date": "2026-12-10", "local_time": "10:00"},
        "holdout_percent": 0,
        "conversion_window_days": 7,
        "content": CONTENT,
        **overrides,
    }


def test_campaign_reaches_each_member_at_ten_in_her_own_zone_once_and_nobody_without_consent(
    members, admin_api, at, outbox
):
    ids = members(
        ("vlad", "Asia/Vladivostok", CONSENT),
        ("mos1", "Europe/Moscow", CONSENT),
        ("mos2", "Europe/Moscow", CONSENT),
        ("nocons", "Europe/Moscow", None),
    )
    at("2026-12-09T12:00:00Z")
    created = admin_api("POST", "/v1/campaigns", campaign())
    assert created.status == 201, created.body
    assert created.json()["status"] == "scheduled"

    at("2026-12-10T00:01:00Z")  # 10:01 in Vladivostok, 03:01 in Moscow
    sent = [m for m in outbox() if m["trigger"] == "campaign"]
    assert [(m["profile_id"], m["local_sent_at"][:19]) for m in sent] == [
        (ids["vlad"], "2026-12-10T10:00:00")
    ]
    at("2026-12-10T07:01:00Z")  # 10:01 in Moscow
    at("2026-12-10T12:00:00Z")
    sent = [m for m in outbox() if m["trigger"] == "campaign"]
    assert sorted((m["profile_id"], m["local_sent_at"][:16]) for m in sent) == sorted(
        [
            (ids["vlad"], "2026-12-10T10:00"),
            (ids["mos1"], "2026-12-10T10:00"),
            (ids["mos2"], "2026-12-10T10:00"),
        ]
    )
    assert {m["campaign_id"] for m in sent} == {"pets-december"}
    view = admin_api("GET", "/v1/campaigns/pets-december").json()
    assert (view["status"], view["audience"], view["holdout"], view["sent"], view["skipped"]) == (
        "sent",
        4,
        0,
        3,
        {"no_channel": 1},
    )
