"""The weather-aware day's offer: products made for the day's weather first among those in season;
without weather the choice is exactly the season rule's; the customer's place from their address."""

from datetime import UTC, date, datetime, timedelta

from asusual.catalog.models import CatalogProduct, Season
from asusual.offers.service import choose_offer, todays_offer
from asusual.offers.weather import customer_place, customer_weather
from asusual.profiles.state import OrderFact, ProductLine, ProfileState, Stamped
from asusual.weather.rules import Place, Weather
from tests.unit.delivery.fakes import FakeDecisions, SimClock
from tests.unit.offers.test_choose_offer import _product as product

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
DAYS = [date(2027, 1, 1) + timedelta(days=i) for i in range(60)]


def _product(product_id: str, **fields: object) -> CatalogProduct:
    return product(product_id, **{"category": "misc", **fields})


JACKET = _product("down_jacket", seasons=["winter"], weather=["cold"], category="outerwear")
UMBRELLA = _product("umbrella", weather=["rain"], category="accessories")
SUNSCREEN = _product("sunscreen", seasons=["summer"], weather=["heat"], category="care")
TEA = _product("tea", category="grocery")
COFFEE = _product("coffee", category="grocery")
POOL = [JACKET, UMBRELLA, SUNSCREEN, TEA, COFFEE]


def state_with(
    *, traits: dict[str, object] | None = None, bought_category: str | None = None
) -> ProfileState:
    at = NOW - timedelta(days=200)
    orders = (
        {
            "o1": OrderFact(
                order_id="o1",
                at=at,
                msg="m1",
                products=(ProductLine(product_id="old", category=bought_category),),
            )
        }
        if bought_category
        else {}
    )
    return ProfileState(
        traits={k: Stamped(value=v, at=at, msg=f"t_{k}") for k, v in (traits or {}).items()},
        orders=orders,
    )


def test_choose_offer_without_weather_exactly_the_season_rule():
    for day in DAYS:
        for season in (Season.WINTER, Season.SUMMER, None):
            assert choose_offer(POOL, ProfileState(), season, "p_1", day, None) == choose_offer(
                POOL, ProfileState(), season, "p_1", day
            )


def test_choose_offer_cold_winter_day_jacket_first_every_day():
    assert {choose_offer(POOL, ProfileState(), Season.WINTER, "p_1", d, Weather.COLD) for d in DAYS} == {
        JACKET
    }


def test_choose_offer_weather_ranks_before_bought_categories():
    state = state_with(bought_category="grocery")
    assert {choose_offer(POOL, state, Season.AUTUMN, "p_1", d) for d in DAYS} <= {TEA, COFFEE}
    assert {choose_offer(POOL, state, Season.AUTUMN, "p_1", d, Weather.RAIN) for d in DAYS} == {UMBRELLA}


def test_choose_offer_cold_summer_day_jacket_stays_out_of_season():
    for day in DAYS:
        chosen = choose_offer(POOL, ProfileState(), Season.SUMMER, "p_1", day, Weather.COLD)
        assert chosen != JACKET
        assert chosen == choose_offer(POOL, ProfileState(), Season.SUMMER, "p_1", day)


def test_choose_offer_weather_nothing_made_for_it_same_as_without():
    pool = [TEA, COFFEE, UMBRELLA]
    for day in DAYS:
        assert choose_offer(pool, ProfileState(), Season.WINTER, "p_1", day, Weather.HEAT) == choose_offer(
            pool, ProfileState(), Season.WINTER, "p_1", day
        )


def test_choose_offer_heat_unknown_season_sunscreen_never():
    # unknown season: all-year products only, whatever the weather
    assert {choose_offer(POOL, ProfileState(), None, "p_1", d, Weather.HEAT) for d in DAYS} <= {
        UMBRELLA,
        TEA,
        COFFEE,
    }


def test_catalog_product_weather_default_empty_serialized_in_order():
    assert TEA.weather == frozenset()
    assert _product("x", weather=["rain", "cold", "heat"]).model_dump(mode="json")["weather"] == [
        "cold",
        "rain",
        "heat",
    ]


def test_todays_offer_weather_kept_with_the_decision_and_holds_all_day():
    decisions = FakeDecisions(SimClock(NOW))
    day = date(2027, 1, 15)
    first = todays_offer(decisions, POOL, ProfileState(), Season.WINTER, "p_1", day, NOW, "web", Weather.COLD)
    assert first.offer == JACKET.priced()
    assert first.weather is Weather.COLD
    later = todays_offer(
        decisions, POOL, ProfileState(), Season.WINTER, "p_1", day, NOW + timedelta(hours=5), "email", None
    )
    assert later.offer == JACKET.priced()
    assert later.decided_on == "web"


def test_customer_place_address_city_and_country():
    state = state_with(traits={"address": {"city": " Сочи ", "country": "ru"}})
    assert customer_place(state, None) == Place("Сочи", "RU")


def test_customer_place_default_country_when_address_has_none():
    assert customer_place(state_with(traits={"address": {"city": "Moscow"}}), "RU") == Place("Moscow", "RU")


def test_customer_place_no_city_none():
    assert customer_place(state_with(traits={"address": {"country": "RU"}}), "RU") is None
    assert customer_place(state_with(traits={"address": "Moscow, Tverskaya 1"}), "RU") is None
    assert customer_place(ProfileState(), "RU") is None


class AskedFor:
    def __init__(self, weather: Weather | None) -> None:
        self.weather = weather
        self.asked: list[tuple[Place, datetime]] = []

    def weather_at(self, place: Place, now: datetime) -> Weather | None:
        self.asked.append((place, now))
        return self.weather


def test_customer_weather_asks_the_source_for_the_place():
    source = AskedFor(Weather.RAIN)
    state = state_with(traits={"address": {"city": "Санкт-Петербург", "country": "RU"}})
    assert customer_weather(source, state, None, NOW) is Weather.RAIN
    assert source.asked == [(Place("Санкт-Петербург", "RU"), NOW)]


def test_customer_weather_off_or_no_city_none_source_not_asked():
    source = AskedFor(Weather.RAIN)
    assert customer_weather(None, state_with(traits={"address": {"city": "Moscow"}}), "RU", NOW) is None
    assert customer_weather(source, ProfileState(), "RU", NOW) is None
    assert source.asked == []
