"""Weather-aware offers over local mode (docs/weather.md): ASUSUAL_WEATHER=open-meteo with Open-Meteo's
recorded answers injected through the local runtime. The decide API and the dispatcher rank the
products made for the day's weather first, in season only; off, slow or failing, nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from asusual.catalog.models import CatalogProduct, Season
from asusual.local.runtime import LocalRuntime
from asusual.offers.service import choose_offer
from asusual.profiles.state import ProfileState
from tests.weather_answers import FailingTransport, RecordedOpenMeteo

MOSCOW = "Europe/Moscow"
COLD_MOSCOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # noon in Moscow, -14 °C felt, snowing
RAINY_PETERSBURG = datetime(2027, 9, 14, 9, 0, tzinfo=UTC)
CATALOG = [
    {"product_id": "jacket-1", "name": "Пуховик", "price": "12990.00", "currency": "RUB",
     "category": "Outerwear", "seasons": ["winter"], "weather": ["cold"], "promoted": True},
    {"product_id": "umbrella-1", "name": "Зонт", "price": "1490.00", "currency": "RUB",
     "category": "Accessories", "weather": ["rain"], "promoted": True},
    {"product_id": "tea-1", "name": "Чай", "price": "349.00", "currency": "RUB",
     "category": "Grocery", "promoted": True},
    {"product_id": "coffee-1", "name": "Кофе", "price": "599.00", "currency": "RUB",
     "category": "Grocery", "promoted": True},
]  # fmt: skip
POOL = [CatalogProduct.model_validate(p) for p in CATALOG]


@pytest.fixture
def transport():
    return RecordedOpenMeteo()


@pytest.fixture
def weather_setting():
    return "open-meteo"


@pytest.fixture
def runtime(clock, transport, weather_setting, monkeypatch):
    monkeypatch.setenv("ASUSUAL_WEATHER", weather_setting)
    with LocalRuntime(clock=clock, weather_transport=transport) as rt:
        yield rt


@pytest.fixture
def catalog(admin_api):
    answer = admin_api("POST", "/v1/catalog/products", {"products": CATALOG})
    assert answer.status == 200 and not answer.json()["rejected"], answer.body


def customer(send, profile, runtime, user: str, city: str, now: datetime, **traits) -> str:
    runtime.clock.set(now)
    send("store_local_key", {"type": "identify", "userId": user, "timestamp": now.isoformat(),
                             "traits": {"timezone": MOSCOW, "address": {"city": city, "country": "RU"},
                                        **traits}})  # fmt: skip
    return profile("user_id", user)["profile_id"]


def banner(decide_api, user: str):
    answer = decide_api("POST", "/v1/decide", {"identifier": {"type": "user_id", "value": user},
                                               "placement": "site_banner", "channel": "web"})  # fmt: skip
    assert answer.status == 200, answer.body
    return answer.json()


def test_decide_cold_day_in_moscow_offers_the_jacket_and_asks_once(
    send, profile, runtime, decide_api, catalog, transport
):
    customer(send, profile, runtime, "u-ivan", "Москва", COLD_MOSCOW)
    first = banner(decide_api, "u-ivan")
    assert first["offer"]["product_id"] == "jacket-1"
    assert first["context"]["weather"] == "cold"
    assert len(transport.calls) == 2  # geocoding, forecast
    again = banner(decide_api, "u-ivan")
    assert again["offer"] == first["offer"]
    assert len(transport.calls) == 2  # the city's forecast is cached


def test_decide_rainy_day_umbrella_first_never_the_jacket_out_of_season(
    send, profile, runtime, decide_api, catalog
):
    for n in range(6):
        customer(send, profile, runtime, f"u-spb-{n}", "Санкт-Петербург", RAINY_PETERSBURG)
        answer = banner(decide_api, f"u-spb-{n}")
        assert answer["offer"]["product_id"] == "umbrella-1"
        assert answer["context"]["weather"] == "rain"


def test_welcome_email_on_a_cold_day_shows_the_jacket(send, profile, runtime, messages_api, outbox, catalog):
    anna = customer(send, profile, runtime, "u-anna", "Moscow", COLD_MOSCOW, email="anna@example.com",
                    firstName="Анна", subscriptions={"email": {"marketing": True}})  # fmt: skip
    [welcome] = [m for m in outbox() if m["profile_id"] == anna]
    why = messages_api("GET", f"/v1/messages/{welcome['id']}/why").json()["explanation"]
    assert why["offer"]["product_id"] == "jacket-1"
    assert why["context"]["weather"] == "cold"


def expected_without_weather(profile_id: str, season: Season) -> str:
    chosen = choose_offer(POOL, ProfileState(), season, profile_id, RAINY_PETERSBURG.date())
    assert chosen is not None
    return chosen.product_id


@pytest.mark.parametrize(
    ("weather_setting", "transport"),
    [
        ("off", RecordedOpenMeteo()),
        ("open-meteo", FailingTransport(TimeoutError("timed out"))),
        ("open-meteo", FailingTransport(OSError("Network is unreachable"))),
    ],
    ids=["off", "timeout", "unreachable"],
)
def test_decide_weather_off_or_unavailable_exactly_the_season_rule(
    send, profile, runtime, decide_api, catalog, weather_setting, transport
):
    for n in range(6):
        profile_id = customer(send, profile, runtime, f"u-{n}", "Санкт-Петербург", RAINY_PETERSBURG)
        answer = banner(decide_api, f"u-{n}")
        assert answer["offer"]["product_id"] == expected_without_weather(profile_id, Season.AUTUMN)
        assert "weather" not in answer["context"]
    asked = transport.calls if isinstance(transport.calls, int) else len(transport.calls)
    assert asked == (0 if weather_setting == "off" else 1)  # a failure is remembered for minutes


def test_catalog_unknown_weather_word_rejected_naming_the_field(admin_api):
    answer = admin_api(
        "POST", "/v1/catalog/products", {"products": [{**CATALOG[0], "weather": ["snowstorm"]}]}
    )
    assert answer.status == 200, answer.body
    assert answer.json()["rejected"] == [
        {
            "index": 0,
            "product_id": "jacket-1",
            "reason": "weather.0: Input should be 'cold', 'rain' or 'heat'",
        }
    ]
