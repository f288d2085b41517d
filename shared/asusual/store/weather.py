"""Open-Meteo (no key): the city's coordinates from its geocoding API, the day's forecast from its
forecast API, each answer kept in this process (docs/weather.md).

Never raises and never waits longer than the timeout for one lookup (geocoding and forecast
share it; a call still running then is abandoned to its thread): a slow, failing or unreachable
provider, or a city it does not know, means no weather, and the offer and the words fall back to
the season rule. A failure is remembered for a few minutes, so a provider that is down costs one
timeout per city and container, not one per request.

Caches, keyed by the normalized city and country: the coordinates for a month (cities do not
move; an unknown city is remembered as unknown as long), the forecast for
``ASUSUAL_WEATHER_CACHE_SECONDS`` (an hour). A cached forecast that does not cover the place's
local day any more is fetched again.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar

from asusual.observability import logger
from asusual.settings import Settings
from asusual.weather.rules import DayWeather, Forecast, Place, Weather, classify

GEOCODING_URL: str = Settings.model_fields["weather_geocoding_url"].default
FORECAST_URL: str = Settings.model_fields["weather_forecast_url"].default
DAILY = (
    "weather_code",
    "apparent_temperature_max",
    "temperature_2m_max",
    "precipitation_sum",
    "snowfall_sum",
    "precipitation_probability_max",
)
FORECAST_DAYS = 2  # today and tomorrow where the place is: an hour's cache spans its midnight
COORDINATES_SECONDS = 30 * 86_400
FAILURE_SECONDS = 300
MAX_PLACES = 4_096  # per cache; the least recently stored goes first
MAX_ANSWER_BYTES = 256 * 1024


class Transport(Protocol):
    """GET ``url`` and return its JSON, within ``timeout`` seconds (OSError or ValueError else)."""

    def __call__(self, url: str, timeout: float) -> Any: ...


def urllib_transport(url: str, timeout: float) -> Any:
    """The standard library's HTTP client: HTTPS only, a bounded answer."""
    if not url.startswith("https://"):
        raise ValueError("the weather provider is called over HTTPS only")
    import urllib.request  # here, not at import: the cold start of a function that may never ask

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "asusual"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (https only, above)
        return json.loads(answer.read(MAX_ANSWER_BYTES))


# --- Open-Meteo's answers ---------------------------------------------------------------------


def _number(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: {value!r} is not a number")
    return float(value)


def coordinates_of(answer: Any) -> tuple[float, float] | None:
    """The best match of a geocoding answer; None when it found nothing (ValueError: not one)."""
    if not isinstance(answer, dict):
        raise ValueError("geocoding: not a JSON object")
    found = answer.get("results")  # absent when nothing matches
    if not found:
        return None
    if not isinstance(found, list) or not isinstance(found[0], dict):
        raise ValueError("geocoding: results is not a list of places")
    best = found[0]
    latitude, longitude = (
        _number(best.get("latitude"), "latitude"),
        _number(best.get("longitude"), "longitude"),
    )
    if latitude is None or longitude is None:
        raise ValueError("geocoding: a place without coordinates")
    return latitude, longitude


def forecast_of(answer: Any) -> Forecast:
    """A forecast answer as local days (ValueError: not one). Hand-read, not a pydantic model:
    model classes would add their build time to every cold start of decide_api and the dispatcher."""
    daily = answer.get("daily") if isinstance(answer, dict) else None
    offset = answer.get("utc_offset_seconds") if isinstance(answer, dict) else None
    if not isinstance(daily, dict) or isinstance(offset, bool) or not isinstance(offset, int):
        raise ValueError("forecast: no daily values or no utc_offset_seconds")
    times = daily.get("time")
    if not isinstance(times, list) or not all(isinstance(t, str) for t in times):
        raise ValueError("forecast: daily.time is not a list of dates")
    days = [date.fromisoformat(t) for t in times]

    def column(name: str) -> list[float | None]:
        values = daily.get(name)
        if values is None:
            return [None] * len(days)
        if not isinstance(values, list):
            raise ValueError(f"forecast: daily.{name} is not a list")
        return [_number(v, f"daily.{name}") for v in values] + [None] * (len(days) - len(values))

    code, apparent, air, rain, snow, chance = (column(name) for name in DAILY)
    return Forecast(
        utc_offset_seconds=offset,
        days=tuple(
            DayWeather(
                day=day,
                weather_code=None if (wmo := code[i]) is None else int(wmo),
                apparent_max_c=apparent[i],
                temperature_max_c=air[i],
                precipitation_mm=rain[i],
                snowfall_cm=snow[i],
                precipitation_probability=chance[i],
            )
            for i, day in enumerate(days)
        ),
    )


# --- the adapter ------------------------------------------------------------------------------

V = TypeVar("V")


@dataclass(frozen=True)
class _Kept(Generic[V]):
    value: V
    until: float  # monotonic seconds


class _Cache(Generic[V]):
    """A bounded in-process map whose entries expire (thread-safe: the local server has threads)."""

    def __init__(self, size: int = MAX_PLACES) -> None:
        self._items: OrderedDict[str, _Kept[V]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> _Kept[V] | None:
        with self._lock:
            kept = self._items.get(key)
            return kept if kept is not None and kept.until > now else None

    def put(self, key: str, value: V, until: float) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = _Kept(value, until)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class WeatherUnavailable(TimeoutError):
    """The lookup's time ran out before the next call."""


class OpenMeteo:
    """asusual.weather.rules.WeatherSource over Open-Meteo."""

    def __init__(
        self,
        transport: Transport = urllib_transport,
        *,
        timeout: float = 0.8,
        ttl: float = 3_600,
        failure_ttl: float = FAILURE_SECONDS,
        coordinates_ttl: float = COORDINATES_SECONDS,
        geocoding_url: str = GEOCODING_URL,
        forecast_url: str = FORECAST_URL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._coordinates_ttl = coordinates_ttl
        self._geocoding_url = geocoding_url
        self._forecast_url = forecast_url
        self._monotonic = monotonic
        self._coordinates: _Cache[tuple[float, float] | None] = _Cache()
        self._forecasts: _Cache[Forecast | None] = _Cache()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def weather_at(self, place: Place, now: datetime) -> Weather | None:
        forecast = self.forecast(place, now)
        day = forecast.on(now) if forecast is not None else None
        return classify(day) if day is not None else None

    def forecast(self, place: Place, now: datetime) -> Forecast | None:
        """The place's forecast covering its local day at ``now``: cached, else fetched within the
        timeout; None when unknown (and then remembered as unknown for a few minutes)."""
        started = self._monotonic()
        kept = self._forecasts.get(place.key, started)
        if kept is not None and (kept.value is None or kept.value.on(now) is not None):
            return kept.value
        deadline = started + self._timeout
        try:
            point = self._point(place, deadline)
            forecast = self._fetch_forecast(point, deadline) if point is not None else None
        except (OSError, ValueError) as exc:  # timeouts, HTTP and network errors, bad answers
            logger.warning("weather unavailable", reason=type(exc).__name__)  # never the city
            self._forecasts.put(place.key, None, self._monotonic() + self._failure_ttl)
            return None
        if forecast is not None and forecast.on(now) is None:
            forecast = None  # an answer about other days: as good as none
        ttl = self._ttl if forecast is not None else self._failure_ttl
        self._forecasts.put(place.key, forecast, self._monotonic() + ttl)
        return forecast

    def _point(self, place: Place, deadline: float) -> tuple[float, float] | None:
        kept = self._coordinates.get(place.key, self._monotonic())
        if kept is not None:
            return kept.value
        query = {"name": place.city, "count": "1", "format": "json"}
        if place.country:
            query["countryCode"] = place.country
        point = coordinates_of(self._get(f"{self._geocoding_url}?{urllib.parse.urlencode(query)}", deadline))
        self._coordinates.put(place.key, point, self._monotonic() + self._coordinates_ttl)
        return point

    def _fetch_forecast(self, point: tuple[float, float], deadline: float) -> Forecast:
        query = {
            "latitude": f"{point[0]:.4f}",
            "longitude": f"{point[1]:.4f}",
            "daily": ",".join(DAILY),
            "timezone": "auto",
            "forecast_days": str(FORECAST_DAYS),
        }
        return forecast_of(self._get(f"{self._forecast_url}?{urllib.parse.urlencode(query)}", deadline))

    def _get(self, url: str, deadline: float) -> Any:
        """The transport's answer, given up on at the deadline (whatever the transport does)."""
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            raise WeatherUnavailable("the weather lookup ran out of time")
        future = self._workers().submit(self._transport, url, remaining)
        return future.result(timeout=remaining)  # TimeoutError: the call is left to its thread

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="weather")
            return self._pool


# --- wiring -----------------------------------------------------------------------------------

_TRANSPORT: list[Transport] = []  # local mode and tests: answers without the network


def use_transport(transport: Transport | None) -> None:
    """Local mode and tests: every weather source made from now on calls ``transport`` (recorded
    answers) instead of the network; None: the network again."""
    _TRANSPORT.clear()
    if transport is not None:
        _TRANSPORT.append(transport)


def weather_source(settings: Settings) -> OpenMeteo | None:
    """The configured source (``ASUSUAL_WEATHER``); None when the feature is off (the default)."""
    if settings.weather == "off":
        return None
    return OpenMeteo(
        _TRANSPORT[0] if _TRANSPORT else urllib_transport,
        timeout=settings.weather_timeout_ms / 1000,
        ttl=settings.weather_cache_seconds,
        geocoding_url=settings.weather_geocoding_url,
        forecast_url=settings.weather_forecast_url,
    )
