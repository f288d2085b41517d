"""The day's weather at a place, classified as ``cold``, ``rain`` or ``heat`` (or nothing worth
saying), from a daily forecast in WMO terms (the codes Open-Meteo and most weather services use).

Thresholds (docs/weather.md):

- cold: the warmest it *feels* all day (apparent maximum) is at most 0 °C, or it snows (WMO
  snow codes 71-77, 85-86) at least 1 cm;
- rain: a rain code (drizzle 51-57, rain 61-67, showers 80-82, thunderstorm 95-99) with at least
  1 mm of precipitation over the day, and a precipitation probability of at least 50 % when the
  forecast gives one;
- heat: the apparent maximum is at least 28 °C.

The first that holds wins, in that order: a freezing day with sleet is cold, a hot day with a
thunderstorm is rain. The air temperature stands in when the forecast has no apparent one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Weather(StrEnum):
    COLD = "cold"
    RAIN = "rain"
    HEAT = "heat"


COLD_APPARENT_MAX_C = 0.0
HEAT_APPARENT_MAX_C = 28.0
RAIN_MIN_MM = 1.0
RAIN_MIN_PROBABILITY = 50
SNOW_MIN_CM = 1.0

# WMO 4677 present-weather codes as Open-Meteo reports them (its daily code is the day's worst)
DRIZZLE = frozenset({51, 53, 55, 56, 57})
RAIN = frozenset({61, 63, 65, 66, 67})
SHOWERS = frozenset({80, 81, 82})
THUNDERSTORM = frozenset({95, 96, 99})
RAIN_CODES = DRIZZLE | RAIN | SHOWERS | THUNDERSTORM
SNOW_CODES = frozenset({71, 73, 75, 77, 85, 86})


@dataclass(frozen=True)
class DayWeather:
    """One local day of a forecast (None: the forecast did not say)."""

    day: date
    weather_code: int | None = None
    apparent_max_c: float | None = None
    temperature_max_c: float | None = None
    precipitation_mm: float | None = None
    snowfall_cm: float | None = None
    precipitation_probability: float | None = None  # percent, the day's maximum


def classify(day: DayWeather) -> Weather | None:
    """cold, rain or heat by the thresholds above; None on a mild or unremarkable day."""
    feels = day.apparent_max_c if day.apparent_max_c is not None else day.temperature_max_c
    code = day.weather_code
    if feels is not None and feels <= COLD_APPARENT_MAX_C:
        return Weather.COLD
    if code in SNOW_CODES and (day.snowfall_cm or 0.0) >= SNOW_MIN_CM:
        return Weather.COLD
    if (
        code in RAIN_CODES
        and (day.precipitation_mm or 0.0) >= RAIN_MIN_MM
        and (day.precipitation_probability is None or day.precipitation_probability >= RAIN_MIN_PROBABILITY)
    ):
        return Weather.RAIN
    if feels is not None and feels >= HEAT_APPARENT_MAX_C:
        return Weather.HEAT
    return None


@dataclass(frozen=True)
class Forecast:
    """Daily forecasts of one place, in its own local days (``utc_offset_seconds`` of the place)."""

    utc_offset_seconds: int
    days: Sequence[DayWeather]

    def local_date(self, now: datetime) -> date:
        instant = now if now.utcoffset() is not None else now.replace(tzinfo=UTC)  # naive: UTC
        return (instant.astimezone(UTC) + timedelta(seconds=self.utc_offset_seconds)).date()

    def on(self, now: datetime) -> DayWeather | None:
        """The forecast of the place's local day at ``now``; None when it does not cover that day."""
        today = self.local_date(now)
        return next((d for d in self.days if d.day == today), None)


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Place:
    """A city as the customer gave it, and the country it is in (ISO 3166 alpha-2) when known."""

    city: str
    country: str | None = None

    @property
    def key(self) -> str:
        """One spelling per place for caches: "  Нижний  Новгород", "нижний новгород" alike."""
        city = _SPACES.sub(" ", self.city).strip().casefold().replace("\u0451", "\u0435")  # yo → ye
        return f"{city}|{(self.country or '').strip().upper()}"


MAX_CITY_LENGTH = 100


def place_from(city: object, country: str | None) -> Place | None:
    """A place to ask the weather of, from what a profile says: None without a usable city name."""
    if not isinstance(city, str):
        return None
    text = _SPACES.sub(" ", city).strip()
    if len(text) < 2 or len(text) > MAX_CITY_LENGTH or not any(c.isalpha() for c in text):
        return None
    return Place(city=text, country=country.strip().upper() if country and country.strip() else None)


class WeatherSource(Protocol):
    """Where the day's weather comes from (asusual.store.weather): never raises, None when the
    weather is unknown (the feature is off, the city is unknown, the provider is slow or down)."""

    def weather_at(self, place: Place, now: datetime) -> Weather | None: ...
