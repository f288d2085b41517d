"""The reader's language: the request's locale, else Accept-Language with its q-values."""

import pytest

from asusual.content.language import accepted_languages, language_tag, negotiate, pack_locale, reader_locale

PACK = ("ru", "en")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", ["en-US", "en"]),
        ("de;q=0.5, en-GB;q=0.8, ru", ["ru", "en-GB", "de"]),
        ("ru;q=0.5,en;q=0.5", ["ru", "en"]),  # equal quality: the order given
        ("ru;q=0, en", ["en"]),  # q=0: not acceptable
        ("*, en;q=0.1", ["en"]),
        ("en;q=1.5, ru;q=abc, de;q=0.3", ["de"]),  # an invalid quality drops its range
        ("en US, <script>, ru-RU", ["ru-RU"]),
        ("EN-us;Q=0.7", ["EN-us"]),
        ("", []),
        (None, []),
    ],
)
def test_accepted_languages_orders_by_quality_then_position(header, expected):
    assert accepted_languages(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.7", "ru"),
        ("fr, de", None),
        ("ru;q=0.1, en;q=0.5", "en"),
        (None, None),
    ],
)
def test_negotiate_the_best_locale_the_pack_has(header, expected):
    assert negotiate(header, PACK) == expected


def test_negotiate_reads_a_bounded_header():
    assert negotiate("fr," * 60 + "en", PACK) is None  # past 50 ranges: not read
    assert negotiate("fr;q=0.9," * 40 + "en", PACK) == "en"


def test_pack_locale_takes_the_tag_then_its_language():
    assert (pack_locale("en-GB", PACK), pack_locale("RU_ru", PACK), pack_locale("de", PACK)) == (
        "en",
        "ru",
        None,
    )
    assert pack_locale("pt-BR", ("pt_br", "en")) == "pt_br"


def test_reader_locale_request_first_then_accept_language_then_none():
    assert reader_locale("ru-RU", "en-US", PACK) == "ru"
    assert reader_locale("de", "en-US", PACK) == "en"
    assert reader_locale(None, "de", PACK) is None


@pytest.mark.parametrize("value", ["en US", "", "x" * 36, "en-", "-en", "e!n", "en--us"])
def test_language_tag_refuses_what_is_not_a_tag(value):
    with pytest.raises(ValueError, match="a language tag such as en, en-US or ru"):
        language_tag(value)


def test_language_tag_strips_a_valid_tag():
    assert language_tag(" en-US ") == "en-US"
