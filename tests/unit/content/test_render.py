"""Composing: strict variants, output checks, discretion, the why footer, context and prices."""

# ruff: noqa: RUF001  (Russian copy under test: Cyrillic letters that look Latin are intended)

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from asusual.content.pack import ALWAYS_PRESENT, ContentPack, load_pack
from asusual.content.render import (
    ContentInput,
    ContentUnavailable,
    compose,
    default_pack,
    leak,
    resolve_locale,
)
from asusual.localtime import country_zones
from tests.unit.content import (
    NOW,
    PREFERENCES_URL,
    UNSUBSCRIBE_URL,
    WHY_URL,
    minimal_facts,
    product,
    profile,
    request,
)

HEAD = """
default_locale = "ru"
locales = ["ru", "en"]

[signature]
ru = "Команда магазина"
en = "The store team"

[why.birthday]
ru = "Вы подписаны на новости и указали дату рождения."
en = "You subscribed to our news and told us your birthday."

[why.order_shipped]
ru = "Вы оформили у нас заказ № {{ order_id }}."
en = "You placed order {{ order_id }} with us."

[why.site_banner]
ru = "Предложение по вашему профилю."
en = "Picked from your profile."
"""


def pack_of(templates: str) -> ContentPack:
    return load_pack(HEAD + templates)


def sms(first: str, fallback: str = "С днём рождения!", trigger: str = "birthday") -> ContentPack:
    return pack_of(f"""
[[templates.{trigger}.sms.ru]]
id = "first"
body = '{first}'

[[templates.{trigger}.sms.ru]]
id = "fallback"
body = '{fallback}'
""")


ANNA = profile(
    first_name="Анна", middle_name="Сергеевна", gender="female", timezone="Europe/Moscow", orders=6
)
NOBODY = profile()


# --- rule 1: strict, sandboxed rendering ----------------------------------------------------


def test_compose_missing_variable_falls_back_never_leaks():
    out = compose(sms("{{ name }}, с днём рождения!"), request("birthday", "sms", NOBODY))
    assert out.variant_id == "fallback"
    assert out.body.startswith("С днём рождения!")
    assert "{{" not in out.body and ", с днём" not in out.body
    assert out.context["skipped"][0]["variant"] == "first"
    assert "undefined" in out.context["skipped"][0]["reason"]


def test_compose_missing_nested_field_falls_back():
    pack = sms("Для вас: {{ offer.name }} за {{ offer.price_text }}")
    no_price = product("Пуховик", price=None)
    out = compose(pack, request("birthday", "sms", ANNA, offer=no_price))
    assert out.variant_id == "fallback"
    with_price = compose(pack, request("birthday", "sms", ANNA, offer=product("Пуховик", "9990")))
    assert with_price.variant_id == "first"
    assert "9\u00a0990,00\u00a0₽" in with_price.body


def test_compose_known_name_renders_the_named_variant():
    out = compose(sms("{{ name }}, с днём рождения!"), request("birthday", "sms", ANNA))
    assert out.variant_id == "first"
    assert out.body.startswith("Анна, с днём рождения!")


def test_compose_templates_cannot_reach_python_attributes():
    pack = sms("{{ offer.__class__ }}{{ products.__len__ }}")
    out = compose(pack, request("birthday", "sms", ANNA, offer=product()))
    assert out.variant_id == "fallback"


def test_compose_always_present_variables_are_present_for_a_minimal_profile():
    probe = "".join(f"{{% if {name} %}}{{% endif %}}" for name in sorted(ALWAYS_PRESENT))
    out = compose(sms(probe + "ok"), request("birthday", "sms", NOBODY, facts={}))
    assert out.variant_id == "first"


def test_compose_dative_only_when_gender_known():
    pack = sms("Подарок {{ name_dative }}!")
    assert compose(pack, request("birthday", "sms", ANNA)).body.startswith("Подарок Анне!")
    unknown = profile(first_name="Анна")
    assert compose(pack, request("birthday", "sms", unknown)).variant_id == "fallback"


def test_compose_no_variant_renders_raises_content_unavailable():
    pack = sms("{{ name }}!", fallback="{{ order_id }}")
    with pytest.raises(ContentUnavailable) as err:
        compose(pack, request("birthday", "sms", NOBODY))
    assert err.value.code == "content_unavailable"
    assert "first" in err.value.message and "fallback" in err.value.message


def test_compose_unknown_template_raises_content_unavailable():
    with pytest.raises(ContentUnavailable, match=r"no template birthday\.fax"):
        compose(default_pack(), request("birthday", "fax", ANNA))


# --- rule 2: output checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        "{% raw %}{{ name }}{% endraw %}, с днём рождения!",  # a placeholder in the output
        "{% raw %}{% if x %}{% endraw %} поздравляем",
        "Поздравляем, None!",
        'Поздравляем, {{ "null" }}!',
        "Поздравляем, nil",
        "   ",
        'Здравствуйте, {{ "" }}!',  # "Здравствуйте, !"
        'Поздравляем {{ "" }}!',  # "Поздравляем !"
        'Уважаемая {{ "" }},',
        '«{{ "" }}» снова в продаже',
    ],
)
def test_compose_rejects_leaky_output_and_uses_the_next_variant(first):
    out = compose(sms(first), request("birthday", "sms", ANNA))
    assert out.variant_id == "fallback"


def test_compose_empty_subject_rejected():
    pack = pack_of("""
[[templates.birthday.email.ru]]
id = "first"
subject = "{% if has_name %}{% endif %}"
body = "Поздравляем!"

[[templates.birthday.email.ru]]
id = "fallback"
subject = "С днём рождения!"
body = "Поздравляем!"
""")
    out = compose(pack, request("birthday", "email", ANNA))
    assert out.variant_id == "fallback"
    assert out.subject == "С днём рождения!"


@pytest.mark.parametrize(
    "text",
    ["Hi ,", "Hi !", "Анна, !", "Dear Ms,", "Уважаемая!", "Hello {{ name }}", "Цена: None", "", "\n \n"],
)
def test_leak_flags_broken_texts(text):
    assert leak(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Анна, здравствуйте!",
        "Hello,\n\nThank you.",
        "Здравствуйте!",
        "Сейчас цена — 1\u00a0290,00\u00a0₽, до 3 июня на 7% ниже.",
        "Nonetheless, nothing was annulled.",
        "Подробнее: https://shop.example/why/m_1?a=1&b=2",
    ],
)
def test_leak_accepts_clean_texts(text):
    assert leak(text) is None


# --- rule 3: sensitive products -------------------------------------------------------------

PILLS = product("Но-шпа форте", "250", product_id="sku_rx", sensitive=True)


@pytest.mark.parametrize(
    ("channel", "variant"), [("sms", "named"), ("push", "product"), ("email", "product_price")]
)
def test_compose_sensitive_product_never_in_sms_push_or_subject(channel, variant):
    out = compose(
        default_pack(), request("replenishment", channel, ANNA, products=(PILLS,), zones=("Europe/Moscow",))
    )
    exposed = [out.subject or "", out.why] + ([] if channel == "email" else [out.body])
    for text in exposed:
        assert "но-шпа" not in text.lower()
    assert out.variant_id == variant
    if channel == "email":
        assert "Но-шпа форте" in out.body  # named inside the email body only
        assert "Но-шпа форте" in (out.html or "")
    else:
        # still about the product, under a neutral name
        assert "товар" in out.body


@pytest.mark.parametrize("trigger", ["order_placed", "order_shipped", "order_cancelled"])
@pytest.mark.parametrize("channel", ["sms", "push", "store", "call_center"])
def test_compose_sensitive_order_line_never_named_off_email(trigger, channel):
    out = compose(default_pack(), request(trigger, channel, ANNA, products=(product(), PILLS)))
    assert "но-шпа" not in f"{out.subject}\n{out.body}".lower()


def test_compose_sensitive_offer_on_a_banner_gets_a_neutral_name():
    pack = default_pack()
    out = compose(pack, request("site_banner", "web", ANNA, offer=PILLS, facts={}, zones=("Europe/Moscow",)))
    assert "но-шпа" not in out.body.lower()
    assert "подобранный для вас" in out.body


def test_compose_guard_fails_a_variant_that_smuggles_a_sensitive_name_through_facts():
    pack = pack_of("""
[[templates.order_shipped.sms.ru]]
id = "first"
body = "Заказ {{ order_id }}: {{ details.note }}"

[[templates.order_shipped.sms.ru]]
id = "fallback"
body = "Заказ № {{ order_id }} отправлен."
""")
    facts = minimal_facts("order_shipped") | {"details": {"note": "НО-ШПА ФОРТЕ, 20 таблеток"}}
    out = compose(pack, request("order_shipped", "sms", ANNA, facts=facts, products=(PILLS,)))
    assert out.variant_id == "fallback"
    assert "sensitive" in out.context["skipped"][0]["reason"]


def test_compose_guard_scans_the_push_title():
    pack = pack_of("""
[[templates.order_shipped.push.ru]]
id = "first"
subject = "{{ details.note }} в пути"
body = "Заказ № {{ order_id }} отправлен."

[[templates.order_shipped.push.ru]]
id = "fallback"
subject = "Заказ в пути"
body = "Заказ № {{ order_id }} отправлен."
""")
    facts = minimal_facts("order_shipped") | {"details": {"note": "Но-шпа форте"}}
    out = compose(pack, request("order_shipped", "push", ANNA, facts=facts, products=(PILLS,)))
    assert out.variant_id == "fallback"


# --- rule 4: why line, why link, unsubscribe ------------------------------------------------


def test_compose_message_body_ends_with_why_and_why_url():
    out = compose(default_pack(), request("order_shipped", "sms", ANNA))
    assert out.why == "Вы оформили у нас заказ № A-1001."
    assert out.body.endswith(f"{out.why} {WHY_URL}")


def test_compose_email_carries_why_link_and_unsubscribe_in_text_and_html():
    out = compose(default_pack(), request("birthday", "email", ANNA, unsubscribe_url=UNSUBSCRIBE_URL))
    assert out.why in out.body
    assert f"Подробнее: {WHY_URL}" in out.body
    assert f"Отписаться: {UNSUBSCRIBE_URL}" in out.body
    assert out.html is not None
    assert f'<a href="{WHY_URL}">' in out.html and f'<a href="{UNSUBSCRIBE_URL}">' in out.html


def test_compose_email_footer_links_the_preference_center_and_an_sms_does_not():
    email = compose(
        default_pack(),
        request("birthday", "email", ANNA, unsubscribe_url=UNSUBSCRIBE_URL, preferences_url=PREFERENCES_URL),
    )
    assert email.body.endswith(
        f"Подробнее: {WHY_URL}\nНастроить рассылки: {PREFERENCES_URL}\nОтписаться: {UNSUBSCRIBE_URL}"
    )
    assert email.html is not None and f'<a href="{PREFERENCES_URL}">' in email.html
    sms = compose(default_pack(), request("order_shipped", "sms", ANNA, preferences_url=PREFERENCES_URL))
    assert PREFERENCES_URL not in sms.body


def test_compose_why_line_is_required_even_if_a_template_forgets_it():
    pack = sms("Поздравляем!")
    out = compose(pack, request("birthday", "sms", ANNA))
    assert "Вы подписаны на новости и указали дату рождения." in out.body
    assert WHY_URL in out.body


def test_compose_why_that_does_not_render_makes_the_message_unavailable():
    pack = pack_of("""
[[templates.order_shipped.sms.ru]]
id = "fallback"
body = "Заказ отправлен."
""")
    with pytest.raises(ContentUnavailable, match="why line"):
        compose(pack, request("order_shipped", "sms", ANNA, facts={}))


def test_compose_placement_returns_why_separately_without_footer():
    out = compose(default_pack(), request("site_greeting", "web", ANNA, facts={}, zones=("Europe/Moscow",)))
    assert out.why
    assert WHY_URL not in out.body and out.why not in out.body
    assert out.subject is None and out.html is None


def test_compose_email_html_escapes_customer_data():
    evil = product("<script>alert(1)</script>", "10")
    out = compose(default_pack(), request("order_placed", "email", ANNA, products=(evil,)))
    assert "<script>" in out.body
    assert out.html is not None and "<script>" not in out.html and "&lt;script&gt;" in out.html


# --- rule 5: daypart and season from all plausible zones ------------------------------------


def test_compose_greeting_one_zone_follows_its_daypart():
    morning = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    out = compose(
        default_pack(), request("site_greeting", "web", ANNA, facts={}, zones=("Europe/Moscow",), now=morning)
    )
    assert out.greeting == "Доброе утро, Анна Сергеевна"
    assert "вечер" not in out.body
    assert out.context["daypart"] == "morning"
    assert out.context["local_time"] == "2026-11-23T09:00:00+03:00"


def test_compose_greeting_zones_disagree_neutral():
    out = compose(default_pack(), request("site_greeting", "web", ANNA, facts={}, zones=country_zones("RU")))
    assert out.greeting == "Здравствуйте, Анна Сергеевна"
    assert out.body.startswith("Здравствуйте, Анна Сергеевна!")
    assert out.context["daypart"] is None


def test_compose_season_unknown_never_reaches_a_template():
    pack = pack_of("""
[[templates.site_banner.web.ru]]
id = "first"
body = "{{ hello }}! Сезон: {{ season }}."

[[templates.site_banner.web.ru]]
id = "fallback"
body = "{{ hello }}!"
""")
    july = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    split = compose(
        pack,
        request("site_banner", "web", ANNA, facts={}, now=july, zones=("Europe/Moscow", "Australia/Sydney")),
    )
    assert split.variant_id == "fallback"
    assert split.context["season"] is None
    sydney = compose(
        pack, request("site_banner", "web", ANNA, facts={}, now=july, zones=("Australia/Sydney",))
    )
    assert sydney.body.endswith("Сезон: winter.")


def test_compose_default_banner_season_wording_only_when_season_known():
    july = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    offer = product("Зонт", "1500")
    known = compose(
        default_pack(),
        request("site_banner", "web", ANNA, facts={}, now=july, zones=("Europe/Moscow",), offer=offer),
    )
    assert known.variant_id == "season_offer" and "Этим летом" in known.body
    split = compose(
        default_pack(),
        request(
            "site_banner",
            "web",
            ANNA,
            facts={},
            now=july,
            zones=("Europe/Moscow", "Australia/Sydney"),
            offer=offer,
        ),
    )
    assert split.variant_id == "offer"
    assert not any(word in split.body for word in ("зимой", "летом", "весной", "осенью"))


def test_compose_holiday_greeting_on_russian_christmas():
    christmas = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    out = compose(
        default_pack(),
        request(
            "site_greeting", "web", ANNA, facts={}, now=christmas, zones=("Europe/Moscow",), country="RU"
        ),
    )
    assert out.variant_id == "holiday"
    assert out.body == "Добрый день, Анна Сергеевна! С праздником!"
    assert out.context["holiday"] == "Рождество Христово"


# --- tenure ---------------------------------------------------------------------------------


def test_compose_first_time_buyer_never_greeted_as_an_old_friend():
    new = profile(first_name="Анна", orders=1)
    placed = compose(default_pack(), request("order_placed", "email", new))
    assert "снова" not in placed.body
    greeting = compose(default_pack(), request("site_greeting", "web", new, facts={}))
    assert "снова" not in greeting.body
    returning = compose(
        default_pack(), request("order_placed", "email", profile(first_name="Анна", orders=2))
    )
    assert "Рады снова видеть вас!" in returning.body


# --- rule 6: prices come from the products given --------------------------------------------


def test_compose_price_is_the_catalog_price_never_the_facts_total():
    facts = minimal_facts("replenishment") | {"total": 999.0, "price": 555, "details": {"price": "777"}}
    out = compose(
        default_pack(),
        request(
            "replenishment",
            "email",
            ANNA,
            facts=facts,
            products=(product("Корм", "1290"),),
            zones=("Europe/Moscow",),
        ),
    )
    assert "1\u00a0290,00\u00a0₽" in out.body
    for wrong in ("999", "555", "777"):
        assert wrong not in out.body


def test_compose_amounts_in_facts_are_not_template_variables():
    pack = pack_of("""
[[templates.order_shipped.sms.ru]]
id = "first"
body = "Заказ № {{ order_id }} на сумму {{ details.total }}"

[[templates.order_shipped.sms.ru]]
id = "fallback"
body = "Заказ № {{ order_id }} отправлен."
""")
    facts = minimal_facts("order_shipped") | {"total": 999.0, "details": {"total": "999 ₽"}}
    out = compose(pack, request("order_shipped", "sms", ANNA, facts=facts))
    assert out.variant_id == "fallback"
    assert "999" not in out.body


def test_compose_price_formatted_per_locale():
    english = profile(first_name="Anna", locale="en-GB", orders=6)
    out = compose(
        default_pack(), request("site_banner", "web", english, facts={}, offer=product("Umbrella", "1290"))
    )
    assert "RUB\u00a01,290.00" in out.body


def test_compose_price_with_invalid_currency_is_not_shown():
    odd = product("Зонт", "1290", currency="rubles")
    out = compose(default_pack(), request("site_banner", "web", ANNA, facts={}, offer=odd))
    assert out.variant_id == "fallback"
    assert "1290" not in out.body and "1\u00a0290" not in out.body


# --- replenishment copy, locales, input ----------------------------------------------------


def test_compose_replenishment_sms_days_plural_and_local_deadline():
    out = compose(
        default_pack(),
        request(
            "replenishment", "sms", ANNA, products=(product("Корм Purina One"),), zones=("Europe/Moscow",)
        ),
    )
    assert out.body.startswith(
        "Анна, вы покупали у нас «Корм Purina One» 26 дней назад — пополните запас со скидкой 7% до 03.06."
    )
    facts = minimal_facts("replenishment") | {"days_since": 21}
    again = compose(default_pack(), request("replenishment", "sms", ANNA, facts=facts, products=(product(),)))
    assert "21 день назад" in again.body


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("ru-RU", "ru"),
        ("ru_RU", "ru"),
        ("RU", "ru"),
        ("en-GB", "en"),
        ("EN", "en"),
        ("de-DE", "ru"),
        (None, "ru"),
    ],
)
def test_resolve_locale_normalizes_or_defaults(requested, expected):
    assert resolve_locale(requested, default_pack()) == expected


def test_compose_uses_the_profile_locale_and_falls_back_to_the_default_locale():
    english = profile(first_name="Anna", last_name="Smith", gender="female", locale="en-US")
    out = compose(default_pack(), request("birthday", "email", english))
    assert out.locale == "en" and out.body.startswith("Dear Ms Smith,")
    ru_only = sms("Поздравляем!")
    assert compose(ru_only, request("birthday", "sms", english)).locale == "ru"


def test_content_input_requires_an_aware_now():
    with pytest.raises(ValidationError):
        ContentInput(
            trigger="birthday",
            channel="sms",
            profile=NOBODY,
            zones=(),
            country=None,
            now=datetime(2026, 5, 27, 9, 0),
            facts={},
        )


def test_compose_context_summarizes_the_choice():
    out = compose(default_pack(), request("birthday", "email", ANNA, zones=("Europe/Moscow",), country="RU"))
    assert out.template_id == "birthday.email"
    assert out.context | {"skipped": []} == {
        "daypart": "day",
        "season": "spring",
        "holiday": None,
        "country": "RU",
        "tenure": "loyal",
        "gender": "female",
        "gender_basis": "declared",
        "salutation": "Уважаемая Анна Сергеевна",
        "local_time": "2026-05-27T12:00:00+03:00",
        "zones": ["Europe/Moscow"],
        "locale": "ru",
        "requested_locale": None,
        "skipped": [],
    }
    assert NOW.tzinfo is UTC
    assert isinstance(Decimal("1"), Decimal)


# --- the output checks read what the template wrote, not the customer's data -----------------


@pytest.mark.parametrize("order_id", ["None-1", "W-null-7", "NaN 2027", "{{7}}", "A-{% x %}", "undefined:3"])
def test_compose_order_id_that_spells_a_leak_is_data_and_the_confirmation_renders(order_id):
    pack = pack_of("""
[[templates.order_shipped.email.ru]]
id = "only"
subject = "Заказ № {{ order_id }} отправлен"
body = "Ваш заказ № {{ order_id }} в пути."
""")
    out = compose(
        pack,
        request(
            "order_shipped", "email", ANNA, facts={**minimal_facts("order_shipped"), "order_id": order_id}
        ),
    )
    assert out.variant_id == "only"
    assert out.subject == f"Заказ № {order_id} отправлен"
    assert out.body.startswith(f"Ваш заказ № {order_id} в пути.")


def test_compose_template_that_writes_none_itself_still_leaks_whatever_the_data():
    pack = pack_of("""
[[templates.order_shipped.sms.ru]]
id = "broken"
body = "Заказ № {{ order_id }}: None"

[[templates.order_shipped.sms.ru]]
id = "fallback"
body = "Заказ № {{ order_id }} отправлен."
""")
    out = compose(
        pack,
        request("order_shipped", "sms", ANNA, facts={**minimal_facts("order_shipped"), "order_id": "W-1"}),
    )
    assert out.variant_id == "fallback"
    assert out.context["skipped"] == [{"variant": "broken", "reason": "'None' in the output"}]


# --- the explanation lists the offer only when the message showed it --------------------------


def test_compose_shows_offer_only_when_the_variant_prints_it():
    pack = sms("С днём рождения! Для вас: {{ offer.name }} за {{ offer.price_text }}.")
    offer = product("Варежки", "990")
    shown = compose(pack, request("birthday", "sms", ANNA, offer=offer))
    assert (shown.variant_id, shown.shows_offer) == ("first", True)
    tested_only = compose(
        sms("{% if offer %}С днём рождения! У нас для вас подарок.{% endif %}"),
        request("birthday", "sms", ANNA, offer=offer),
    )
    assert (tested_only.variant_id, tested_only.shows_offer) == ("first", False)
    # the offer variant reads the offer, then fails (no holiday today): the fallback shows none
    failed = compose(
        sms("{{ offer.name }} к празднику {{ holiday }}"), request("birthday", "sms", ANNA, offer=offer)
    )
    assert (failed.variant_id, failed.shows_offer) == ("fallback", False)
