"""Content may ask for the day's weather: the ``weather`` variable and condition, and the fallback
to the season rule's words when the weather is unknown (or the feature is off)."""

# ruff: noqa: RUF001  (Russian copy under test)

import pytest

from asusual.content.pack import ContentPack, PackError
from asusual.content.render import compose
from asusual.weather.rules import Weather
from tests.unit.content import product, profile, request
from tests.unit.content.test_render import pack_of

PACK = """
[[templates.site_banner.web.ru]]
id = "cold_offer"
conditions = { weather = ["cold"], has_offer = true }
body = '{{ hello }}! На улице мороз: {{ offer.name }} за {{ offer.price_text }}.'

[[templates.site_banner.web.ru]]
id = "weather_word"
body = '{{ hello }}! Погода сегодня: {{ weather }}.'

[[templates.site_banner.web.ru]]
id = "fallback"
body = '{{ hello }}! Рады видеть вас.'
"""
ANNA = profile(first_name="Анна", timezone="Europe/Moscow")
JACKET = product("Пуховик", "12990", product_id="down_jacket")


def pack() -> ContentPack:
    return pack_of(PACK)


def banner(weather: Weather | None, offer=JACKET):
    base = request("site_banner", "web", ANNA, zones=("Europe/Moscow",), offer=offer)
    return compose(pack(), base.model_copy(update={"weather": weather}))


def test_compose_weather_condition_holds_on_a_cold_day():
    out = banner(Weather.COLD)
    assert out.variant_id == "cold_offer"
    assert out.body == "Добрый день, Анна! На улице мороз: Пуховик за 12\u00a0990,00\u00a0₽."
    assert out.context["weather"] == "cold"


def test_compose_weather_variable_other_weather():
    out = banner(Weather.RAIN)
    assert out.variant_id == "weather_word"
    assert out.body == "Добрый день, Анна! Погода сегодня: rain."


def test_compose_weather_unknown_falls_back_to_season_words():
    out = banner(None)
    assert out.variant_id == "fallback"
    assert "weather" not in out.context  # as before the feature
    assert [s["variant"] for s in out.context["skipped"]] == ["cold_offer", "weather_word"]


def test_pack_weather_condition_unknown_word_refused():
    with pytest.raises(PackError):
        pack_of(PACK.replace('weather = ["cold"]', 'weather = ["snowstorm"]'))
