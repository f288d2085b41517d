"""The Open-Meteo adapter against recorded answers: geocoding, forecast, the caches, the timeout,
failures (never raised), and the setting that switches it on."""

import time
import urllib.error
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from asusual.settings import Settings
from asusual.store.weather import OpenMeteo, coordinates_of, forecast_of, use_transport, weather_source
from asusual.weather.rules import DayWeather, Place, Weather
from tests.weather_answers import FailingTransport, RecordedOpenMeteo, SlowTransport, answer

MOSCOW_JANUARY = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # noon in Moscow
SOCHI_JULY = datetime(2027, 7, 20, 9, 0, tzinfo=UTC)
PETERSBURG_RAINY = datetime(2027, 9, 14, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def source(transport, ticks=None, **options) -> OpenMeteo:
    return OpenMeteo(transport, monotonic=ticks or Ticks(), **options)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_forecast_of_recorded_answer_exact_days():
    forecast = forecast_of(answer("forecast_moscow_january"))
    assert forecast.utc_offset_seconds == 10800
    assert forecast.days == (
        DayWeather(
            day=date(2027, 1, 15),
            weather_code=73,
            apparent_max_c=-14.2,
            temperature_max_c=-9.1,
            precipitation_mm=3.2,
            snowfall_cm=2.24,
            precipitation_probability=87,
        ),
        DayWeather(
            day=date(2027, 1, 16),
            weather_code=3,
            apparent_max_c=-11.8,
            temperature_max_c=-7.4,
            precipitation_mm=0.0,
            snowfall_cm=0.0,
            precipitation_probability=12,
        ),
    )


def test_coordinates_of_recorded_answers():
    assert coordinates_of(answer("geocoding_moscow")) == (55.75222, 37.61556)
    assert coordinates_of(answer("geocoding_not_found")) is None


@pytest.mark.parametrize(
    ("city", "now", "expected"),
    [
        ("Москва", MOSCOW_JANUARY, Weather.COLD),
        ("Sochi", SOCHI_JULY, Weather.HEAT),
        ("Санкт-Петербург", PETERSBURG_RAINY, Weather.RAIN),
    ],
)
def test_weather_at_recorded_city_classified(city, now, expected):
    transport = RecordedOpenMeteo()
    assert source(transport).weather_at(Place(city, "RU"), now) is expected
    geocoding, forecast = transport.calls
    assert query(geocoding) == {"name": city, "count": "1", "format": "json", "countryCode": "RU"}
    assert query(forecast)["timezone"] == "auto"
    assert query(forecast)["forecast_days"] == "2"
    assert query(forecast)["daily"] == (
        "weather_code,apparent_temperature_max,temperature_2m_max,precipitation_sum,snowfall_sum,"
        "precipitation_probability_max"
    )


def test_weather_at_second_lookup_within_ttl_no_call():
    transport, ticks = RecordedOpenMeteo(), Ticks()
    weather = source(transport, ticks, ttl=3600)
    assert weather.weather_at(Place("Москва", "RU"), MOSCOW_JANUARY) is Weather.COLD
    ticks.now += 3599
    assert weather.weather_at(Place(" москва ", "ru"), MOSCOW_JANUARY) is Weather.COLD  # the same place
    assert len(transport.calls) == 2
    ticks.now += 1  # the forecast expired; the coordinates are kept for a month
    assert weather.weather_at(Place("Москва", "RU"), MOSCOW_JANUARY) is Weather.COLD
    assert [urlsplit(u).netloc for u in transport.calls] == [
        "geocoding-api.open-meteo.com",
        "api.open-meteo.com",
        "api.open-meteo.com",
    ]


def test_weather_at_cached_forecast_past_its_days_fetched_again():
    transport = RecordedOpenMeteo()
    weather = source(transport)
    assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is Weather.COLD
    # two days later (a local clock moved): the cached answer does not cover the day, nor the new one
    assert weather.weather_at(Place("Moscow", "RU"), datetime(2027, 1, 17, 9, 0, tzinfo=UTC)) is None
    assert len(transport.calls) == 3


def test_weather_at_unknown_city_none_and_remembered():
    transport = RecordedOpenMeteo()
    weather = source(transport)
    assert weather.weather_at(Place("Atlantis", "RU"), MOSCOW_JANUARY) is None
    assert weather.weather_at(Place("Atlantis", "RU"), MOSCOW_JANUARY) is None
    assert len(transport.calls) == 1  # geocoding only, once


def test_weather_at_slow_provider_none_at_the_timeout():
    transport, ticks = SlowTransport(seconds=5.0), Ticks()
    weather = OpenMeteo(transport, timeout=0.05, failure_ttl=300, monotonic=ticks)
    started = time.monotonic()
    try:
        assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None
        elapsed = time.monotonic() - started
        assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None  # remembered: no wait
    finally:
        transport.released.set()
    assert elapsed < 0.5
    assert transport.calls == 1


def test_weather_at_failure_forgotten_after_failure_ttl():
    transport, ticks = FailingTransport(urllib.error.URLError("no route to host")), Ticks()
    weather = source(transport, ticks, failure_ttl=300)
    assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None
    ticks.now += 299
    assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None
    assert transport.calls == 1
    ticks.now += 1
    assert weather.weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None
    assert transport.calls == 2


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.HTTPError("https://api.open-meteo.com", 429, "Too Many Requests", {}, None),  # type: ignore[arg-type]
        TimeoutError("timed out"),
        ConnectionResetError("reset"),
        ValueError("Expecting value: line 1 column 1 (char 0)"),  # not JSON
    ],
)
def test_weather_at_provider_error_none_never_raised(error):
    assert source(FailingTransport(error)).weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None


def test_weather_at_malformed_answer_none():
    def transport(url: str, timeout: float):
        if "geocoding" in url:
            return answer("geocoding_moscow")
        return {"utc_offset_seconds": 10800, "daily": {"weather_code": [3]}}  # no days

    assert source(transport).weather_at(Place("Moscow", "RU"), MOSCOW_JANUARY) is None


def test_weather_source_off_by_default_none():
    assert weather_source(Settings()) is None


def test_weather_source_open_meteo_uses_injected_transport():
    transport = RecordedOpenMeteo()
    use_transport(transport)
    try:
        weather = weather_source(Settings(weather="open-meteo"))
        assert weather is not None
        assert weather.weather_at(Place("Sochi", "RU"), SOCHI_JULY) is Weather.HEAT
    finally:
        use_transport(None)
    assert len(transport.calls) == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "geocoding: not a JSON object"),
        ({"results": "Moscow"}, "geocoding: results is not a list of places"),
        ({"results": [{"name": "Moscow", "latitude": 55.75}]}, "geocoding: a place without coordinates"),
        ({"results": [{"latitude": "55.75", "longitude": 37.6}]}, "latitude: '55.75' is not a number"),
    ],
)
def test_coordinates_of_malformed_answer_named(bad, message):
    with pytest.raises(ValueError, match=message):
        coordinates_of(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"daily": {"time": ["2027-01-15"]}}, "no daily values or no utc_offset_seconds"),
        ({"utc_offset_seconds": 0, "daily": {"time": "2027-01-15"}}, "daily.time is not a list of dates"),
        ({"utc_offset_seconds": 0, "daily": {"time": ["15.01.2027"]}}, "Invalid isoformat"),
        (
            {"utc_offset_seconds": 0, "daily": {"time": ["2027-01-15"], "weather_code": ["snow"]}},
            "daily.weather_code: 'snow' is not a number",
        ),
    ],
)
def test_forecast_of_malformed_answer_named(bad, message):
    with pytest.raises(ValueError, match=message):
        forecast_of(bad)


def test_forecast_of_missing_or_short_columns_unknown_values():
    forecast = forecast_of(
        {"utc_offset_seconds": 0, "daily": {"time": ["2027-01-15", "2027-01-16"], "weather_code": [61]}}
    )
    assert forecast.days == (
        DayWeather(day=date(2027, 1, 15), weather_code=61),
        DayWeather(day=date(2027, 1, 16)),
    )
