"""The pages a customer opens from a message, over real HTTP to the local server, as a browser
and a mail client would: the why page (HTML for a browser, JSON for API clients), unsubscribe
(however old the link) and its undo, the preference center; scanners' GET and HEAD change
nothing; forged links and junk answer pages, never a server error."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import T0
from tests.integration.local_http import http, welcome_of_anna

pytestmark = pytest.mark.slow

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FORM = "application/x-www-form-urlencoded"
# what the pages must never show: ids of the message, profile and source, template names, counters
INTERNAL = ("profile_id", "source_id", "message_id", "web_local", "welcome.email", "daily_used", "m_", "p_")


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.text = body.decode("utf-8", errors="replace")

    @property
    def main(self) -> str:
        """The text of the page's <main>, tags and ids (in attributes) left out."""
        inner = self.text.split("<main>", 1)[1].split("</main>", 1)[0]
        return unescape(re.sub(r"<[^>]*>", " ", inner))


def call(server, method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None):
    """One request as a browser or mail client makes it (no API key)."""
    parts = urlsplit(url)
    target = server.url + parts.path + (f"?{parts.query}" if parts.query else "")
    request = urllib.request.Request(target, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.headers, err.read())


def browse(server, url: str, language: str = "ru-RU,ru;q=0.9,en;q=0.8") -> Answer:
    return call(server, "GET", url, headers={"Accept": BROWSER, "Accept-Language": language})


def post_form(server, url: str, fields: list[tuple[str, str]] | bytes, language: str = "ru") -> Answer:
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    headers = {"Content-Type": FORM, "Accept": BROWSER, "Accept-Language": language}
    return call(server, "POST", url, headers=headers, body=body)


def hidden(page: Answer, name: str) -> str:
    return unescape(re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page.text).group(1))


def action(page: Answer, path: str) -> str:
    return next(
        unescape(a) for a in re.findall(r'action="([^"]*)"', page.text) if urlsplit(unescape(a)).path == path
    )


@pytest.fixture
def server(runtime):
    from asusual.local.gateway import LocalGateway

    gateway = LocalGateway(runtime, port=0).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def welcome(server):
    """Anna (Russian, Moscow) subscribes to marketing email; her welcome email, from the outbox."""
    return welcome_of_anna(server, T0.isoformat())


def move_clock(server, delta: timedelta) -> None:
    status, _ = http(server, "POST", "/_local/clock", {"now": (T0 + delta).isoformat(), "frozen": True})
    assert status == 200


def subscriptions(server) -> dict[str, dict[str, bool]]:
    assert http(server, "POST", "/_local/run")[0] == 200
    status, profile = http(server, "GET", "/v1/profiles/user_id/u-anna", key="read_local_key")
    assert status == 200
    return profile["subscriptions"]


def consents(server) -> list[tuple[str, str, bool, str]]:
    """Anna's consent records (channel, topic, subscribed, source), oldest first, from her export."""
    status, export = http(server, "GET", "/v1/profiles/user_id/u-anna/export")
    assert status == 200
    records = sorted((c["data"] for c in export["items"].get("consent", [])), key=lambda c: c["at"])
    return [(c["channel"], c["topic"], c["subscribed"], c["source_id"]) for c in records]


# -- the why page --------------------------------------------------------------------------------
def test_why_link_in_a_browser_answers_a_russian_page_without_internal_ids(server, welcome):
    page = browse(server, welcome["why_url"])
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ru">' in page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert "<h1>Почему вы получили это сообщение</h1>" in page.text
    assert "Вы получили это письмо, потому что подписались на наши новости." in page.main
    assert "вы согласились получать маркетинговые письма по email" in page.main
    assert "Отправлено по электронной почте 23 ноября 2026\u202fг. в 12:00 (время UTC+03:00)." in page.main
    assert not [word for word in INTERNAL if word in page.main]
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    # every why page links to the preference center, and the link opens it
    [preferences] = re.findall(r'href="([^"]*/v1/preferences\?token=[^"]*)"', page.text)
    center = browse(server, unescape(preferences))
    assert center.status == 200 and "<h1>Какие сообщения вы получаете</h1>" in center.text


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/json, text/html;q=0.5", "garbage;;q=x"]
)
def test_why_link_for_an_api_client_answers_json_as_before(server, welcome, accept):
    answer = call(server, "GET", welcome["why_url"], headers={"Accept": accept} if accept else {})
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body)["explanation"]["trigger"] == "welcome"


def test_why_link_forged_or_expired_answers_an_html_403_in_the_browsers_language(server, welcome):
    forged = browse(server, welcome["why_url"][:-3] + "AAA", language="en-GB,en;q=0.9")
    assert forged.status == 403 and forged.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in forged.text and "<h1>This link does not work</h1>" in forged.text
    move_clock(server, timedelta(days=91))
    expired = browse(server, welcome["why_url"])
    assert expired.status == 403 and '<html lang="ru">' in expired.text
    assert "<h1>Ссылка устарела</h1>" in expired.text
    assert call(server, "GET", welcome["why_url"]).status == 403  # JSON clients: as before


# -- unsubscribe and undo ------------------------------------------------------------------------
def test_unsubscribe_link_long_expired_still_unsubscribes(server, welcome):
    move_clock(server, timedelta(days=400))
    page = browse(server, welcome["unsubscribe_url"])
    assert page.status == 200 and "Вы больше не будете получать маркетинговые письма по email." in page.main
    done = call(server, "POST", action(page, "/v1/unsubscribe"), headers={"Content-Type": FORM},
                body=b"List-Unsubscribe=One-Click")  # fmt: skip
    assert done.status == 200 and "<h1>Вы отписались</h1>" in done.text
    assert subscriptions(server)["email"]["marketing"] is False
    assert consents(server) == [
        ("email", "marketing", True, "web_local"),
        ("email", "marketing", False, "unsubscribe_link"),
    ]


def test_undo_on_the_done_page_subscribes_again_with_a_consent_record(server, welcome):
    done = call(server, "POST", welcome["unsubscribe_url"], body=b"List-Unsubscribe=One-Click")
    assert done.status == 200 and "Передумали?" in done.text
    assert subscriptions(server)["email"]["marketing"] is False
    move_clock(server, timedelta(minutes=2))
    undone = post_form(server, action(done, "/v1/resubscribe"), [("token", hidden(done, "token"))])
    assert undone.status == 200 and "<h1>Вы снова подписаны</h1>" in undone.text
    assert subscriptions(server)["email"]["marketing"] is True
    assert consents(server) == [
        ("email", "marketing", True, "web_local"),
        ("email", "marketing", False, "unsubscribe_link"),
        ("email", "marketing", True, "preference_center"),
    ]
    # the same link again unsubscribes again (a new click is a new event)
    move_clock(server, timedelta(minutes=3))
    assert call(server, "POST", welcome["unsubscribe_url"], body=b"List-Unsubscribe=One-Click").status == 200
    assert subscriptions(server)["email"]["marketing"] is False


def test_undo_after_a_day_answers_a_page_and_changes_nothing(server, welcome):
    done = call(server, "POST", welcome["unsubscribe_url"], body=b"List-Unsubscribe=One-Click")
    move_clock(server, timedelta(hours=25))
    late = post_form(server, action(done, "/v1/resubscribe"), [("token", hidden(done, "token"))])
    assert late.status == 403 and "<h1>Ссылка устарела</h1>" in late.text
    assert "Отменить отписку уже нельзя." in late.main
    assert subscriptions(server)["email"]["marketing"] is False


# -- the preference center -----------------------------------------------------------------------
def test_preference_center_change_is_a_consent_record_from_the_preference_center(server, welcome):
    assert (
        welcome["preferences_url"] and "Настроить рассылки: " + welcome["preferences_url"] in welcome["body"]
    )
    page = browse(server, welcome["preferences_url"])
    assert page.status == 200
    assert re.search(r'id="pref-email" name="email.marketing" value="on" checked', page.text)
    assert re.search(r'id="pref-sms" name="sms.marketing" value="on">', page.text)
    assert "Письма о заказах: отправляются" in page.main  # shown, cannot be switched off
    saved = post_form(server, action(page, "/v1/preferences"), [
        ("token", hidden(page, "token")),
        ("email.marketing", "off"),
        ("sms.marketing", "off"), ("sms.marketing", "on"),
        ("push.marketing", "off"),
    ])  # fmt: skip
    assert saved.status == 200 and "Готово: ваш выбор сохранён." in saved.main
    assert re.search(r'id="pref-sms" name="sms.marketing" value="on" checked', saved.text)
    marks = subscriptions(server)
    assert (marks["email"]["marketing"], marks["sms"]["marketing"]) == (False, True)
    assert consents(server)[1:] == [
        ("email", "marketing", False, "preference_center"),
        ("sms", "marketing", True, "preference_center"),
    ]
    again = browse(server, welcome["preferences_url"])  # the page reads the profile afresh
    assert re.search(r'id="pref-email" name="email.marketing" value="on">', again.text)


def test_preference_link_expired_only_turns_things_off(server, welcome):
    move_clock(server, timedelta(days=100))
    page = browse(server, welcome["preferences_url"])
    assert page.status == 200 and "Ссылка устарела: здесь можно только отписаться." in page.main
    assert re.search(r'id="pref-sms" name="sms.marketing" value="on" disabled', page.text)
    token = hidden(page, "token")
    kept = post_form(server, action(page, "/v1/preferences"), [("token", token), ("sms.marketing", "on")])
    assert kept.status == 200 and "Ваш выбор сохранён, ничего не изменилось." in kept.main
    assert "sms" not in subscriptions(server)
    saved = post_form(server, action(page, "/v1/preferences"), [("token", token), ("all", "off")])
    assert saved.status == 200
    marks = subscriptions(server)
    assert marks["email"]["marketing"] is False and "sms" not in marks
    assert consents(server)[1:] == [("email", "marketing", False, "preference_center")]


# -- what never changes anything, and what is refused ---------------------------------------------
def test_get_and_head_of_every_page_change_nothing(server, welcome, runtime):
    for url in (welcome["unsubscribe_url"], welcome["preferences_url"], welcome["why_url"]):
        assert browse(server, url).status == 200
        assert call(server, "HEAD", url).status == 404  # as API Gateway: no route for HEAD
    assert runtime.peek("events", limit=10) == []
    assert subscriptions(server) == {"email": {"marketing": True}}
    assert consents(server) == [("email", "marketing", True, "web_local")]


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("GET", "/v1/unsubscribe?token=forged.token", None),
        ("POST", "/v1/unsubscribe?token=forged.token", None),
        ("GET", "/v1/preferences?token=forged.token", None),
        ("POST", "/v1/preferences", [("token", "forged.token"), ("email.marketing", "on")]),
        ("POST", "/v1/resubscribe", [("token", "forged.token")]),
        ("GET", "/v1/preferences?token=" + "x" * 20_000, None),
        ("GET", "/v1/unsubscribe", None),
        ("POST", "/v1/unsubscribe?token=", None),
    ],
)
def test_forged_tokens_answer_an_html_403_and_change_nothing(server, welcome, runtime, method, path, fields):
    if fields is None:
        answer = call(server, method, path, headers={"Accept": BROWSER, "Accept-Language": "en"})
    else:
        answer = post_form(server, path, fields, language="en")
    assert answer.status == 403
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>This link does not work</h1>" in answer.text
    assert runtime.peek("events", limit=10) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "token"),
        (b"%ff%fe=1", "form"),
        (b"\xff\xfe\x00", "form"),
        (b"&".join([b"a=1"] * 100), "form"),
        (b'{"token": "x"}', "token"),
    ],
)
def test_junk_forms_answer_a_400_page_naming_the_field(server, welcome, body, field):
    for path in ("/v1/preferences", "/v1/resubscribe"):
        answer = post_form(server, path, body, language="en")
        assert answer.status == 400, answer.text
        assert f"Field “{field}”" in answer.main


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([("email.transactional", "off")], "email.transactional"),
        ([("fax.marketing", "on")], "fax.marketing"),
        ([("email.marketing", "yes")], "email.marketing"),
        ([("all", "on")], "all"),
        ([("<script>alert(1)</script>", "on")], "<script>alert(1)</script>"),
    ],
)
def test_preference_form_with_a_bad_field_answers_400_naming_it_in_the_customers_language(
    server, welcome, runtime, fields, field
):
    page = browse(server, welcome["preferences_url"])
    answer = post_form(
        server, action(page, "/v1/preferences"), [("token", hidden(page, "token")), *fields], "en"
    )
    assert answer.status == 400
    assert f"Поле «{field}»" in answer.main and "<script>" not in answer.text
    assert runtime.peek("events", limit=10) == []
