"""Erasure and export on moto: a person with everything the engine can hold about someone (two
merged profiles, consent records, orders and a status, a replenishment reminder and its interval
observation, a birthday entry, messages with explanations and send-once records, caps, the day's
offer and price, a deferred message) is exported whole, then erased: nothing of her remains in the
table, her identifiers stay out, and the other customer is untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.profiles import data_json
from asusual.triggers.models import Topic, make_intent
from tests.integration.test_delivery import CAT_FOOD_DUE, CATALOG, publish

MOSCOW = "Europe/Moscow"
ANNA = {
    "user_id": "u-anna-erase",
    "email": "anna.erase@example.com",
    "phone": "+79161112233",
    "anonymous_id": "anon-anna-web",
    "name": "Аннушка",
    "surname": "Стирающаяся",
}


def table_text() -> list[str]:
    """Every item of the table as text, compressed profile data decompressed."""
    db = clients.dynamodb()
    table = get_settings().table_name
    texts = []
    kwargs: dict = {"TableName": table}
    while True:
        page = db.scan(**kwargs)
        for item in page["Items"]:
            parts = []
            for name, value in item.items():
                if "B" in value:
                    parts.append(f"{name}={data_json(value['B']).decode()}")
                else:
                    parts.append(f"{name}={json.dumps(value, ensure_ascii=False)}")
            texts.append(" ".join(parts))
        if "LastEvaluatedKey" not in page:
            return texts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def traces(exported: dict, message_ids: list[str]) -> list[str]:
    """The table's items that still hold anything of Anna: her profile ids, identifiers (also the
    phone without "+"), names, birthday, order ids, the tracking number, her messages' ids."""
    values = (
        *exported["profile_ids"], *ANNA.values(), "79161112233", "esp-contact-1", "ord-anna-", "TRK-ANNA",
        "1990-11-25", *message_ids,
    )  # fmt: skip
    return [text for text in table_text() if any(value in text for value in values)]


def event(kind, ts, **fields):
    return {"type": kind, "timestamp": ts, **fields}


@pytest.fixture
def admin_profiles(runtime):
    from functions.profiles_api import handler
    from tests.integration.conftest import json_api

    return json_api(handler, "profiles_api", "admin_local_key")


@pytest.fixture
def story(send, admin_api, decide_api, profile, runtime, at):
    """Anna (merged from an email-service contact and a web visitor) and Boris, in Moscow."""
    answer = admin_api("POST", "/v1/catalog/products", {"products": CATALOG})
    assert answer.status == 200 and not answer.json()["rejected"], answer.body
    at("2026-11-23T07:00:00Z")  # 10:00 in Moscow
    # the email service knows her address, the web shop her cookie: two profiles
    send("email_local_key", event("identify", "2026-11-23T07:00:00Z", anonymousId="esp-contact-1",
                                  traits={"email": ANNA["email"]}))  # fmt: skip
    send(
        "web_local_key", event("page", "2026-11-23T07:01:00Z", anonymousId=ANNA["anonymous_id"], name="Home")
    )
    # she signs in: one person, with her consent, birthday and phone
    traits = {
        "email": ANNA["email"],
        "phone": ANNA["phone"],
        "firstName": ANNA["name"],
        "lastName": ANNA["surname"],
        "birthday": "1990-11-25",
        "timezone": MOSCOW,
        "subscriptions": {"email": {"marketing": True}},
    }
    send("web_local_key", event("identify", "2026-11-23T07:02:00Z", userId=ANNA["user_id"],
                                anonymousId=ANNA["anonymous_id"], traits=traits))  # fmt: skip

    def web(kind: str, ts: str, **fields) -> None:
        send("web_local_key", event(kind, ts, **fields))

    line = {"product_id": "food-1", "quantity": 1, "price": 1290}
    for n, ts in ((1, "2026-10-20T07:00:00Z"), (2, "2026-11-23T07:05:00Z")):
        order = {"order_id": f"ord-anna-{n}", "total": 1290, "currency": "RUB", "products": [line]}
        web("track", ts, userId=ANNA["user_id"], event="Order Completed", properties=order)
    shipped = {"order_id": "ord-anna-2", "tracking_number": "TRK-ANNA"}
    web("track", "2026-11-23T07:06:00Z", userId=ANNA["user_id"], event="Order Shipped", properties=shipped)
    boris = {
        "email": "boris@example.com",
        "timezone": MOSCOW,
        "subscriptions": {"email": {"marketing": True}},
    }
    web("identify", "2026-11-23T07:07:00Z", userId="u-boris", traits=boris)
    order = {"order_id": "ord-boris-1", "products": [{"product_id": "tea-1"}]}
    web("track", "2026-11-23T07:08:00Z", userId="u-boris", event="Order Completed", properties=order)
    # the site asks what to show her: the day's offer and price are kept for her local day
    decided = decide_api("POST", "/v1/decide", {"identifier": {"type": "user_id", "value": ANNA["user_id"]},
                                                 "placement": "site_banner", "channel": "web"})  # fmt: skip
    assert decided.status == 200, decided.body
    anna = profile("user_id", ANNA["user_id"])["profile_id"]
    # a second marketing message today (after the welcome) waits for tomorrow: a deferred intent
    publish(
        runtime,
        make_intent(anna, Topic.MARKETING, f"replenish:{anna}:food-1", CAT_FOOD_DUE, runtime.clock.now()),
    )
    runtime.run()
    return anna


def quoted(kind: str, value: str) -> str:
    return f"/v1/profiles/{kind}/{quote(value, safe='')}"


def test_export_returns_everything_held_about_the_person_and_nothing_of_another(story, admin_profiles):
    answer = admin_profiles("GET", quoted("email", ANNA["email"]) + "/export")
    assert answer.status == 200, answer.body
    data = answer.json()
    assert data["profile_id"] == story and len(data["profile_ids"]) == 2  # the merged contact too
    kinds = set(data["items"])
    assert {
        "profile", "consent", "merge", "identifier", "birthday", "order", "reminder",
        "interval_observation", "message", "send_once", "caps", "day_offer", "day_price", "deferred",
    } <= kinds, kinds  # fmt: skip
    text = json.dumps(data, ensure_ascii=False)
    for value in (ANNA["email"], ANNA["phone"], ANNA["name"], "ord-anna-1", "TRK-ANNA", "1990-11-25"):
        assert value in text
    assert "boris" not in text.lower()
    consent = data["items"]["consent"][0]["data"]
    assert consent["channel"] == "email" and consent["subscribed"] is True and consent["at"]


def test_erasure_leaves_nothing_of_the_person_in_the_table_and_keeps_the_other_customer(
    story, admin_profiles, profile, runtime
):
    exported = admin_profiles("GET", quoted("phone", "8 916 111-22-33") + "/export").json()
    message_ids = [m["data"]["message_id"] for m in exported["items"]["message"]]
    assert len(message_ids) == 3  # the welcome and two order updates
    before = traces(exported, message_ids)
    assert len(before) >= 20, before  # the search finds her: profiles, claims, orders, messages, ...
    assert not [t for t in table_text() if "ERASURE#" in t or "SUPPRESS#" in t]

    answer = admin_profiles("DELETE", quoted("phone", "8 916 111-22-33"))  # any identifier, any format
    assert answer.status == 200, answer.body
    record = answer.json()
    assert record["status"] == "completed" and record["profiles"] == 2
    assert record["identifiers_suppressed"] == 5  # user id, email, phone, two anonymous ids
    assert record["deleted"]["profile"] == 2 and record["deleted"]["message"] == len(message_ids)
    assert record["identifier_type"] == "phone" and record["pending_profile_ids"] == []
    assert traces(exported, message_ids) == []
    audit = [t for t in table_text() if "ERASURE#" in t]
    assert len(audit) == 1 and "anna" not in audit[0].lower()
    # the other customer is untouched
    boris = profile("user_id", "u-boris")
    assert boris is not None and boris["email"] == "boris@example.com" and len(boris["purchases"]) == 1
    assert any("ord-boris-1" in t for t in table_text())


def test_events_naming_an_erased_identifier_are_dropped_and_counted(
    story, admin_profiles, send, profile, capsys
):
    assert admin_profiles("DELETE", quoted("user_id", ANNA["user_id"])).status == 200
    capsys.readouterr()
    send("web_local_key", event("identify", "2026-11-23T08:00:00Z", anonymousId="anon-new-device",
                                traits={"email": ANNA["email"], "firstName": ANNA["name"]}))  # fmt: skip
    send("web_local_key", event("page", "2026-11-23T08:01:00Z", anonymousId=ANNA["anonymous_id"]))
    assert '"EventsSuppressed"' in capsys.readouterr().out
    assert profile("email", ANNA["email"]) is None
    assert profile("anonymous_id", "anon-new-device") is None  # nothing of the event was kept
    assert profile("anonymous_id", ANNA["anonymous_id"]) is None
    assert not [t for t in table_text() if ANNA["name"] in t or "anon-new-device" in t]
    # someone else is not affected
    send("web_local_key", event("identify", "2026-11-23T08:02:00Z", userId="u-carla",
                                traits={"email": "carla@example.com"}))  # fmt: skip
    assert profile("email", "carla@example.com") is not None


def test_a_lifted_suppression_lets_the_customer_sign_up_again_with_nothing_of_before(
    story, admin_profiles, send, profile
):
    assert admin_profiles("DELETE", quoted("email", ANNA["email"])).status == 200
    assert admin_profiles("DELETE", quoted("email", ANNA["email"]) + "/suppression").status == 204
    assert admin_profiles("DELETE", quoted("email", ANNA["email"]) + "/suppression").status == 404
    send("web_local_key", event("identify", "2026-11-23T09:00:00Z", userId="u-anna-new",
                                traits={"email": ANNA["email"]}))  # fmt: skip
    again = profile("email", ANNA["email"])
    assert again is not None and again["profile_id"] != story and again["first_name"] is None
    assert again["purchases"] == []  # nothing erased came back
    assert profile("user_id", ANNA["user_id"]) is None  # her other identifiers stay suppressed


def test_erasure_repeated_answers_the_same_record_and_unknown_people_are_not_found(story, admin_profiles):
    first = admin_profiles("DELETE", quoted("email", ANNA["email"])).json()
    again = admin_profiles("DELETE", quoted("anonymous_id", ANNA["anonymous_id"]))
    assert again.status == 200 and again.json() == first
    nobody = admin_profiles("DELETE", quoted("email", "nobody@example.com"))
    assert nobody.status == 404 and "email" in nobody.json()["message"]
    assert admin_profiles("GET", quoted("email", ANNA["email"]) + "/export").status == 404


def test_privacy_requests_need_an_admin_key(story, profiles_api):
    for method, path in (("DELETE", quoted("email", ANNA["email"])),
                         ("GET", quoted("email", ANNA["email"]) + "/export")):  # fmt: skip
        assert profiles_api(method, path).status == 403  # the read key
        assert profiles_api(method, path, key=None).status == 401


def test_links_carry_no_address_and_after_erasure_open_like_a_forged_link(
    story, admin_profiles, outbox, messages_api, profile, runtime
):
    import base64
    from urllib.parse import urlsplit

    welcome = next(m for m in outbox() if m["profile_id"] == story and m["topic"] == "marketing")
    for url in (welcome["why_url"], welcome["unsubscribe_url"]):
        payload = urlsplit(url).query.split("token=")[1].split(".")[0]
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        assert ANNA["email"] not in claims and ANNA["name"] not in claims and '"a"' not in claims
    why = urlsplit(welcome["why_url"])
    assert messages_api("GET", f"{why.path}?{why.query}", key=None).status == 200
    assert admin_profiles("DELETE", quoted("email", ANNA["email"])).status == 200

    erased = messages_api("GET", f"{why.path}?{why.query}", key=None)
    forged_token = why.query.split("token=")[1][:-2] + "xx"
    forged = messages_api("GET", f"{why.path}?token={forged_token}", key=None)
    assert erased.status == forged.status == 403
    assert erased.json()["code"] == forged.json()["code"] == "invalid_link"
    # the unsubscribe link still answers (it tells nothing) and recreates nobody
    unsubscribe = urlsplit(welcome["unsubscribe_url"])
    assert messages_api("POST", f"{unsubscribe.path}?{unsubscribe.query}", key=None).status == 200
    runtime.run()
    assert profile("email", ANNA["email"]) is None
    assert not [t for t in table_text() if ANNA["email"] in t]


def test_message_log_retention_is_configurable(send, profile, runtime, at, monkeypatch):
    monkeypatch.setenv("ASUSUAL_MESSAGE_LOG_DAYS", "30")
    runtime._reset_caches()  # a new deployment's containers read the setting
    at("2026-11-23T09:00:00Z")
    send("web_local_key", event("identify", "2026-11-23T09:00:00Z", userId="u-ret",
                                traits={"email": "ret@example.com", "timezone": MOSCOW,
                                        "subscriptions": {"email": {"marketing": True}}}))  # fmt: skip
    items = clients.dynamodb().scan(TableName=get_settings().table_name)["Items"]
    [message] = [i for i in items if i["pk"]["S"].startswith("MESSAGE#")]
    sent = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert int(message["expires_at"]["N"]) == int((sent + timedelta(days=30)).timestamp())


def test_local_mode_signs_links_with_a_secret_generated_at_start_and_kept_in_secrets_manager(runtime):
    import os

    from asusual.local.runtime import LINK_SECRET_NAME
    from asusual.store.secrets import link_secrets

    assert "ASUSUAL_LINK_SECRETS" not in os.environ  # no fixed secret in the environment
    stored = clients.secretsmanager().get_secret_value(SecretId=os.environ["ASUSUAL_LINK_SECRETS_ARN"])
    assert stored["Name"] == LINK_SECRET_NAME and len(stored["SecretString"]) >= 43  # 256 random bits
    assert link_secrets() == (stored["SecretString"].encode(),)  # read as a deployed stage reads it
    runtime.stop()
    runtime.start()  # a new start, a new secret
    again = clients.secretsmanager().get_secret_value(SecretId=os.environ["ASUSUAL_LINK_SECRETS_ARN"])
    assert again["SecretString"] != stored["SecretString"]
