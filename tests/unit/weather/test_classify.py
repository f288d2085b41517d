"""The day's weather as one word: thresholds, their order, the place's local day, place names."""

from datetime import UTC, date, datetime

import pytest

from asusual.weather.rules import DayWeather, Forecast, Place, Weather, classify, place_from

DAY = date(2027, 1, 15)


def day(**fields: object) -> DayWeather:
    return DayWeather(day=DAY, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"weather_code": 3, "apparent_max_c": 0.0}, Weather.COLD),  # feels freezing all day
        ({"weather_code": 3, "apparent_max_c": 0.1}, None),
        ({"weather_code": 0, "apparent_max_c": 28.0}, Weather.HEAT),
        ({"weather_code": 0, "apparent_max_c": 27.9}, None),
        ({"weather_code": 61, "precipitation_mm": 1.0, "precipitation_probability": 50}, Weather.RAIN),
        ({"weather_code": 61, "precipitation_mm": 0.9, "precipitation_probability": 90}, None),
        ({"weather_code": 61, "precipitation_mm": 5.0, "precipitation_probability": 49}, None),
        ({"weather_code": 53, "precipitation_mm": 1.0}, Weather.RAIN),  # no probability given
        # no rain code: a wet forecast without rain in the sky (fog, overcast) is not a rainy day
        ({"weather_code": 3, "precipitation_mm": 12.0, "precipitation_probability": 100}, None),
        ({"weather_code": 95, "apparent_max_c": 31.0, "precipitation_mm": 4.0}, Weather.RAIN),  # before heat
        ({"weather_code": 66, "apparent_max_c": -2.0, "precipitation_mm": 4.0}, Weather.COLD),  # before rain
        ({"weather_code": 73, "apparent_max_c": 2.0, "snowfall_cm": 1.0}, Weather.COLD),  # it snows
        ({"weather_code": 73, "apparent_max_c": 2.0, "snowfall_cm": 0.9}, None),
        ({"weather_code": 1, "temperature_max_c": 29.0}, Weather.HEAT),  # no apparent: the air's
        ({"weather_code": 1, "apparent_max_c": 20.0, "temperature_max_c": 29.0}, None),  # apparent wins
        ({}, None),
    ],
)
def test_classify_thresholds_exact(fields, expected):
    assert classify(day(**fields)) == expected


def test_forecast_on_the_places_local_day_not_utcs():
    days = (DayWeather(day=DAY), DayWeather(day=date(2027, 1, 16)))
    forecast = Forecast(utc_offset_seconds=3 * 3600, days=days)
    assert forecast.on(datetime(2027, 1, 15, 20, 59, tzinfo=UTC)) == DayWeather(day=DAY)  # 23:59 in Moscow
    assert forecast.on(datetime(2027, 1, 15, 21, 0, tzinfo=UTC)) == DayWeather(day=date(2027, 1, 16))
    assert forecast.on(datetime(2027, 1, 16, 21, 0, tzinfo=UTC)) is None  # past what it covers
    assert forecast.on(datetime(2027, 1, 15, 21, 0)) == DayWeather(day=date(2027, 1, 16))  # naive: UTC


def test_place_key_normalized_spelling_alike():
    key = "нижний новгород|RU"
    assert Place("  Нижний   Новгород ", "ru").key == Place("нижний новгород", "RU").key == key
    assert place_from("  Нижний   Новгород ", "ru") == Place("Нижний Новгород", "RU")
    assert place_from("Королёв", None) == Place("Королёв", None)
    assert Place("Королёв").key == Place("королев").key == "королев|"


@pytest.mark.parametrize("city", [None, "", " ", "M", "12345", "x" * 101, 42, {"name": "Moscow"}])
def test_place_from_unusable_city_none(city):
    assert place_from(city, "RU") is None
