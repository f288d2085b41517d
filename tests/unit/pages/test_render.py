"""The pages' HTML: escaped, in the right language, in words (no internal ids), readable colours."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asusual.delivery.tokens import LinkPurpose, verify_link
from asusual.errors import Forbidden
from asusual.pages import service
from asusual.pages.render import BACKGROUNDS, Look, contrast, link_color, on_color, stylesheet
from asusual.pages.strings import CHANNEL_HOW, LABELS, TEXT
from tests.unit.pages import INTERNAL, LINKS, NOW, anna, deps, explanation, record, transactional

MESSAGE = "m_0123456789abcdef01234567"


def why_token(message_id: str = MESSAGE, expires_in: timedelta = timedelta(days=90)) -> str:
    return LINKS.token(LinkPurpose.WHY, message_id, "p_anna", "email", "marketing", NOW + expires_in)


def main_of(html: str) -> str:
    """The visible text of <main>, tags left out."""
    inner = html.split("<main>", 1)[1].split("</main>", 1)[0]
    return re.sub(r"[ \n]+", " ", re.sub(r"<[^>]*>", " ", inner)).strip()  # \u202f kept


def why(store=None, accept_language: str | None = None, **look: str):
    store = store or anna()
    return service.why_page(
        deps(store, look=Look(**look) if look else None), MESSAGE, why_token(), accept_language, NOW
    )


def test_why_page_escapes_a_hostile_retailer_name_and_subject():
    store = anna()
    store.records[MESSAGE] = record(subject='<script>alert("x")</script>')
    page = why(store, retailer="<script>alert(1)</script>")
    assert "<script>" not in page.html
    assert (
        "<title>Почему вы получили это сообщение — &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page.html
    )
    assert "<p>Тема: «&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;»</p>" in page.html


def test_why_page_shows_no_internal_ids():
    page = why()
    assert page.status == HTTPStatus.OK
    assert [word for word in INTERNAL if word in page.html] == []


def test_why_page_tells_why_basis_when_and_how_in_russian_words():
    assert main_of(why().html) == (
        "Почему вы получили это сообщение "
        "Сообщение Тема: «С днём рождения, Анна!» "
        "Отправлено по электронной почте 23 ноября 2026\u202fг. в 12:00 (время UTC+03:00). "
        "Почему Вы получили это письмо, потому что подписаны на наши новости и указали дату рождения. "
        "Это рекламное сообщение: новости и предложения. "
        "На каком основании 2 марта 2026\u202fг. вы согласились получать маркетинговые письма по email. "
        "Версия текста согласия: 2026-01. "
        "Когда и как часто Рекламу мы присылаем только с 09:00 до 21:00 по вашему времени. "
        "Почему по электронной почте Этим способом связи вы пользуетесь чаще других. "
        "Выбрать, какие сообщения получать"
    )


def test_why_page_of_an_english_message_is_english_whatever_the_browser_says():
    store = anna()
    store.records[MESSAGE] = record(
        explanation=explanation(locale="en", why="You received this email because you subscribed."),
        subject="Happy birthday",
    )
    page = why(store, accept_language="ru-RU,ru;q=0.9")
    assert '<html lang="en">' in page.html
    text = main_of(page.html)
    assert "Sent by email on November 23, 2026 at 12:00 (UTC+03:00)." in text
    assert "On March 2, 2026 you agreed to receive marketing emails." in text
    assert "Choose which messages you receive" in text


def test_why_page_says_a_message_was_held_back_for_the_night_and_for_the_caps():
    deferrals = [
        {
            "reason": "quiet_hours",
            "deferred_at": "2026-11-22T19:40:00Z",
            "release_at": "2026-11-23T06:00:00Z",
        },
        {
            "reason": "frequency_cap",
            "deferred_at": "2026-11-23T06:00:00Z",
            "release_at": "2026-11-23T09:00:00Z",
        },
    ]
    quiet = {"applies": True, "send_window": "09:00-21:00", "zones": [], "deferrals": deferrals}
    store = anna()
    store.records[MESSAGE] = record(explanation=explanation(quiet_hours=quiet))
    text = main_of(why(store).html)
    assert "Мы отложили это сообщение, чтобы не беспокоить вас ночью." in text
    assert (
        "Мы отложили это сообщение, чтобы не присылать слишком много: рекламных сообщений не больше 1 в день "
        "и 3 в неделю." in text
    )


def test_why_page_of_an_order_update_states_no_opt_out_and_no_send_window():
    store = anna()
    order = "Вы получили это письмо, потому что оформили у нас заказ № A-1."
    store.records[MESSAGE] = transactional(order, "order_channel")
    text = main_of(why(store).html)
    assert "Это сообщение о вашем заказе или обслуживании." in text
    assert "Сообщения о заказах не требуют согласия на рекламу" in text
    assert "Когда и как часто" not in text and "Рекламу мы присылаем" not in text
    assert "Так мы сообщаем о заказах, оформленных там, где вы оформили свой." in text


def test_why_page_of_a_confirmed_opt_in_says_the_customer_confirmed_it():
    from asusual.delivery.policy import ConsentBasis

    store = anna()
    at = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    confirmed = ConsentBasis(
        channel="email", topic="marketing", basis="confirmed_opt_in", at=at, source_id="browser_local"
    )
    store.records[MESSAGE] = record(explanation=explanation(consent=confirmed))
    text = main_of(why(store).html)
    assert "20 ноября 2026\u202fг. вы подтвердили, что хотите получать маркетинговые письма по email." in text
    assert "browser_local" not in why(store).html


CONFIRMATION_WHY = (
    "Вы получили это письмо, потому что этот адрес указали на нашем сайте, подписываясь на новости."
)


def test_why_page_of_a_confirmation_request_says_what_it_asks_not_that_it_is_about_an_order():
    store = anna()
    store.records[MESSAGE] = transactional(CONFIRMATION_WHY, "requested_address", "consent_confirmation")
    text = main_of(why(store).html)
    assert (
        f"Почему {CONFIRMATION_WHY} "
        "Это просьба подтвердить подписку: пока вы её не подтвердите, мы не пришлём вам рекламы. "
        "На каком основании Такую просьбу мы присылаем не чаще раза в день на адрес или номер, указанный при "
        "подписке на нашем сайте. Если вы не подписывались, ничего делать не нужно. "
        "Почему по электронной почте Подтвердить подписку может только тот, кто получает сообщения по этому "
        "адресу или номеру. Выбрать, какие сообщения получать"
    ) in text
    assert "заказ" not in text


def test_why_page_links_to_a_preference_center_that_expires_with_the_why_link():
    page = why()
    [url] = re.findall(r'href="(https://shop\.example/v1/preferences\?token=[^"]+)"', page.html)
    claims = verify_link(url.split("token=")[1], LINKS.secrets, purpose=LinkPurpose.PREFERENCES, now=NOW)
    assert claims.expires_at == NOW + timedelta(days=90)
    assert (claims.message_id, claims.profile_id) == (MESSAGE, "p_anna")


@pytest.mark.parametrize(
    ("token", "accept_language", "lang", "heading"),
    [
        ("forged.token", "en-US,en;q=0.9", "en", "This link does not work"),
        ("forged.token", "de-DE,ru;q=0.5", "ru", "Ссылка не работает"),
        ("forged.token", None, "en", "This link does not work"),
        ("x" * 100_000, "ru", "ru", "Ссылка не работает"),
    ],
)
def test_refused_link_answers_403_in_the_browsers_language(token, accept_language, lang, heading):
    page = service.why_page(deps(anna()), MESSAGE, token, accept_language, NOW)
    assert page.status == HTTPStatus.FORBIDDEN
    assert f'<html lang="{lang}">' in page.html and f"<h1>{heading}</h1>" in page.html
    assert "<footer>" not in page.html  # no "your personal link" note on a link that is not one


def test_expired_why_link_and_another_messages_link_are_refused():
    expired = service.why_page(deps(anna()), MESSAGE, why_token(expires_in=timedelta(0)), "ru", NOW)
    assert expired.status == HTTPStatus.FORBIDDEN and "<h1>Ссылка устарела</h1>" in expired.html
    other = service.why_page(deps(anna()), "m_other", why_token(), "ru", NOW)
    assert other.status == HTTPStatus.FORBIDDEN and "<h1>Ссылка не работает</h1>" in other.html


def test_why_link_of_a_message_no_longer_held_answers_like_a_forged_one():
    store = anna()
    store.records.clear()
    page = service.why_page(deps(store), MESSAGE, why_token(), "ru", NOW)
    forged = service.refused(deps(store), Forbidden("x", code="invalid_link"), "ru")
    assert (page.status, page.html) == (forged.status, forged.html)


def test_page_headers_allow_only_its_own_style_and_keep_the_link_to_itself():
    page = why()
    style = page.html.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert [f"{name}: {value}" for name, value in page.headers.items()] == [
        f"Content-Security-Policy: default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
        "Referrer-Policy: no-referrer",
        "X-Content-Type-Options: nosniff",
        "X-Frame-Options: DENY",
        "Cache-Control: no-store",
    ]


def test_every_page_is_readable_on_a_phone():
    html = why().html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    css = stylesheet("#1f4e8c")
    assert "max-width:40rem" in css and "overflow-wrap:anywhere" in css
    assert not re.search(r"[^-]width:\d+px", css)  # no fixed width wider than a phone


@given(st.from_regex(r"#[0-9a-f]{6}", fullmatch=True))
def test_text_on_any_brand_colour_and_links_reach_4_5_to_1(brand):
    assert contrast(on_color(brand), brand) >= 4.5
    assert all(contrast(link_color(brand), background) >= 4.5 for background in BACKGROUNDS)


@pytest.mark.parametrize(
    ("brand", "on", "link"), [("#1f4e8c", "#ffffff", "#1f4e8c"), ("#ffd700", "#000000", "#1a1a1a")]
)
def test_brand_colour_choices(brand, on, link):
    assert (on_color(brand), link_color(brand)) == (on, link)


@pytest.mark.parametrize("bad", ["blue", "#12345", "#1234567", "#12345g", "red;}body{display:none"])
def test_look_refuses_a_colour_that_is_not_rrggbb(bad):
    with pytest.raises(ValueError, match="brand colour"):
        Look(brand=bad)


def test_every_locale_has_the_same_words():
    for table in (TEXT, LABELS, CHANNEL_HOW):
        assert set(table["ru"]) == set(table["en"])
