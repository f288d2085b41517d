"""Open-Meteo's answers, recorded in the shape its documentation gives (tests/fixtures/open_meteo),
served by a fake transport that counts its calls: the weather tests never touch the network."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ANSWERS = Path(__file__).parent / "fixtures" / "open_meteo"

CITIES = {
    "moscow": "moscow",
    "москва": "moscow",
    "sochi": "sochi",
    "сочи": "sochi",
    "saint petersburg": "saint_petersburg",
    "санкт-петербург": "saint_petersburg",
}
FORECASTS = {  # the geocoded latitude, as the adapter sends it → the forecast recorded there
    "55.7522": "forecast_moscow_january",
    "43.5992": "forecast_sochi_july",
    "59.9386": "forecast_saint_petersburg_rain",
}


def answer(name: str) -> Any:
    return json.loads((ANSWERS / f"{name}.json").read_text(encoding="utf-8"))


class RecordedOpenMeteo:
    """A transport answering geocoding and forecast calls from the recorded answers."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, timeout: float) -> Any:
        with self._lock:
            self.calls.append(url)
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.netloc == "geocoding-api.open-meteo.com":
            city = CITIES.get(query["name"].casefold())
            return answer(f"geocoding_{city}" if city else "geocoding_not_found")
        assert parts.netloc == "api.open-meteo.com", url
        return answer(FORECASTS[query["latitude"]])


class SlowTransport:
    """A provider that does not answer until released (or ``seconds`` pass): the adapter must give
    up at its own timeout, whatever the transport does."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.calls = 0
        self.seconds = seconds
        self.released = threading.Event()

    def __call__(self, url: str, timeout: float) -> Any:
        self.calls += 1
        self.released.wait(self.seconds)
        raise TimeoutError("timed out")


class FailingTransport:
    """A provider that fails at once with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.calls = 0
        self.error = error

    def __call__(self, url: str, timeout: float) -> Any:
        self.calls += 1
        raise self.error
