"""What a browser asks for, read defensively: HTML or JSON, which language, a posted form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asusual.pages.requests import BadForm, browser_locale, default_locale, form_fields, wants_html


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", True),  # Chrome
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Firefox, Safari
        ("application/xhtml+xml", True),
        ("text/*", True),
        (None, False),
        ("", False),
        ("*/*", False),  # curl: JSON, as before
        ("application/json", False),
        ("application/json, text/html", False),  # a tie goes to JSON
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0, */*", False),
        ("text/html;q=abc", False),  # an unreadable weight drops the item
        (";;;,,,q=1", False),
        ("x" * 100_000, False),
    ],
)
def test_wants_html_only_when_accept_prefers_html_to_json(accept, html):
    assert wants_html(accept) is html


@given(st.text(max_size=300))
def test_wants_html_never_raises(accept):
    assert wants_html(accept) in (True, False)


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,en;q=0.5,ru;q=0.4", "en"),
        ("ru;q=0.4,en;q=0.6", "en"),
        ("fr", "fallback"),
        ("ru;q=0", "fallback"),
        (None, "fallback"),
        ("*", "fallback"),
        ("ru_RU", "ru"),
    ],
)
def test_browser_locale_is_the_highest_ranked_of_ours(header, locale):
    assert browser_locale(header, "fallback") == locale


@pytest.mark.parametrize(
    ("configured", "country", "locale"),
    [("en", "RU", "en"), (None, "RU", "ru"), (None, "kz", "ru"), (None, "DE", "en"), (None, None, "en"),
     ("de", None, "en")],
)  # fmt: skip
def test_default_locale_is_the_configured_one_else_from_the_country(configured, country, locale):
    assert default_locale(configured, country) == locale


def test_form_fields_keeps_every_value_in_order():
    assert form_fields(b"token=a.b&email.marketing=off&email.marketing=on&x=") == {
        "token": ["a.b"],
        "email.marketing": ["off", "on"],
        "x": [""],
    }


@pytest.mark.parametrize("body", [b"\xff\xfe", b"%ff=1", b"a=1&" * 41, b"a" * 8193, "a" * 8193])
def test_form_fields_refuses_what_is_not_a_form_naming_the_form(body):
    with pytest.raises(BadForm) as caught:
        form_fields(body)
    assert (caught.value.field, caught.value.problem, caught.value.status) == ("form", "problem_form", 400)
