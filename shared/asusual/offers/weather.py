"""Where a customer is, for the weather (docs/weather.md): the city of their declared address,
in its country. One function, so another source of the city (an IP-derived one) can be pointed
at later without touching its callers."""

from __future__ import annotations

from datetime import datetime

from asusual.profiles.birthday import country_of
from asusual.profiles.state import ProfileState
from asusual.weather.rules import Place, Weather, WeatherSource, place_from


def customer_place(state: ProfileState, default_country: str | None) -> Place | None:
    """The customer's city (trait ``address.city``) and country; None when no city is known."""
    traits = {k: v.value for k, v in state.traits.items()}
    address = traits.get("address")
    city = address.get("city") if isinstance(address, dict) else None
    return place_from(city, country_of(traits, default_country))


def customer_weather(
    source: WeatherSource | None, state: ProfileState, default_country: str | None, now: datetime
) -> Weather | None:
    """The day's weather where the customer is; None when the feature is off, the city unknown,
    or the provider has no answer in time (then the season rule alone decides)."""
    if source is None:
        return None
    place = customer_place(state, default_country)
    return source.weather_at(place, now) if place is not None else None
