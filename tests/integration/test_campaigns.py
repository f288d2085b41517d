"""Campaigns over local mode: each member at 10:00 in her own zone, once; nobody without consent;
a holdout that gets nothing; a cancel that stops the rest."""

from __future__ import annotations

import pytest

CONSENT = {"email": {"marketing": True, "transactional": True}}
CONTENT = {
    "ru": {
        "subject": "{% if has_name %}{{ name }}, {% endif %}корм по скидке",
        "body": "{{ hello }}! Для ваших питомцев — скидка на корм до воскресенья.",
        "text": "Скидка на корм до воскресенья.",
    }
}


SEGMENT = {"segment_id": "pets", "name": "Покупатели корма", "rule": {"trait": "pet_owner", "eq": True}}


def identify(user: str, zone: str | None, subscriptions=CONSENT) -> dict:
    traits = {
        "email": f"{user}@example.com",
        "firstName": user.title(),
        "subscriptions": subscriptions,
        "petOwner": True,
    }
    if zone:
        traits["timezone"] = zone
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": "2026-12-01T09:00:00Z"}


@pytest.fixture
def members(runtime, send, profile, admin_api):
    """Customers made through intake who own pets, then the segment ``pets`` defined by that
    trait through the API and filled by its back-fill: their profile ids."""

    def make(*people: tuple[str, str | None, dict | None]) -> dict[str, str]:
        send("web_local_key", *[identify(user, zone, subs or {}) for user, zone, subs in people])
        ids = {user: profile("user_id", user)["profile_id"] for user, _zone, _subs in people}
        answer = admin_api("POST", "/v1/segments", SEGMENT)
        assert answer.status == 201, answer.body
        runtime.run()  # the back-fill's pages
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


def test_campaign_holdout_of_fifty_percent_gets_nothing_and_holdout_plus_sent_is_the_audience(
    members, admin_api, at, outbox
):
    people = [(f"u{n}", "Europe/Moscow", CONSENT) for n in range(12)]
    ids = members(*people)
    at("2026-12-09T12:00:00Z")
    assert admin_api("POST", "/v1/campaigns", campaign(holdout_percent=50)).status == 201
    at("2026-12-10T08:00:00Z")
    from asusual.campaigns.plan import in_holdout

    held = {p for p in ids.values() if in_holdout("pets-december", p, 50)}
    sent = {m["profile_id"] for m in outbox() if m["trigger"] == "campaign"}
    assert sent == set(ids.values()) - held
    view = admin_api("GET", "/v1/campaigns/pets-december").json()
    assert (view["audience"], view["holdout"], view["sent"]) == (12, len(held), 12 - len(held))
    assert view["holdout"] + view["sent"] == view["audience"]


def test_campaign_cancelled_mid_send_stops_the_rest(members, admin_api, at, outbox):
    ids = members(("vlad", "Asia/Vladivostok", CONSENT), ("mos1", "Europe/Moscow", CONSENT))
    at("2026-12-09T12:00:00Z")
    assert admin_api("POST", "/v1/campaigns", campaign()).status == 201
    at("2026-12-10T00:01:00Z")  # Vladivostok has it; Moscow waits
    cancelled = admin_api("POST", "/v1/campaigns/pets-december/cancel")
    assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
    at("2026-12-10T12:00:00Z")
    assert [m["profile_id"] for m in outbox() if m["trigger"] == "campaign"] == [ids["vlad"]]
    view = admin_api("GET", "/v1/campaigns/pets-december").json()
    assert (view["status"], view["sent"], view["skipped"]) == ("cancelled", 1, {"cancelled": 1})
    assert admin_api("POST", "/v1/campaigns/pets-december/cancel").status == 200


def test_campaign_routes_answer_404_409_and_400_naming_the_field(members, admin_api, at):
    members(("vlad", "Asia/Vladivostok", CONSENT))
    assert admin_api("GET", "/v1/campaigns/none").status == 404
    assert admin_api("GET", "/v1/campaigns/" + "x" * 3000).status == 404
    assert admin_api("POST", "/v1/campaigns", campaign(segment_id="cats")).json()["message"] == (
        "segment_id: no segment 'cats'"
    )
    bad = admin_api("POST", "/v1/campaigns", campaign(content={"ru": {"text": "{{ nme }}"}}))
    assert (bad.status, bad.json()["message"]) == (400, "content.ru.text: unknown variable(s) nme")
    assert admin_api("POST", "/v1/campaigns", campaign()).status == 201
    assert admin_api("POST", "/v1/campaigns", campaign()).status == 409


def test_campaign_preview_sends_nothing_and_shows_size_sample_and_her_message(members, admin_api, at, outbox):
    ids = members(("vlad", "Asia/Vladivostok", CONSENT))
    at("2026-12-09T12:00:00Z")
    before = len(outbox())
    answer = admin_api("POST", "/v1/campaigns/preview", {**campaign(), "profile_id": ids["vlad"]})
    assert answer.status == 200, answer.body
    preview = answer.json()
    assert [s["profile_id"] for s in preview["sample"]] == [ids["vlad"]]
    message = preview["message"]
    assert (message["channel"], message["locale"], message["local_send_at"]) == (
        "email",
        "ru",
        "2026-12-10T10:00:00+10:00",
    )
    assert message["subject"] == "Vlad, корм по скидке"
    assert "«Покупатели корма»" in message["text"]
    assert len(outbox()) == before
    assert admin_api("GET", "/v1/campaigns/pets-december").status == 404
