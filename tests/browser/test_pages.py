"""The pages a customer opens from her messages, in headless Chromium on a 390 px phone: the why
page, the preference center it links to, and unsubscribing with its undo — read and clicked as a
customer would, checked by axe-core (no serious or critical violation), screenshots kept in
tests/browser/artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser.support import axe_violations, screenshot
from tests.conftest import T0
from tests.integration.local_http import http, welcome_of_anna

PHONE_WIDTH = 390
PREFERENCES_LINK = "Выбрать, какие сообщения получать"


@pytest.fixture
def welcome(engine: Any) -> dict[str, Any]:
    """Anna (Russian, Moscow) subscribes to marketing email; her welcome email, from the outbox."""
    return welcome_of_anna(engine, T0.isoformat())


def email_marketing(engine: Any) -> bool:
    status, profile = http(engine, "GET", "/v1/profiles/user_id/u-anna", key="read_local_key")
    assert status == 200
    return profile["subscriptions"]["email"]["marketing"]


def later(engine: Any, minutes: int) -> None:
    """The local clock (frozen at T0) moves on, as a customer's next click comes after the last."""
    status, _ = http(engine, "POST", "/_local/clock", {"now": (T0 + timedelta(minutes=minutes)).isoformat()})
    assert status == 200


def fits_the_phone(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_why_page_russian_customer_reads_russian_on_a_phone_with_no_serious_violation(
    browser, browser_log, engine, welcome
):
    browser.goto(welcome["why_url"])
    assert browser.locator("html").get_attribute("lang") == "ru"
    assert browser.locator("meta[name=viewport]").get_attribute("content") == (
        "width=device-width, initial-scale=1"
    )
    assert browser.get_by_role("heading", level=1).inner_text() == "Почему вы получили это сообщение"
    text = browser.locator("main").inner_text()
    assert "Вы получили это письмо, потому что подписались на наши новости." in text
    assert "u-anna" not in text and "web_local" not in text and welcome["id"] not in text
    assert fits_the_phone(browser)
    assert axe_violations(browser) == []
    screenshot(browser, "why-ru")
    assert browser_log.problems() == []


def test_why_page_preferences_link_opens_the_center_where_a_change_is_saved(
    browser, browser_log, engine, welcome
):
    browser.goto(welcome["why_url"])
    browser.get_by_role("link", name=PREFERENCES_LINK).click()
    browser.wait_for_url("**/v1/preferences?**")
    assert browser.get_by_role("heading", level=1).inner_text() == "Какие сообщения вы получаете"
    email = browser.locator("#pref-email")
    assert email.is_checked()
    assert fits_the_phone(browser)
    assert axe_violations(browser) == []
    screenshot(browser, "preferences-ru")
    email.uncheck()
    browser.get_by_role("button", name="Сохранить").click()
    browser.get_by_text("Готово: ваш выбор сохранён.").wait_for()
    assert not browser.locator("#pref-email").is_checked()
    assert axe_violations(browser) == []
    screenshot(browser, "preferences-saved-ru")
    assert http(engine, "POST", "/_local/run")[0] == 200
    assert email_marketing(engine) is False
    assert browser_log.problems() == []


def test_unsubscribe_page_confirm_then_undo_subscribes_again(browser, browser_log, engine, welcome):
    browser.goto(welcome["unsubscribe_url"])  # a GET: nothing changes until the button
    assert http(engine, "POST", "/_local/run")[0] == 200
    assert email_marketing(engine) is True
    assert axe_violations(browser) == []
    screenshot(browser, "unsubscribe-ru")
    browser.get_by_role("button").first.click()
    browser.get_by_role("heading", name="Вы отписались").wait_for()
    assert fits_the_phone(browser)
    assert axe_violations(browser) == []
    screenshot(browser, "unsubscribed-ru")
    assert http(engine, "POST", "/_local/run")[0] == 200
    assert email_marketing(engine) is False
    later(engine, minutes=1)
    browser.locator("section[aria-labelledby=undo] button").click()
    browser.get_by_role("heading", name="Вы снова подписаны").wait_for()
    assert axe_violations(browser) == []
    screenshot(browser, "resubscribed-ru")
    assert http(engine, "POST", "/_local/run")[0] == 200
    assert email_marketing(engine) is True
    assert browser_log.problems() == []


def test_why_page_forged_link_in_an_english_browser_says_so_in_english(chromium, engine, welcome):
    context = chromium.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, locale="en-GB")
    try:
        page = context.new_page()
        answer = page.goto(welcome["why_url"][:-3] + "AAA")
        assert answer is not None and answer.status == 403
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", level=1).inner_text() == "This link does not work"
        assert fits_the_phone(page)
        assert axe_violations(page) == []
        screenshot(page, "why-forged-en")
    finally:
        context.close()


def test_confirmation_link_opened_and_confirmed_in_the_browser_then_the_welcome_goes_out(
    browser, browser_log, engine
):
    identify = {
        "type": "identify",
        "userId": "u-olga",
        "timestamp": T0.isoformat(),
        "traits": {
            "email": "olga@example.com",
            "firstName": "Ольга",
            "locale": "ru-RU",
            "timezone": "Europe/Moscow",
            "subscriptions": {"email": {"marketing": True}},
        },
    }  # from the shop's page: a public source, so the opt-in waits for the address
    assert http(engine, "POST", "/v1/batch", {"batch": [identify]}, key="browser_local_key")[0] == 200
    assert http(engine, "POST", "/_local/run")[0] == 200
    [asked] = http(engine, "GET", "/_local/outbox")[1]
    assert asked["trigger"] == "consent_confirmation" and asked["to"] == "olga@example.com"
    [link] = [word for word in asked["body"].split() if "/v1/consent/confirm?" in word]
    browser.goto(link)
    assert browser.get_by_role("heading", level=1).inner_text() == "Подтвердите подписку"
    assert fits_the_phone(browser)
    assert axe_violations(browser) == []
    screenshot(browser, "confirm-ru")
    later(engine, minutes=5)
    browser.get_by_role("button", name="Подтвердить подписку").click()
    browser.get_by_role("heading", name="Подписка подтверждена").wait_for()
    assert axe_violations(browser) == []
    screenshot(browser, "confirmed-ru")
    assert http(engine, "POST", "/_local/run")[0] == 200
    triggers = [m["trigger"] for m in http(engine, "GET", "/_local/outbox")[1]]
    assert triggers == ["consent_confirmation", "welcome"]
    assert browser_log.problems() == []
