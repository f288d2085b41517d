"""Loading a content pack: every fault is found at load and named by template, variant and field."""

# ruff: noqa: RUF001  (Russian copy under test: Cyrillic letters that look Latin are intended)

import pytest

from asusual.content.pack import ALWAYS_PRESENT, Conditions, PackError, Situation, load_pack
from asusual.content.render import default_pack
from asusual.profiles.view import TenureStage

HEAD = """
default_locale = "ru"
locales = ["ru", "en"]

[signature]
ru = "Команда"
en = "The team"

[why.birthday]
ru = "Вы подписаны на новости."
en = "You subscribed to our news."
"""

FALLBACK_SMS = """
[[templates.birthday.sms.ru]]
id = "fallback"
body = "С днём рождения!"
"""


def load(extra: str) -> object:
    return load_pack(HEAD + extra)


def test_load_pack_minimal_valid_pack_loads():
    pack = load_pack(HEAD + FALLBACK_SMS)
    assert pack.default_locale == "ru"
    assert pack.variants("birthday", "sms", "ru")[0].id == "fallback"
    assert pack.variants("birthday", "sms", "en") is None


def test_load_pack_liquid_syntax_error_names_template_variant_and_field():
    broken = (
        """
[[templates.birthday.sms.ru]]
id = "named"
conditions = { has_name = true }
body = "{{ name }}, с днём рождения!{% if has_offer %}"
"""
        + FALLBACK_SMS
    )
    with pytest.raises(PackError) as err:
        load(broken)
    assert "template birthday.sms.ru variant 'named' field body" in err.value.message
    assert "syntax" in err.value.message.lower()


def test_load_pack_syntax_error_in_subject_names_the_subject():
    broken = """
[[templates.birthday.email.ru]]
id = "fallback"
subject = "{{ name "
body = "С днём рождения!"
"""
    with pytest.raises(PackError, match=r"birthday\.email\.ru variant 'fallback' field subject"):
        load(broken)


def test_load_pack_last_variant_with_conditions_rejected():
    no_fallback = """
[[templates.birthday.sms.ru]]
id = "named"
conditions = { has_name = true }
body = "{{ name }}, с днём рождения!"
"""
    with pytest.raises(PackError, match=r"variant 'named': the last variant is the fallback"):
        load(no_fallback)


def test_load_pack_unknown_variable_rejected_by_name():
    typo = """
[[templates.birthday.sms.ru]]
id = "fallback"
body = "{{ nmae }}, с днём рождения!"
"""
    with pytest.raises(
        PackError, match=r"birthday\.sms\.ru variant 'fallback' field body: unknown variable\(s\) nmae"
    ):
        load(typo)


def test_load_pack_unknown_filter_rejected():
    typo = """
[[templates.birthday.sms.ru]]
id = "fallback"
body = "{{ order_count | plurall: 'заказ' }}"
"""
    with pytest.raises(PackError, match=r"unknown filter\(s\) plurall"):
        load(typo)


def test_load_pack_include_tag_is_not_available():
    partial = """
[[templates.birthday.sms.ru]]
id = "fallback"
body = "{% include 'secrets' %}"
"""
    with pytest.raises(PackError, match=r"variant 'fallback' field body: Liquid syntax error"):
        load(partial)


def test_load_pack_email_without_subject_and_sms_with_subject_rejected():
    email = """
[[templates.birthday.email.ru]]
id = "fallback"
body = "С днём рождения!"
"""
    with pytest.raises(PackError, match=r"birthday\.email\.ru variant 'fallback' field subject: required"):
        load(email)
    sms = """
[[templates.birthday.sms.ru]]
id = "fallback"
subject = "Поздравляем"
body = "С днём рождения!"
"""
    with pytest.raises(PackError, match=r"field subject: channel 'sms' has no subject"):
        load(sms)


def test_load_pack_schema_error_names_the_variant_by_id():
    bad = (
        """
[[templates.birthday.sms.ru]]
id = "named"
conditions = { has_nmae = true }
body = "{{ name }}"
"""
        + FALLBACK_SMS
    )
    with pytest.raises(
        PackError, match=r"template birthday\.sms\.ru variant 'named' field conditions\.has_nmae"
    ):
        load(bad)


def test_load_pack_bad_condition_value_named():
    bad = (
        """
[[templates.birthday.sms.ru]]
id = "evening"
conditions = { daypart = ["dusk"] }
body = "Добрый вечер!"
"""
        + FALLBACK_SMS
    )
    with pytest.raises(PackError, match=r"variant 'evening' field conditions\.daypart"):
        load(bad)


def test_load_pack_duplicate_variant_ids_rejected():
    twice = FALLBACK_SMS + FALLBACK_SMS
    with pytest.raises(PackError, match=r"variant 'fallback': duplicate variant id"):
        load(twice)


def test_load_pack_missing_why_line_for_a_templated_trigger_rejected():
    welcome = """
[[templates.welcome.sms.ru]]
id = "fallback"
body = "Спасибо за подписку!"
"""
    with pytest.raises(PackError, match=r"no why line for trigger 'welcome'"):
        load(welcome)


def test_load_pack_template_without_default_locale_rejected():
    english_only = """
[[templates.birthday.sms.en]]
id = "fallback"
body = "Happy birthday!"
"""
    with pytest.raises(PackError, match=r"birthday\.sms: no variants in the default locale 'ru'"):
        load(english_only)


def test_load_pack_wrong_channel_for_placement_rejected():
    placement = """
[why.site_greeting]
ru = "Приветствие по профилю."

[[templates.site_greeting.email.ru]]
id = "fallback"
subject = "Привет"
body = "{{ hello }}!"
"""
    with pytest.raises(PackError, match=r"template site_greeting\.email: channel 'email' is not one of"):
        load(placement)


def test_load_pack_unsupported_locale_and_bad_promotion_rejected():
    with pytest.raises(PackError, match=r"locales \['de'\] are not supported"):
        load_pack(HEAD.replace('locales = ["ru", "en"]', 'locales = ["ru", "en", "de"]') + FALLBACK_SMS)
    with pytest.raises(PackError, match=r"promotions\.replenishment\.discount_percent"):
        load(FALLBACK_SMS + "\n[promotions.replenishment]\ndiscount_percent = 150\n")
    with pytest.raises(PackError, match=r"promotions\.replenishment\.valid_days"):
        load(FALLBACK_SMS + "\n[promotions.replenishment]\nvalid_days = 2.5\n")


def test_load_pack_not_toml_rejected():
    with pytest.raises(PackError, match="not valid TOML"):
        load_pack("default_locale = ")


def test_conditions_unknown_daypart_or_season_never_match():
    situation = Situation(
        tenure=TenureStage.NEW,
        daypart=None,
        season=None,
        country="RU",
        holiday=False,
        has_name=True,
        has_offer=False,
        has_products=False,
        gender_known=False,
    )
    assert not Conditions.model_validate({"daypart": ["morning", "day", "evening", "night"]}).matches(
        situation
    )
    assert not Conditions.model_validate({"season": ["winter", "spring", "summer", "autumn"]}).matches(
        situation
    )
    assert Conditions.model_validate({"has_name": True, "tenure": ["new"]}).matches(situation)
    assert not Conditions.model_validate({"tenure": ["returning", "loyal"]}).matches(situation)
    assert Conditions.model_validate({"country": ["ru"]}).matches(situation)


def test_default_pack_every_template_ends_with_an_unconditioned_fallback():
    pack = default_pack()
    entries = list(pack.entries())
    assert len(entries) >= 100
    for trigger, channel, locale, variants in entries:
        assert variants[-1].conditions.empty(), (trigger, channel, locale)
    assert ALWAYS_PRESENT  # the vocabulary the fallbacks may rely on
