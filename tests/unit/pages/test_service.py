"""The page use cases: what each link lets the customer change, which event it publishes, and
what is refused."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlencode

import pytest

from asusual.delivery.tokens import LinkPurpose, verify_link
from asusual.identity.models import Identifier
from asusual.pages import service
from asusual.pages.requests import BadForm
from tests.unit.pages import LINKS, NOW, anna, deps, profile

MESSAGE = "m_0123456789abcdef01234567"


def token(purpose: LinkPurpose, expires_in: timedelta = timedelta(days=90), channel: str = "email") -> str:
    return LINKS.token(purpose, MESSAGE, "p_anna", channel, "marketing", NOW + expires_in)


def form(*fields: tuple[str, str]) -> bytes:
    return urlencode(fields).encode()


def hidden_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]*)"', html).group(1)


def stated(store) -> list[tuple[str, dict, str, dict]]:
    """(source, subscriptions, who, event fields naming them) of each published event."""
    out = []
    for event in store.published:
        naming = {"user_id": event.user_id} if event.user_id else event.context
        out.append(
            (event.source.source_id, event.traits["subscriptions"], event.timestamp.isoformat(), naming)
        )
    return out


EMAIL = {"externalIds": [{"type": "email", "id": "anna@example.com", "collection": "users"}]}


# -- unsubscribe ---------------------------------------------------------------------------------
def test_unsubscribe_page_get_publishes_nothing_even_for_an_old_link():
    store = anna()
    page = service.unsubscribe_page(
        deps(store), token(LinkPurpose.UNSUBSCRIBE, timedelta(days=-300)), None, NOW
    )
    assert (
        page.status == HTTPStatus.OK
        and "Вы больше не будете получать маркетинговые письма по email." in page.html
    )
    assert store.published == [] and page.change is None


def test_unsubscribe_expired_but_genuine_link_unsubscribes_by_the_messages_address():
    store = anna()
    page = service.unsubscribe(deps(store), token(LinkPurpose.UNSUBSCRIBE, timedelta(days=-300)), None, NOW)
    assert page.status == HTTPStatus.OK and "<h1>Вы отписались</h1>" in page.html
    assert stated(store) == [
        ("unsubscribe_link", {"email": {"marketing": False}}, "2026-11-23T09:00:00+00:00", EMAIL)
    ]
    assert store.published[0].source.customer is True and page.change == store.published[0]


def test_unsubscribe_of_a_message_past_the_logs_retention_names_the_customer_by_profile():
    store = anna()
    store.records.clear()
    service.unsubscribe(deps(store), token(LinkPurpose.UNSUBSCRIBE), None, NOW)
    assert stated(store) == [
        (
            "unsubscribe_link",
            {"email": {"marketing": False}},
            "2026-11-23T09:00:00+00:00",
            {"user_id": "u-anna"},
        )
    ]


def test_unsubscribe_of_an_erased_person_answers_the_same_page_and_publishes_nothing():
    store = anna()
    store.records.clear()
    store.profiles.clear()
    page = service.unsubscribe(deps(store), token(LinkPurpose.UNSUBSCRIBE), "ru", NOW)
    assert page.status == HTTPStatus.OK and "<h1>Вы отписались</h1>" in page.html
    assert store.published == [] and "Передумали?" not in page.html


def test_unsubscribe_offers_the_undo_only_to_a_subscribed_customer():
    subscribed = service.unsubscribe(deps(anna()), token(LinkPurpose.UNSUBSCRIBE), None, NOW)
    claims = verify_link(
        hidden_token(subscribed.html), LINKS.secrets, purpose=LinkPurpose.RESUBSCRIBE, now=NOW
    )
    assert claims.expires_at == NOW + timedelta(hours=24)
    already = service.unsubscribe(
        deps(anna(**{"email.marketing": False})), token(LinkPurpose.UNSUBSCRIBE), None, NOW
    )
    assert "Передумали?" not in already.html and 'name="token"' not in already.html


@pytest.mark.parametrize(
    "bad",
    ["forged.token", "", "x" * 5000, token(LinkPurpose.WHY), token(LinkPurpose.PREFERENCES)],
)
def test_unsubscribe_with_a_token_that_is_not_a_genuine_unsubscribe_link_is_refused(bad):
    store = anna()
    page = service.unsubscribe(deps(store), bad, "en", NOW)
    assert page.status == HTTPStatus.FORBIDDEN and "<h1>This link does not work</h1>" in page.html
    assert store.published == []


# -- undo ----------------------------------------------------------------------------------------
def test_resubscribe_turns_the_channel_on_again_from_the_preference_center():
    store = anna()
    done = service.unsubscribe(deps(store), token(LinkPurpose.UNSUBSCRIBE), None, NOW)
    later = NOW + timedelta(minutes=5)
    page = service.resubscribe(deps(store), form(("token", hidden_token(done.html))), None, later)
    assert (
        page.status == HTTPStatus.OK
        and "Вы снова будете получать маркетинговые письма по email." in page.html
    )
    assert stated(store)[1] == (
        "preference_center",
        {"email": {"marketing": True}},
        "2026-11-23T09:05:00+00:00",
        EMAIL,
    )
    twice = service.resubscribe(deps(store), form(("token", hidden_token(done.html))), None, later)
    assert twice.change is not None and twice.change.message_id == store.published[1].message_id  # one event


def test_resubscribe_after_its_time_is_refused_with_words_about_the_undo():
    store = anna()
    undo = token(LinkPurpose.RESUBSCRIBE, timedelta(hours=-1))
    page = service.resubscribe(deps(store), form(("token", undo)), "en", NOW)
    assert page.status == HTTPStatus.FORBIDDEN and "It is too late to undo this." in page.html
    assert store.published == []


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"", "token"), (form(("token", "")), "token"), (form(("token", "a"), ("token", "b")), "token"),
     (b"\xff", "form"), (b"a=1&" * 50, "form"), (b"x" * 9000, "form")],
)  # fmt: skip
def test_resubscribe_form_that_cannot_be_read_answers_400_naming_the_field(body, field):
    page = service.resubscribe(deps(anna()), body, "en", NOW)
    assert page.status == HTTPStatus.BAD_REQUEST and f"Field “{field}”:" in page.html


# -- the preference center -----------------------------------------------------------------------
def test_preferences_page_shows_every_channel_with_its_state():
    store = anna(**{"email.marketing": True, "sms.marketing": False, "sms.transactional": False})
    page = service.preferences_page(deps(store), token(LinkPurpose.PREFERENCES), None, NOW)
    assert page.status == HTTPStatus.OK and store.published == []
    checked = re.findall(r'name="(\w+)\.marketing" value="on"( checked)?', page.html)
    assert checked == [("email", " checked"), ("sms", ""), ("push", ""), ("store", ""), ("call_center", "")]
    assert "<li>SMS о заказах: не отправляются</li>" in page.html
    assert "<li>Письма о заказах: отправляются</li>" in page.html


def test_preferences_change_publishes_only_what_changed_in_one_event():
    store = anna()
    page = service.change_preferences(
        deps(store),
        form(("token", token(LinkPurpose.PREFERENCES)), ("email.marketing", "off"), ("email.marketing", "on"),
             ("sms.marketing", "off"), ("sms.marketing", "on"), ("push.marketing", "off")),
        None,
        NOW,
    )  # fmt: skip
    assert page.status == HTTPStatus.OK and "Готово: ваш выбор сохранён." in page.html
    assert stated(store) == [
        ("preference_center", {"sms": {"marketing": True}}, "2026-11-23T09:00:00+00:00", EMAIL)
    ]
    assert re.search(r'name="sms\.marketing" value="on" checked', page.html)


def test_preferences_all_off_turns_every_channel_off():
    store = anna(**{"email.marketing": True, "push.marketing": True})
    service.change_preferences(
        deps(store), form(("token", token(LinkPurpose.PREFERENCES)), ("all", "off")), None, NOW
    )
    assert stated(store)[0][1] == {"email": {"marketing": False}, "push": {"marketing": False}}


def test_preferences_expired_link_turns_things_off_but_never_on():
    store = anna()
    old = token(LinkPurpose.PREFERENCES, timedelta(days=-1))
    page = service.change_preferences(
        deps(store), form(("token", old), ("email.marketing", "off"), ("sms.marketing", "on")), None, NOW
    )
    assert stated(store)[0][1] == {"email": {"marketing": False}}
    assert "Ссылка устарела: здесь можно только отписаться." in page.html
    assert re.search(r'name="sms\.marketing" value="on" disabled', page.html)


def test_preferences_of_an_erased_person_are_refused_like_a_forged_link():
    store = anna()
    store.profiles.clear()
    page = service.preferences_page(deps(store), token(LinkPurpose.PREFERENCES), "en", NOW)
    assert page.status == HTTPStatus.FORBIDDEN and "<h1>This link does not work</h1>" in page.html


def test_preferences_name_a_profile_by_its_strongest_identifier():
    store = anna()
    store.records.clear()
    store.profiles["p_anna"] = profile(
        {"email.marketing": True},
        identifiers=(
            Identifier(kind="anonymous_id", value="a-1"),
            Identifier(kind="loyalty_card", value="L-7"),
        ),
    )
    service.change_preferences(
        deps(store), form(("token", token(LinkPurpose.PREFERENCES)), ("email.marketing", "off")), None, NOW
    )
    assert stated(store)[0][3] == {
        "externalIds": [{"type": "loyalty_card", "id": "L-7", "collection": "users"}]
    }


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ([("email.transactional", "off")], "email.transactional", "problem_fixed"),
        ([("fax.marketing", "on")], "fax.marketing", "problem_unknown"),
        ([("email", "on")], "email", "problem_unknown"),
        ([("email.marketing", "yes")], "email.marketing", "problem_value"),
        ([("all", "on")], "all", "problem_value"),
    ],
)
def test_wanted_marketing_refuses_a_field_naming_it(fields, field, problem):
    with pytest.raises(BadForm) as caught:
        service.wanted_marketing({name: [value] for name, value in fields})
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_preferences_bad_field_is_named_in_the_customers_language_and_cut_when_long():
    page = service.change_preferences(
        deps(anna()), form(("token", token(LinkPurpose.PREFERENCES)), ("z" * 100, "on")), "en", NOW
    )
    assert page.status == HTTPStatus.BAD_REQUEST
    assert f"Поле «{'z' * 60}…»: такого поля нет в этой форме." in page.html
