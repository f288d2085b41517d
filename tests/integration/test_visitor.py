"""The decision a shop's page asks for its own visitor (POST /v1/decide/visitor, the public key) and the
signed identity that alone lets it greet a customer by name, over the local runtime."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext
from asusual.settings import reset_settings
from tests.integration.conftest import Answer, basic

PAGE = "http://127.0.0.1:5173"  # a developer's shop page (browser_local allows http://127.0.0.1:*)
BROWSER = "browser_local_key"
MOSCOW = "Europe/Moscow"
# two all-year products in two categories: a customer who bought from one category is offered it first
CATALOG = [
    {"product_id": "tea-1", "name": "Чай Ahmad Earl Grey", "price": "349.00", "currency": "RUB",
     "category": "tea", "promoted": True},
    {"product_id": "socks-1", "name": "Носки шерстяные", "price": "590.00", "currency": "RUB",
     "category": "clothes", "promoted": True},
]  # fmt: skip
CATEGORY = {"tea-1": "tea", "socks-1": "clothes"}
ANSWER_FIELDS = {
    "placement", "greeting", "text", "offer", "why", "locale", "decided_for", "recognized", "known",
    "context",
}  # fmt: skip


@pytest.fixture
def catalog(admin_api):
    answer = admin_api("POST", "/v1/catalog/products", {"products": CATALOG})
    assert answer.status == 200 and not answer.json()["rejected"], answer.body


@pytest.fixture
def visitor(runtime):
    """Ask the decide function what a page shows its visitor, as a page does (Basic key, Origin)."""
    from functions.decide_api import handler

    def ask(body, *, key=BROWSER, origin=PAGE, headers=None, auth="basic"):
        sent = {"content-type": "application/json", **(headers or {})}
        if origin is not None:
            sent["origin"] = origin
        if key is not None:
            sent["authorization"] = basic(key) if auth == "basic" else f"Bearer {key}"
        raw = json.dumps(body).encode() if body is not None else b""
        event = api_gateway_event("POST", "/v1/decide/visitor", sent, raw)
        result = handler.lambda_handler(event, LocalContext("decide_api"))
        return Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())

    return ask


@pytest.fixture
def page(intake, runtime):
    """Post one message as the shop's page does (the public key, from its origin), then drain."""

    def post(path, message, *, key=BROWSER, origin=PAGE):
        headers = {"origin": origin} if origin else {}
        answer = intake(path, message, key=key, headers=headers)
        assert answer.status == 200 and answer.json() == {"success": True}, answer.body
        runtime.run()

    return post


@pytest.fixture
def identity_secret(admin_api):
    answer = admin_api("GET", "/v1/sources/browser_local/identity-secret")
    assert answer.status == 200, answer.body
    return answer.json()["identity_secret"]


def signed(secret, user_id):
    """What the shop's server computes (README: hex HMAC-SHA256 of the user id, the secret as text)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identify(user_id, anonymous_id, signature=None, **traits):
    context = {"identity_signature": signature} if signature is not None else {}
    return {"userId": user_id, "anonymousId": anonymous_id, "traits": traits, "context": context}


def greeting(anonymous_id, placement="site_greeting", **fields):
    return {"anonymous_id": anonymous_id, "placement": placement, **fields}


def test_visitor_with_signed_identify_gets_her_name_in_the_pages_locale(
    visitor, page, identity_secret, catalog
):
    page("/v1/i", identify("u-anna", "anon-anna", signed(identity_secret, "u-anna"), firstName="Анна",
                           email="anna@example.com", phone="+79161234567", timezone=MOSCOW))  # fmt: skip
    answer = visitor(greeting("anon-anna", locale="en"))
    assert answer.status == 200, answer.body
    body = answer.json()
    assert set(body) == ANSWER_FIELDS  # no profile id, no address, no identifier
    assert (body["greeting"], body["text"], body["locale"]) == (
        "Good afternoon, Анна",  # 12:00 in Moscow
        "Good afternoon, Анна! Glad you are here.",
        "en",
    )
    assert body["why"] == "This greeting is based on your customer profile and your local time."
    assert body["recognized"] is True
    assert body["known"] == {"email": True, "phone": True, "marketing": []}
    assert body["context"] == {"daypart": "day", "season": "autumn", "holiday": None, "tenure": "new"}
    for secret in ("u-anna", "anna@example.com", "+79161234567", "anon-anna", "p_", MOSCOW):
        assert secret not in answer.body.decode()
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE


def test_visitor_whose_browser_says_en_us_is_greeted_wholly_in_english(
    visitor, page, identity_secret, catalog
):
    page("/v1/i", identify("u-anna", "anon-anna", signed(identity_secret, "u-anna"), firstName="Анна",
                           middleName="Сергеевна", locale="ru-RU", timezone=MOSCOW))  # fmt: skip
    body = visitor(greeting("anon-anna"), headers={"accept-language": "en-US,en;q=0.9"}).json()
    assert (body["greeting"], body["text"], body["locale"]) == (
        "Good afternoon, Анна",  # no Russian patronymic in an English greeting
        "Good afternoon, Анна! Glad you are here.",
        "en",
    )
    assert body["why"] == "This greeting is based on your customer profile and your local time."


def test_visitor_without_locale_is_greeted_in_her_declared_one(visitor, page, identity_secret, catalog):
    page("/v1/i", identify("u-anna", "anon-anna", signed(identity_secret, "u-anna"), firstName="Анна",
                           timezone=MOSCOW))  # fmt: skip
    body = visitor(greeting("anon-anna")).json()
    assert (body["greeting"], body["locale"]) == ("Добрый день, Анна", "ru")


def test_server_side_identify_ties_the_browsers_anonymous_id(visitor, send, catalog):
    send("web_local_key", {"type": "identify", **identify("u-ivan", "anon-ivan", firstName="Иван",
                                                           timezone=MOSCOW)})  # fmt: skip
    body = visitor(greeting("anon-ivan")).json()
    assert (body["greeting"], body["recognized"]) == ("Добрый день, Иван", True)


@pytest.mark.parametrize("claim", ["unsigned", "forged", "signed for another user id", "upper-case junk"])
def test_attacker_unsigned_identify_with_victims_user_id_gets_neither_her_name_nor_her_offer(
    visitor, page, send, identity_secret, catalog, profile, claim
):
    stranger = visitor(greeting("anon-nobody", "site_banner")).json()
    anonymous_offer = stranger["offer"]["product_id"]
    other = next(p for p in CATEGORY if p != anonymous_offer)
    # Vera bought from the other category 40 days ago: her own offer of the day is the other product
    bought = (datetime(2026, 11, 23, 9, tzinfo=UTC) - timedelta(days=40)).isoformat()
    send("web_local_key", {"type": "identify", **identify("u-vera", "anon-vera", firstName="Людмила",
                                                           email="vera@example.com", timezone=MOSCOW)},
         {"type": "track", "userId": "u-vera", "event": "Order Completed", "timestamp": bought,
          "properties": {"order_id": "o-1", "products": [{"product_id": "old-1", "category": CATEGORY[other],
                                                           "price": 100, "quantity": 1}]}})  # fmt: skip
    vera = visitor(greeting("anon-vera", "site_banner")).json()
    assert (vera["recognized"], vera["offer"]["product_id"]) == (True, other)
    assert "Людмила" in vera["greeting"]
    signature = {
        "unsigned": None,
        "forged": "0" * 64,
        "signed for another user id": signed(identity_secret, "u-mallory"),
        "upper-case junk": "Z" * 64,
    }[claim]
    page("/v1/i", identify("u-vera", "anon-mallory", signature))
    # the claim did reach her profile (an unsigned event may still add to it) ...
    assert profile("anonymous_id", "anon-mallory")["profile_id"] == profile("user_id", "u-vera")["profile_id"]
    # ... but the attacker's browser is answered as a stranger's
    for placement in ("site_greeting", "site_banner"):
        answer = visitor(greeting("anon-mallory", placement))
        assert answer.status == 200, answer.body
        body = answer.json()
        assert "Людмила" not in answer.body.decode() and "vera" not in answer.body.decode().lower()
        assert body["recognized"] is False
        assert body["known"] == {"email": False, "phone": False, "marketing": []}
        assert body["greeting"] == "Здравствуйте"  # Russia spans 11 zones: no daypart for a stranger
        assert body["offer"]["product_id"] == anonymous_offer != other
    assert visitor(greeting("anon-vera")).json()["greeting"] == "Добрый день, Людмила"  # hers still is


def test_unsigned_identify_by_the_victims_email_unlocks_nothing_either(visitor, page, send, catalog):
    send("web_local_key", {"type": "identify", **identify("u-vera", "anon-vera", firstName="Людмила",
                                                           email="vera@example.com")})  # fmt: skip
    page("/v1/i", {"anonymousId": "anon-mallory", "traits": {"email": "vera@example.com"}})
    body = visitor(greeting("anon-mallory")).json()
    assert (body["greeting"], body["recognized"]) == ("Здравствуйте", False)


def test_anonymous_visitor_gets_her_local_daypart_but_never_a_name_she_typed(visitor, page, catalog):
    page("/v1/p", {"anonymousId": "anon-eva", "name": "Home", "context": {"timezone": MOSCOW}})
    page("/v1/i", {"anonymousId": "anon-eva", "traits": {"firstName": "Ева"}})
    body = visitor(greeting("anon-eva")).json()
    assert (body["greeting"], body["text"], body["recognized"]) == ("Добрый день", "Добрый день!", False)
    assert body["known"] == {"email": False, "phone": False, "marketing": []}


def test_unknown_visitor_gets_a_neutral_answer_with_the_anonymous_offer(visitor, catalog):
    answer = visitor(greeting("anon-new", "site_banner"))
    assert answer.status == 200, answer.body
    body = answer.json()
    assert (body["greeting"], body["recognized"], body["locale"]) == ("Здравствуйте", False, "ru")
    assert body["offer"]["product_id"] in CATEGORY and body["decided_for"] == "2026-11-23"


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("en-US,en;q=0.9", ("Hello", "en")),
        ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.7", ("Здравствуйте", "ru")),
        ("ru;q=0.1, en;q=0.5", ("Hello", "en")),
        ("en;q=0, ru", ("Здравствуйте", "ru")),
        ("*", ("Здравствуйте", "ru")),
    ],
)
def test_accept_language_chooses_the_locale(visitor, catalog, accept_language, expected):
    body = visitor(greeting("anon-lang"), headers={"accept-language": accept_language}).json()
    assert (body["greeting"], body["locale"]) == expected


def test_locale_field_wins_over_accept_language(visitor, catalog):
    body = visitor(
        greeting("anon-lang", locale="ru-RU"), headers={"accept-language": "en-US,en;q=0.9"}
    ).json()
    assert body["locale"] == "ru"
    body = visitor(greeting("anon-lang", locale="de"), headers={"accept-language": "en-US"}).json()
    assert body["locale"] == "en"  # a language the pack lacks: Accept-Language decides


@pytest.mark.parametrize(
    "field", ["email", "phone", "user_id", "userId", "identifier", "profile_id", "channel"]
)
def test_visitor_named_any_other_way_is_refused_400_naming_the_field(visitor, field):
    answer = visitor({**greeting("anon-1"), field: "vera@example.com"})
    assert answer.status == 400
    assert answer.json() == {
        "code": "invalid_request",
        "message": f"{field}: not accepted; a page names its visitor only by anonymous_id (a lookup by "
        "email, phone or user id takes the read key, from a server: POST /v1/decide)",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"placement": "site_greeting"}, "anonymous_id: Field required"),
        ({"anonymous_id": "  ", "placement": "site_greeting"}, "anonymous_id: blank"),
        (
            {"anonymous_id": "a" * 257, "placement": "site_greeting"},
            "anonymous_id: String should have at most",
        ),
        ({"anonymous_id": "a-1", "placement": "pos_greeting"}, "placement: Input should be 'site_greeting'"),
        ({"anonymous_id": "a-1", "placement": "site_greeting", "locale": "en US!"}, "locale: a language tag"),
        ([1, 2], "body: must be a JSON object"),
        (None, "body: required (a JSON object)"),
    ],
)
def test_visitor_bad_input_is_400_naming_the_field(visitor, body, message):
    answer = visitor(body)
    assert answer.status == 400, answer.body
    assert answer.json()["message"].startswith(message)


@pytest.mark.parametrize(
    ("key", "status", "code", "message"),
    [
        ("read_local_key", 403, "forbidden", "Authorization: a read key cannot ask for a visitor's decision"),
        ("admin_local_key", 403, "forbidden", "Authorization: a admin key cannot ask"),
        ("web_local_key", 403, "not_public_source", "Authorization: source 'web_local' is server-side"),
        ("nope", 401, "unauthorized", "Authorization: unknown, expired or revoked key"),
        (None, 401, "unauthorized", "Authorization: missing key"),
    ],
)
def test_read_key_and_server_side_key_are_refused(visitor, key, status, code, message):
    for origin in (None, PAGE):
        answer = visitor(greeting("anon-1"), key=key, origin=origin)
        assert (answer.status, answer.json()["code"]) == (status, code), answer.body
        assert answer.json()["message"].startswith(message)


def test_public_key_from_another_origin_is_refused(visitor):
    answer = visitor(greeting("anon-1"), origin="https://evil.example")
    assert answer.status == 403 and answer.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_bearer_key_without_origin_works_for_an_app(visitor, catalog):
    assert visitor(greeting("anon-app"), origin=None, auth="bearer").status == 200


@pytest.fixture
def burst_of_three(runtime, monkeypatch):
    """A visitor's burst of 3 and practically no refill."""
    from functions.decide_api import handler

    monkeypatch.setenv("ASUSUAL_VISITOR_BURST", "3")
    monkeypatch.setenv("ASUSUAL_VISITOR_RATE_LIMIT", "0.001")
    reset_settings()
    handler.dependencies.cache_clear()
    yield
    monkeypatch.undo()
    reset_settings()
    handler.dependencies.cache_clear()


def test_visitor_past_the_burst_gets_429_with_retry_after_and_others_are_still_answered(
    visitor, catalog, burst_of_three
):
    assert [visitor(greeting("anon-busy")).status for _ in range(3)] == [200, 200, 200]
    throttled = visitor(greeting("anon-busy"))
    assert throttled.status == 429
    assert throttled.json() == {
        "code": "throttled",
        "message": "too many requests for this visitor (limit 0.001/s, burst 3); retry later",
    }
    assert int(throttled.headers["Retry-After"]) >= 900
    assert throttled.headers["Access-Control-Allow-Origin"] == PAGE  # the page can read why
    assert visitor(greeting("anon-calm")).status == 200  # per visitor, not per page


def test_signed_identify_is_queued_marked_and_without_its_signature(intake, queued, identity_secret):
    headers = {"origin": PAGE}
    for user, signature in (("u-1", signed(identity_secret, "u-1")), ("u-2", "0" * 64), ("u-3", None)):
        assert (
            intake("/v1/i", identify(user, f"anon-{user}", signature), key=BROWSER, headers=headers).status
            == 200
        )
    events = {e.user_id: e for e in queued()}
    assert {u: e.identity_signed for u, e in events.items()} == {"u-1": True, "u-2": False, "u-3": False}
    assert all("identity_signature" not in e.context for e in events.values())


def test_server_side_events_are_vouched_and_a_signature_they_carry_is_dropped(intake, queued):
    answer = intake("/v1/identify", identify("u-1", "anon-1", "0" * 64), key="web_local_key")
    assert answer.status == 200
    [event] = queued()
    assert (event.identity_signed, event.vouched, "identity_signature" in event.context) == (
        False,
        True,
        False,
    )


def test_identity_secret_only_for_an_active_public_source(admin_api, identity_secret):
    assert len(identity_secret) == 64 and int(identity_secret, 16) >= 0
    body = admin_api("GET", "/v1/sources/browser_local/identity-secret").json()
    assert body == {
        "source_id": "browser_local",
        "identity_secret": identity_secret,
        "signature": "hex(HMAC-SHA256(key=identity_secret, message=userId)), both as UTF-8 text",
        "signature_field": "context.identity_signature",
    }
    server_side = admin_api("GET", "/v1/sources/web_local/identity-secret")
    assert (server_side.status, server_side.json()["code"]) == (409, "conflict")
    assert admin_api("GET", "/v1/sources/nope/identity-secret").status == 404
    assert admin_api("GET", "/v1/sources/browser_local/identity-secret", key="read_local_key").status == 403
