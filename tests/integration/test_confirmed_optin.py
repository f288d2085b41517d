"""Confirmed (double) opt-in over the local runtime: marketing consent a public source (the shop's
pages, key known to everyone) asserts for email or SMS waits for the address to confirm it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository

MOSCOW = "Europe/Moscow"
PUBLIC = "browser_local_key"  # the shop's pages: a public source
SERVER = "web_local_key"  # the shop's backend: a server-side source
CONFIRM_PATH = "/v1/consent/confirm"


def identify(user, ts="2026-11-23T09:00:00Z", message_id=None, **traits):
    message = {"type": "identify", "userId": user, "traits": traits, "timestamp": ts}
    return {**message, "messageId": message_id} if message_id else message


def subscribe(user, channel="email", ts="2026-11-23T09:00:00Z", message_id=None, **traits):
    traits = {"timezone": MOSCOW, **traits, "subscriptions": {channel: {"marketing": True}}}
    return identify(user, ts, message_id, **traits)


def withdraw(user, channel="email", ts="2026-11-23T09:30:00Z"):
    return identify(user, ts, subscriptions={channel: {"marketing": False}})


def link_of(message) -> str:
    """The confirmation link in the message's body (the only link to /v1/consent/confirm)."""
    [url] = [w for w in message["body"].split() if CONFIRM_PATH in w]
    return url


def path_of(url) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_of(url) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def history(profile_id) -> list[dict]:
    return DynamoProfileRepository(clients.dynamodb(), "asusual-local").consent_history(profile_id)


def steps(profile_id) -> list[tuple]:
    return [
        (h["channel"], h["topic"], h["subscribed"], h["source_id"], h.get("pending", False))
        for h in history(profile_id)
    ]


@pytest.fixture
def confirm(messages_api, runtime):
    """POST the confirmation link as the customer's browser does, then let the processor apply it."""

    def post(url):
        answer = messages_api("POST", path_of(url), raw=b"", key=None)
        runtime.run()
        return answer

    return post


@pytest.fixture
def anna(send, outbox, profile):
    """Anna subscribes on the shop's page (a public source): a confirmation, nothing else."""
    send(PUBLIC, subscribe("u-anna", email="anna@example.com", firstName="Анна"))
    return profile("user_id", "u-anna")["profile_id"]


def test_public_subscription_sends_one_confirmation_to_the_address_and_nothing_else(anna, outbox, profile):
    [message] = outbox()
    assert (message["trigger"], message["channel"], message["to"], message["topic"]) == (
        "consent_confirmation", "email", "anna@example.com", "transactional"
    )  # fmt: skip
    assert message["profile_id"] == anna and message["unsubscribe_url"] is None
    assert message["subject"] == "Подтвердите подписку" and message["locale"] == "ru"
    assert "Анна" not in message["body"]  # never by name: anyone can type anyone's name
    assert "anna" not in link_of(message).lower()  # the link carries ids only
    view = profile("user_id", "u-anna")
    assert view["subscriptions"] == {}
    assert view["pending_subscriptions"] == {"email": {"marketing": True}}
    assert steps(anna) == [("email", "marketing", True, "browser_local", True)]


def test_public_subscription_again_the_same_day_still_one_confirmation(anna, send, outbox):
    send(PUBLIC, subscribe("u-anna", ts="2026-11-23T09:05:00Z", email="anna@example.com"))
    send(PUBLIC, subscribe("u-anna", ts="2026-11-23T09:06:00Z"))
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation"]


def test_public_subscription_again_the_next_local_day_asks_again(anna, send, outbox, runtime):
    runtime.clock.set(runtime.clock.now() + timedelta(days=1))
    send(PUBLIC, subscribe("u-anna", ts="2026-11-24T09:00:00Z", email="anna@example.com"))
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation", "consent_confirmation"]
    assert outbox()[0]["send_once_key"] != outbox()[1]["send_once_key"]


def test_confirmation_post_grants_the_consent_and_sends_the_welcome(anna, outbox, confirm, profile, runtime):
    [asked] = outbox()
    runtime.clock.set(runtime.clock.now() + timedelta(minutes=10))
    answer = confirm(link_of(asked))
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/html")
    assert '<html lang="ru">' in answer.body.decode() and "Подписка подтверждена" in answer.body.decode()
    assert [(m["trigger"], m["to"]) for m in outbox()] == [
        ("consent_confirmation", "anna@example.com"),
        ("welcome", "anna@example.com"),
    ]
    view = profile("user_id", "u-anna")
    assert view["subscriptions"] == {"email": {"marketing": True}} and view["pending_subscriptions"] == {}
    asserted, confirmed = history(anna)
    assert steps(anna) == [
        ("email", "marketing", True, "browser_local", True),
        ("email", "marketing", True, "consent_confirmation", False),
    ]
    assert asserted["at"] == "2026-11-23T09:00:00+00:00"
    assert confirmed["confirmed_at"] == "2026-11-23T09:10:00+00:00"
    assert confirmed["confirms"] == {
        "at": "2026-11-23T09:00:00Z",
        "message_id": asserted["message_id"],
        "source_id": "browser_local",
    }


def test_welcome_after_confirmation_explains_the_confirmed_opt_in(
    anna, outbox, confirm, messages_api, runtime
):
    runtime.clock.set(runtime.clock.now() + timedelta(minutes=10))
    confirm(link_of(outbox()[0]))
    welcome = outbox()[1]
    assert welcome["unsubscribe_url"] is not None
    why = messages_api("GET", path_of(welcome["why_url"]), key=None)
    assert why.status == 200, why.body
    assert why.json()["explanation"]["consent"] == {
        "channel": "email",
        "topic": "marketing",
        "basis": "confirmed_opt_in",
        "at": "2026-11-23T09:10:00Z",
        "source_id": "consent_confirmation",
        "consent_version": None,
    }


def test_confirmation_get_or_head_changes_nothing(anna, outbox, messages_api, runtime, profile):
    [asked] = outbox()
    page = messages_api("GET", path_of(link_of(asked)), key=None)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert '<html lang="ru">' in text and 'name="viewport"' in text
    action = f'action="{link_of(asked).split("?")[0]}?token={token_of(link_of(asked))}">'
    assert f'<form method="post" {action}' in text  # the form posts the same link back
    assert messages_api("HEAD", path_of(link_of(asked)), key=None).status == 404  # no route: nothing runs
    runtime.run()
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation"]
    assert profile("user_id", "u-anna")["subscriptions"] == {}
    assert len(history(anna)) == 1


def test_confirmation_twice_changes_nothing_more(anna, outbox, confirm):
    [asked] = outbox()
    assert confirm(link_of(asked)).status == 200
    assert confirm(link_of(asked)).status == 200
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation", "welcome"]
    assert len(history(anna)) == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_confirmation_forged_or_expired_link_is_a_page_and_changes_nothing(
    method, anna, outbox, messages_api, runtime, profile
):
    url = link_of(outbox()[0])
    forged = messages_api(method, f"{CONFIRM_PATH}?token={token_of(url)}x", key=None)
    assert forged.status == 403 and "<h1>Ссылка не работает</h1>" in forged.body.decode()
    assert forged.headers["Content-Type"].startswith("text/html")
    runtime.clock.set(runtime.clock.now() + timedelta(days=91))  # ASUSUAL_LINK_TTL_DAYS: 90
    expired = messages_api(method, path_of(url), key=None)
    assert expired.status == 403 and "<form" not in expired.body.decode()
    runtime.run()
    assert profile("user_id", "u-anna")["subscriptions"] == {}
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation"]


def test_confirmation_after_a_withdrawal_in_between_does_not_grant(
    anna, send, outbox, confirm, profile, runtime
):
    [asked] = outbox()
    runtime.clock.set(runtime.clock.now() + timedelta(minutes=30))
    send(PUBLIC, withdraw("u-anna"))  # 09:30: she (or anyone) withdraws before confirming
    assert confirm(link_of(asked)).status == 200
    view = profile("user_id", "u-anna")
    assert view["subscriptions"] == {"email": {"marketing": False}} and view["pending_subscriptions"] == {}
    assert [m["trigger"] for m in outbox()] == ["consent_confirmation"]


def test_withdrawal_from_a_public_source_applies_at_once(send, outbox, profile):
    send(SERVER, subscribe("u-boris", email="boris@example.com"))
    assert [m["trigger"] for m in outbox()] == ["welcome"]
    send(PUBLIC, withdraw("u-boris"))
    view = profile("user_id", "u-boris")
    assert view["subscriptions"] == {"email": {"marketing": False}}
    boris = view["profile_id"]
    assert steps(boris) == [
        ("email", "marketing", True, "web_local", False),
        ("email", "marketing", False, "browser_local", False),
    ]


def test_server_side_subscription_is_welcomed_at_once_without_confirmation(send, outbox, profile):
    send(SERVER, subscribe("u-vera", email="vera@example.com"))
    assert [(m["trigger"], m["to"]) for m in outbox()] == [("welcome", "vera@example.com")]
    view = profile("user_id", "u-vera")
    assert view["subscriptions"] == {"email": {"marketing": True}} and view["pending_subscriptions"] == {}


def test_public_subscription_of_a_customer_already_subscribed_asks_nothing(send, outbox, profile):
    send(SERVER, subscribe("u-vera", email="vera@example.com"))
    send(PUBLIC, subscribe("u-vera", ts="2026-11-23T09:10:00Z"))
    assert [m["trigger"] for m in outbox()] == ["welcome"]
    assert profile("user_id", "u-vera")["pending_subscriptions"] == {}


def test_public_sms_subscription_is_confirmed_by_the_phone(send, outbox, confirm, profile):
    send(PUBLIC, subscribe("u-gleb", channel="sms", phone="8 (916) 765-43-21"))
    [asked] = outbox()
    assert (asked["trigger"], asked["channel"], asked["to"]) == (
        "consent_confirmation",
        "sms",
        "+79167654321",
    )
    assert confirm(link_of(asked)).status == 200
    assert [(m["trigger"], m["channel"]) for m in outbox()] == [
        ("consent_confirmation", "sms"),
        ("welcome", "sms"),
    ]
    assert profile("user_id", "u-gleb")["subscriptions"] == {"sms": {"marketing": True}}


def test_public_subscription_in_english_gets_an_english_confirmation_and_page(
    send, outbox, messages_api, confirm
):
    send(PUBLIC, subscribe("u-emma", email="emma@example.com", locale="en-GB"))
    [asked] = outbox()
    assert asked["locale"] == "en" and asked["subject"] == "Please confirm your subscription"
    page = messages_api("GET", path_of(link_of(asked)), key=None).body.decode()
    assert '<html lang="en">' in page and "Confirm my subscription" in page
    assert "Subscription confirmed" in confirm(link_of(asked)).body.decode()


def test_export_holds_both_steps_of_the_consent(anna, outbox, confirm, profiles_api):
    confirm(link_of(outbox()[0]))
    export = profiles_api("GET", "/v1/profiles/user_id/u-anna/export", key="admin_local_key")
    assert export.status == 200, export.body
    records = [item["data"] for item in export.json()["items"]["consent"]]
    assert [(r["source_id"], r.get("pending"), "confirmed_at" in r) for r in records] == [
        ("browser_local", True, False),
        ("consent_confirmation", None, True),
    ]
