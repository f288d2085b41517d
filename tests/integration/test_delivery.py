"""The dispatcher on moto: channel, consent, caps, quiet hours, send once, why links, unsubscribe."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from asusual.channels.outbox import OUTBOX
from asusual.delivery.records import ReserveOutcome
from asusual.errors import TransientError
from asusual.store import clients
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsIntentPublisher
from asusual.triggers.models import BirthdayFacts, ReplenishmentFacts, Topic, make_intent

MOSCOW = "Europe/Moscow"
CATALOG = [
    {"product_id": "tea-1", "name": "Чай Ahmad Earl Grey", "price": "349.00", "currency": "RUB",
     "category": "tea", "promoted": True},
    {"product_id": "jacket-1", "name": "Пуховик Arctic", "price": "12990.00", "currency": "RUB",
     "category": "outerwear", "seasons": ["winter"], "promoted": True},
    {"product_id": "sunscreen-1", "name": "Крем SPF 50", "price": "890.00", "currency": "RUB",
     "category": "care", "seasons": ["summer"], "promoted": True},
    {"product_id": "test-1", "name": "Тест на беременность Clearblue", "price": "590.00", "currency": "RUB",
     "category": "pharmacy", "sensitive": True, "replenish_days": 30},
    {"product_id": "food-1", "name": "Корм Purina One", "price": "1290.00", "currency": "RUB",
     "category": "pets", "replenish_days": 26},
]  # fmt: skip


# a cat-food reminder due on Nov 23 (bought Oct 28, lasts 26 days)
CAT_FOOD_DUE = ReplenishmentFacts(
    product_id="food-1", product_name="Корм Purina One",
    last_purchase_at=datetime(2026, 10, 28, 9, tzinfo=UTC), last_purchase_channel="web", quantity=1,
    days_since=26, expected_runout_at=datetime(2026, 11, 23, 9, tzinfo=UTC), basis="catalog",
)  # fmt: skip


def identify(user, ts="2026-11-23T09:00:00Z", **traits):
    return {"type": "identify", "userId": user, "traits": traits, "timestamp": ts}


def order(user, event, order_id, ts="2026-11-23T09:00:00Z", **props):
    properties = {"order_id": order_id, **props}
    return {"type": "track", "userId": user, "event": event, "properties": properties, "timestamp": ts}


def mine(outbox, profile_id):
    return [m for m in outbox() if m["profile_id"] == profile_id]


def token_of(url):
    return parse_qs(urlsplit(url).query)["token"][0]


def publish(runtime, *intents):
    SqsIntentPublisher(clients.sqs(), runtime.queue_urls["intents"]).publish(list(intents))


@pytest.fixture
def catalog(admin_api):
    answer = admin_api("POST", "/v1/catalog/products", {"products": CATALOG})
    assert answer.status == 200 and not answer.json()["rejected"], answer.body


@pytest.fixture
def anna(send, profile):
    """Anna in Moscow: email marketing consent, a declared gender, no orders yet."""
    send(
        "web_local_key",
        identify(
            "u-anna",
            email="anna@example.com",
            firstName="Анна",
            middleName="Сергеевна",
            gender="female",
            timezone=MOSCOW,
            phone="+79161234567",
            subscriptions={"email": {"marketing": True}},
        ),
    )
    return profile("user_id", "u-anna")["profile_id"]


# -- transactional --------------------------------------------------------------------------------
def test_order_updates_go_to_a_customer_without_marketing_consent_once_each(send, profile, outbox, catalog):
    send("web_local_key", identify("u-ivan", email="ivan@example.com", firstName="Иван", timezone=MOSCOW))
    send(
        "web_local_key",
        order("u-ivan", "Order Completed", "o-1", total=1290, currency="RUB",
              products=[{"product_id": "food-1", "name": "Корм Purina One", "price": 1290, "quantity": 1}]),
    )  # fmt: skip
    shipped = order(
        "u-ivan", "Order Shipped", "o-1", ts="2026-11-23T09:05:00Z", tracking_number="RA123456789RU"
    )
    send("web_local_key", {**shipped, "messageId": "ship-1"})
    send("web_local_key", {**shipped, "messageId": "ship-1"})  # the same event again
    send("web_local_key", {**shipped, "messageId": "ship-2"})  # the same status, reported twice
    profile_id = profile("user_id", "u-ivan")["profile_id"]
    sent = mine(outbox, profile_id)
    assert [(m["trigger"], m["channel"], m["to"]) for m in sent] == [
        ("order_placed", "email", "ivan@example.com"),
        ("order_shipped", "email", "ivan@example.com"),
    ]
    assert all(m["topic"] == "transactional" and m["unsubscribe_url"] is None for m in sent)
    assert "RA123456789RU" in sent[1]["body"]


def test_the_same_intent_delivered_again_is_sent_once(send, profile, outbox, runtime, catalog, anna):
    runtime.clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))  # the welcome used yesterday's marketing slot
    facts = CAT_FOOD_DUE
    intent = make_intent(
        anna, Topic.MARKETING, f"replenishment:{anna}:food-1:2026-10-28", facts, runtime.clock.now()
    )
    publish(runtime, intent, intent)
    runtime.run()
    publish(runtime, intent)
    runtime.run()
    reminders = [m for m in mine(outbox, anna) if m["trigger"] == "replenishment"]
    assert len(reminders) == 1
    body = " ".join(reminders[0]["body"].replace("\u00a0", " ").replace("\u202f", " ").split())
    assert "Purina One" in body and "1 290" in body, body


def test_a_retryable_channel_failure_releases_the_key_and_the_retry_sends_once(
    send, outbox, runtime, catalog, anna, monkeypatch
):
    calls = {"n": 0}
    original = type(OUTBOX).append

    def flaky(self, record):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("the channel is unavailable; retry")
        return original(self, record)

    monkeypatch.setattr(type(OUTBOX), "append", flaky)
    runtime.clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))  # the welcome used yesterday's marketing slot
    facts = BirthdayFacts(birthday=date(1990, 11, 24), celebrated_on=date(2026, 11, 24), year=2026,
                          timezones=(MOSCOW,))  # fmt: skip
    publish(runtime, make_intent(anna, Topic.MARKETING, f"birthday:{anna}:2026", facts, runtime.clock.now()))
    report = runtime.run()
    assert report["queues"]["intents"]["failed"] == 1
    birthdays = [m for m in mine(outbox, anna) if m["trigger"] == "birthday"]
    assert len(birthdays) == 1 and calls["n"] == 2
    record = DynamoMessageRepository(clients.dynamodb(), "asusual-local").message(birthdays[0]["id"])
    assert record is not None and record.status.value == "sent"


# -- marketing: consent, quiet hours, caps -----------------------------------------------------
def test_a_new_subscriber_late_in_the_evening_is_welcomed_at_nine_local_next_morning(
    send, profile, outbox, at, messages_api
):
    send(
        "web_local_key",
        identify("u-late", ts="2026-11-23T19:00:00Z", email="late@example.com", timezone=MOSCOW,
                 subscriptions={"email": {"marketing": True}}),
        run=False,
    )  # fmt: skip
    at("2026-11-23T19:00:00Z")  # 22:00 in Moscow: quiet hours
    profile_id = profile("user_id", "u-late")["profile_id"]
    assert mine(outbox, profile_id) == []
    at("2026-11-24T05:45:00Z")  # 08:45
    assert mine(outbox, profile_id) == []
    at("2026-11-24T06:00:00Z")  # 09:00: the deferred sweep releases it
    [welcome] = mine(outbox, profile_id)
    assert welcome["trigger"] == "welcome"
    assert welcome["local_sent_at"] == "2026-11-24T09:00:00+03:00"
    assert welcome["unsubscribe_url"] and "/v1/unsubscribe?token=" in welcome["unsubscribe_url"]
    why = messages_api("GET", f"/v1/messages/{welcome['id']}/why").json()
    assert why["explanation"]["quiet_hours"]["deferrals"] == [
        {"reason": "quiet_hours", "deferred_at": "2026-11-23T19:00:00Z", "release_at": "2026-11-24T06:00:00Z"}
    ]


def test_consent_withdrawn_while_a_message_waits_is_checked_again_at_send_time(send, profile, outbox, at):
    at("2026-11-23T19:00:00Z")  # 22:00 in Moscow: the welcome waits for 09:00
    send(
        "web_local_key",
        identify("u-late", ts="2026-11-23T19:00:00Z", email="late@example.com", timezone=MOSCOW,
                 subscriptions={"email": {"marketing": True, "consent_version": "2026-11"}}),
    )  # fmt: skip
    profile_id = profile("user_id", "u-late")["profile_id"]
    # 23:30: she changes her mind in the app's settings
    at("2026-11-23T20:30:00Z")
    withdrawn = identify("u-late", ts="2026-11-23T20:30:00Z", subscriptions={"email": {"marketing": False}})
    send("app_local_key", withdrawn)
    at("2026-11-24T06:00:00Z")  # 09:00: the deferred welcome is decided again, with today's consent
    assert mine(outbox, profile_id) == []
    history = DynamoProfileRepository(clients.dynamodb(), "asusual-local").consent_history(profile_id)
    assert [(h["subscribed"], h["source_id"], h["at"][:16]) for h in history] == [
        (True, "web_local", "2026-11-23T19:00"),
        (False, "app_local", "2026-11-23T20:30"),
    ]
    assert history[0]["consent_version"] == "2026-11" and history[0]["message_id"]


def test_an_imported_old_subscription_is_kept_but_not_welcomed(send, profile, outbox):
    send(
        "web_local_key",
        identify("u-2024", ts="2024-05-01T09:00:00Z", email="old@example.com", timezone=MOSCOW,
                 subscriptions={"email": {"marketing": True}}),
    )  # fmt: skip
    found = profile("user_id", "u-2024")
    assert found["subscriptions"]["email"]["marketing"] is True
    assert mine(outbox, found["profile_id"]) == []


def test_marketing_without_consent_is_not_sent_but_the_order_update_is(
    send, profile, outbox, runtime, catalog
):
    send("web_local_key", identify("u-nc", email="nc@example.com", timezone=MOSCOW))
    profile_id = profile("user_id", "u-nc")["profile_id"]
    facts = BirthdayFacts(birthday=date(1990, 11, 23), celebrated_on=date(2026, 11, 23), year=2026,
                          timezones=(MOSCOW,))  # fmt: skip
    publish(
        runtime,
        make_intent(profile_id, Topic.MARKETING, f"birthday:{profile_id}:2026", facts, runtime.clock.now()),
    )
    send("web_local_key", order("u-nc", "Order Completed", "o-nc", total=10, currency="RUB"))
    assert [m["trigger"] for m in mine(outbox, profile_id)] == ["order_placed"]


def test_second_marketing_message_of_a_local_day_waits_for_the_next_day(
    send, outbox, runtime, at, catalog, anna, messages_api
):
    [welcome] = mine(outbox, anna)  # 12:00 in Moscow: the welcome used the day's slot
    assert welcome["trigger"] == "welcome"
    facts = CAT_FOOD_DUE
    publish(
        runtime,
        make_intent(anna, Topic.MARKETING, f"replenishment:{anna}:food-1:x", facts, runtime.clock.now()),
    )
    runtime.run()
    assert len(mine(outbox, anna)) == 1
    at("2026-11-23T21:30:00Z")  # 00:30 next day in Moscow: a new day, but quiet hours
    assert len(mine(outbox, anna)) == 1
    at("2026-11-24T06:00:00Z")  # 09:00 Moscow
    sent = mine(outbox, anna)
    assert [m["trigger"] for m in sent] == ["welcome", "replenishment"]
    assert sent[1]["local_sent_at"] == "2026-11-24T09:00:00+03:00"
    why = messages_api("GET", f"/v1/messages/{sent[1]['id']}/why").json()
    assert [d["reason"] for d in why["explanation"]["quiet_hours"]["deferrals"]] == ["frequency_cap"]


def test_unknown_timezone_waits_until_the_window_holds_in_every_zone_of_the_country(
    send, profile, outbox, at
):
    # a Russian number gives no single zone (RU spans 11 offsets): 09:00-21:00 everywhere is 07:00-09:00 UTC
    send(
        "web_local_key",
        identify("u-ru", ts="2026-11-23T10:00:00Z", phone="+79161234567", email="ru@example.com",
                 subscriptions={"email": {"marketing": True}}),
        run=False,
    )  # fmt: skip
    at("2026-11-23T10:00:00Z")
    profile_id = profile("user_id", "u-ru")["profile_id"]
    assert mine(outbox, profile_id) == []
    at("2026-11-24T07:00:00Z")
    [welcome] = mine(outbox, profile_id)
    assert welcome["sent_at"].startswith("2026-11-24T07:00")


# -- why and unsubscribe ---------------------------------------------------------------------------
def test_why_link_opens_the_explanation_for_the_customer_and_only_for_that_message(
    send, outbox, messages_api, anna
):
    [welcome] = mine(outbox, anna)
    path = urlsplit(welcome["why_url"])
    answer = messages_api("GET", f"{path.path}?{path.query}", key=None)
    assert answer.status == 200, answer.body
    why = answer.json()
    explanation = why["explanation"]
    assert explanation["trigger"] == "welcome" and explanation["channel"] == "email"
    assert explanation["consent"]["basis"] == "opt_in" and explanation["consent"]["channel"] == "email"
    assert explanation["caps"] == {"exempt": False, "daily_used": 0, "daily_limit": 1, "weekly_used": 0,
                                   "weekly_limit": 3}  # fmt: skip
    assert explanation["why"] and explanation["why"] in welcome["body"]
    assert explanation["variant"] and explanation["template"]
    # a read key opens it without a token; nobody opens it with neither or with a forged one
    assert messages_api("GET", path.path).status == 200
    assert messages_api("GET", path.path, key=None).status == 401
    assert messages_api("GET", f"{path.path}?token={token_of(welcome['why_url'])}x", key=None).status == 403
    other = path.path.replace(welcome["id"], "m_000000000000000000000000")
    assert messages_api("GET", f"{other}?{path.query}", key=None).status == 403


def test_one_click_unsubscribe_turns_marketing_off_for_that_channel_and_keeps_order_updates(
    send, profile, outbox, messages_api, runtime, catalog, anna
):
    [welcome] = mine(outbox, anna)
    token = token_of(welcome["unsubscribe_url"])
    page = messages_api("GET", f"/v1/unsubscribe?token={token}", key=None)
    assert page.status == 200 and b"<form" in page.body
    runtime.run()
    assert (
        profile("user_id", "u-anna")["subscriptions"]["email"]["marketing"] is True
    )  # a GET changes nothing
    for _twice in range(2):
        answer = messages_api(
            "POST", f"/v1/unsubscribe?token={token}", raw=b"List-Unsubscribe=One-Click", key=None
        )
        assert answer.status == 200, answer.body
    runtime.run()
    assert profile("user_id", "u-anna")["subscriptions"]["email"]["marketing"] is False
    history = DynamoProfileRepository(clients.dynamodb(), "asusual-local").consent_history(anna)
    assert [(h["channel"], h["topic"], h["subscribed"], h["source_id"]) for h in history] == [
        ("email", "marketing", True, "web_local"),
        ("email", "marketing", False, "unsubscribe_link"),
    ]
    assert history[1]["at"] == runtime.clock.now().isoformat()
    facts = BirthdayFacts(birthday=date(1990, 11, 24), celebrated_on=date(2026, 11, 24), year=2026,
                          timezones=(MOSCOW,))  # fmt: skip
    publish(runtime, make_intent(anna, Topic.MARKETING, f"birthday:{anna}:2026", facts, runtime.clock.now()))
    send("web_local_key", order("u-anna", "Order Completed", "o-anna", total=100, currency="RUB"))
    assert [m["trigger"] for m in mine(outbox, anna)] == ["welcome", "order_placed"]
    assert messages_api("POST", "/v1/unsubscribe?token=forged.token", key=None).status == 403


def test_message_log_lists_a_profiles_messages_newest_first(send, outbox, messages_api, anna):
    send(
        "web_local_key",
        order("u-anna", "Order Completed", "o-log", ts="2026-11-23T09:01:00Z", total=5, currency="RUB"),
    )
    answer = messages_api("GET", f"/v1/messages?profile_id={anna}")
    assert answer.status == 200
    log = answer.json()["messages"]
    assert [m["trigger"] for m in log] == ["order_placed", "welcome"]
    assert all(m["status"] == "sent" and m["why"] for m in log)
    assert messages_api("GET", f"/v1/messages?profile_id={anna}", key="admin_local_key").status == 200
    assert messages_api("GET", f"/v1/messages?profile_id={anna}", key=None).status == 401


# -- sensitive products, prices, seasons ------------------------------------------------------------
def test_a_sensitive_product_is_never_named_in_an_sms(send, profile, outbox, runtime, catalog):
    send(
        "web_local_key",
        identify("u-sms", phone="+79161112233", timezone=MOSCOW, firstName="Мария",
                 subscriptions={"sms": {"marketing": True}}),
    )  # fmt: skip
    profile_id = profile("user_id", "u-sms")["profile_id"]
    runtime.clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))  # a new local day for the caps
    facts = ReplenishmentFacts(
        product_id="test-1", product_name="Тест на беременность Clearblue",
        last_purchase_at=datetime(2026, 10, 25, 9, tzinfo=UTC), last_purchase_channel="store", quantity=1,
        days_since=30, expected_runout_at=datetime(2026, 11, 24, 9, tzinfo=UTC), basis="catalog",
    )  # fmt: skip
    publish(runtime, make_intent(profile_id, Topic.MARKETING, f"replenishment:{profile_id}:test-1:x", facts,
                                 runtime.clock.now()))  # fmt: skip
    runtime.run()
    reminder = next(m for m in mine(outbox, profile_id) if m["trigger"] == "replenishment")
    assert reminder["channel"] == "sms"
    assert "Clearblue" not in reminder["body"] and "беременност" not in reminder["body"].lower()


def test_offer_and_price_are_the_same_on_site_pos_and_email_for_the_local_day(
    send, outbox, decide_api, admin_api, messages_api, runtime, catalog, anna
):
    [welcome] = mine(outbox, anna)
    why = messages_api("GET", f"/v1/messages/{welcome['id']}/why").json()["explanation"]
    emailed = why["offer"]
    assert (
        emailed is not None and emailed["product_id"] == "tea-1"
    )  # November in Moscow: no jacket, no sunscreen
    identifier = {"type": "email", "value": "anna@example.com"}
    site = decide_api(
        "POST", "/v1/decide", {"identifier": identifier, "placement": "site_banner", "channel": "web"}
    )
    assert site.status == 200, site.body
    admin_api("POST", "/v1/catalog/products", {**CATALOG[0], "price": "399.00"})  # the price changes at noon
    pos = decide_api("POST", "/v1/decide", {"identifier": {"type": "phone", "value": "8 (916) 123-45-67"},
                                            "placement": "pos_greeting", "channel": "store"})  # fmt: skip
    for answer in (site, pos):
        offer = answer.json()["offer"]
        assert (offer["product_id"], offer["price"], offer["currency"]) == ("tea-1", "349.00", "RUB")
        assert answer.json()["profile_id"] == anna
    runtime.clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))  # the next local day: today's catalog price
    tomorrow = decide_api(
        "POST", "/v1/decide", {"identifier": identifier, "placement": "site_banner", "channel": "web"}
    )
    assert tomorrow.json()["offer"]["price"] == "399.00"


@pytest.mark.parametrize(
    ("zone", "month", "expected"),
    [
        (MOSCOW, 1, {"jacket-1", "tea-1"}),
        (MOSCOW, 7, {"sunscreen-1", "tea-1"}),
        ("Australia/Sydney", 1, {"sunscreen-1", "tea-1"}),
        ("Australia/Sydney", 7, {"jacket-1", "tea-1"}),
    ],
)
def test_offers_follow_the_local_season_of_the_customers_hemisphere(
    send, decide_api, runtime, catalog, zone, month, expected
):
    offered = set()
    for n in range(12):
        user = f"u-{zone}-{n}"
        send("web_local_key", identify(user, email=f"{n}@example.com", timezone=zone))
        runtime.clock.set(datetime(2027, month, 10 + n % 5, 2, tzinfo=UTC))
        answer = decide_api("POST", "/v1/decide", {"identifier": {"type": "user_id", "value": user},
                                                   "placement": "site_banner", "channel": "web"})  # fmt: skip
        assert answer.status == 200, answer.body
        offered.add(answer.json()["offer"]["product_id"])
        runtime.clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    assert offered <= expected and "test-1" not in offered


def test_decide_for_an_unknown_identifier_answers_neutrally_and_bad_input_names_the_field(
    decide_api, catalog
):
    answer = decide_api("POST", "/v1/decide", {"identifier": {"type": "email", "value": "nobody@example.com"},
                                               "placement": "site_greeting", "channel": "web"})  # fmt: skip
    assert answer.status == 200, answer.body
    assert answer.json()["profile_id"] is None and answer.json()["greeting"]
    assert answer.json()["known"] == {"email": False, "phone": False, "marketing": []}
    bad = decide_api("POST", "/v1/decide", {"identifier": {"type": "email", "value": "x@example.com"},
                                            "placement": "lock_screen", "channel": "web"})  # fmt: skip
    assert bad.status == 400 and "placement" in bad.json()["message"]
    assert decide_api("POST", "/v1/decide", {"placement": "site_greeting", "channel": "web"}).status == 400
    body = {"identifier": {"type": "email", "value": "x@example.com"}, "placement": "site_greeting",
            "channel": "web"}  # fmt: skip
    unauthorized = decide_api("POST", "/v1/decide", body, key=None)
    assert unauthorized.status == 401


def test_deferred_intents_are_released_by_the_sweep_only_when_due(runtime, catalog, anna):
    repo = DynamoMessageRepository(clients.dynamodb(), "asusual-local")
    from asusual.delivery.deferred import partitions

    now = runtime.clock.now()
    assert partitions(now, 2)[-1] == f"DEFER#{now:%Y-%m-%dT%H}"
    assert len(partitions(now, 2)) == 3
    assert repo.due_deferred(f"DEFER#{now:%Y-%m-%dT%H}", now + timedelta(hours=1)) == []


def test_decide_tells_the_site_what_not_to_ask_for_without_revealing_it(decide_api, catalog, anna, send):
    send("web_local_key", {"type": "page", "anonymousId": "anon-9", "name": "Home"})
    answers = {
        kind: decide_api(
            "POST",
            "/v1/decide",
            {"identifier": {"type": kind, "value": value}, "placement": "site_banner", "channel": "web"},
        ).json()
        for kind, value in (("user_id", "u-anna"), ("anonymous_id", "anon-9"))
    }
    assert answers["user_id"]["known"] == {"email": True, "phone": True, "marketing": ["email"]}
    assert answers["anonymous_id"]["known"] == {"email": False, "phone": False, "marketing": []}
    # her address and number, in any form ("7916" alone could sit inside a profile id by chance)
    text = json.dumps(answers, ensure_ascii=False)
    assert all(v not in text for v in ("anna@example.com", "9161234567", "916 123", "916-123", "916) 123"))


# -- one read per dispatch --------------------------------------------------------------------------
class DynamoCalls:
    """DynamoDB API calls through the package's client, by operation."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        clients.dynamodb().meta.events.register("after-call.dynamodb", self._count)

    def _count(self, event_name: str, **_kwargs) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])


def test_an_order_update_costs_one_read_and_two_writes(send, outbox, runtime, catalog, profile, intents):
    send("web_local_key", identify("u-3", email="three@example.com", timezone=MOSCOW))
    send(
        "web_local_key",
        order("u-3", "Order Completed", "o-3", total=2580, currency="RUB",
              products=[{"product_id": "food-1", "quantity": 2}, {"product_id": "tea-1", "quantity": 1}]),
    )  # fmt: skip
    assert [i.trigger for i in intents()] == ["order_status"]
    from asusual.local.runtime import Consumer
    from functions.dispatcher import handler

    runtime.add_consumer("intents", Consumer("dispatcher", handler.lambda_handler))
    counted = DynamoCalls()
    runtime.drain(depths=False)
    calls = list(counted.calls)
    assert [m["trigger"] for m in mine(outbox, profile("user_id", "u-3")["profile_id"])] == ["order_placed"]
    assert calls == ["BatchGetItem", "TransactWriteItems", "TransactWriteItems"]


def test_a_reminder_shows_the_price_the_site_showed_that_day_after_a_catalog_change(
    send, decide_api, admin_api, runtime, outbox, catalog, profile
):
    # subscribed long ago (no welcome takes today's slot), in Moscow; 12:00 local now
    old = identify("u-old", ts="2026-10-01T09:00:00Z", email="old@example.com", timezone=MOSCOW,
                   subscriptions={"email": {"marketing": True}})  # fmt: skip
    send("web_local_key", old)
    pid = profile("user_id", "u-old")["profile_id"]
    ask = {"identifier": {"type": "user_id", "value": "u-old"}, "placement": "site_banner", "channel": "web"}
    site = decide_api("POST", "/v1/decide", ask).json()
    assert (site["offer"]["product_id"], site["offer"]["price"]) == ("tea-1", "349.00")
    admin_api("POST", "/v1/catalog/products", {**CATALOG[0], "price": "399.00"})  # the price rises
    facts = ReplenishmentFacts(
        product_id="tea-1", product_name="Чай", last_purchase_at=datetime(2026, 10, 28, 9, tzinfo=UTC),
        last_purchase_channel="web", quantity=1, days_since=26,
        expected_runout_at=datetime(2026, 11, 23, 9, tzinfo=UTC), basis="catalog",
    )  # fmt: skip
    publish(
        runtime, make_intent(pid, Topic.MARKETING, f"replenishment:{pid}:tea-1:x", facts, runtime.clock.now())
    )
    runtime.run()
    [reminder] = mine(outbox, pid)
    assert reminder["trigger"] == "replenishment"
    # the new price nowhere in the words (the links' message id and token may hold "399" by chance)
    words = re.sub(r"https?://\S+", "", reminder["body"])
    assert "349,00" in words and "399" not in words


def test_a_dispatch_that_loses_a_race_on_the_day_items_decides_again_from_a_fresh_read(
    send, runtime, outbox, catalog, profile, monkeypatch
):
    send("web_local_key", identify("u-race", email="race@example.com", timezone=MOSCOW,
                                   subscriptions={"email": {"marketing": True}}), run=False)  # fmt: skip
    requests, outcomes = [], []
    real_read, real_reserve = DynamoMessageRepository.read_for_dispatch, DynamoMessageRepository.reserve

    def read(self, request):
        requests.append(request)
        return real_read(self, request)

    def reserve(self, record, ledger, days=None):
        outcome = real_reserve(self, record, ledger, days) if outcomes else ReserveOutcome.CONFLICT
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(DynamoMessageRepository, "read_for_dispatch", read)
    monkeypatch.setattr(DynamoMessageRepository, "reserve", reserve)
    runtime.run()
    [welcome] = mine(outbox, profile("user_id", "u-race")["profile_id"])
    assert welcome["trigger"] == "welcome"
    assert outcomes == [ReserveOutcome.CONFLICT, ReserveOutcome.RESERVED]
    assert len(requests) == 2 and requests[0].days and requests[0].caps
    # the offer priced on the first try was not read then: the second read includes its day price
    assert set(requests[1].product_ids) - set(requests[0].product_ids)


def test_consent_records_keep_changes_not_restatements(send, profile):
    def consents(**extra):
        return identify("u-c", email="c@example.com", timezone=MOSCOW,
                        subscriptions={"email": {"marketing": True, **extra}})  # fmt: skip

    send("web_local_key", consents(consent_version="2026-01"))
    send("web_local_key", {**consents(consent_version="2026-01"), "messageId": "again-1"})  # restated
    send("web_local_key", {**consents(consent_version="2026-11"), "messageId": "new-wording"})
    send("web_local_key", {**consents(consent_version="2026-11"), "messageId": "again-2"})  # restated
    pid = profile("user_id", "u-c")["profile_id"]
    history = DynamoProfileRepository(clients.dynamodb(), "asusual-local").consent_history(pid)
    assert [(h["subscribed"], h["consent_version"]) for h in history] == [
        (True, "2026-01"),
        (True, "2026-11"),
    ]
