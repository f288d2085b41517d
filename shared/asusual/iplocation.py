"""Where a visitor is, from their IP address: which addresses are worth looking up, what of a
database record is kept, and the port the lookup sits behind (pure).

The lookup itself is an adapter (``asusual.store.geoip``: a MaxMind-format City database the
retailer supplies, GeoLite2 City or DB-IP City Lite). The intake looks the address up and puts the
place on the event instead of the address (``asusual.intake.service.located``): the IP itself goes
no further. What the place is then worth as evidence (never more than a declared zone or city) is
decided in ``asusual.profiles.location``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.localtime import country_zones, zone

MAX_ADDRESS = 45  # the longest text of an IPv6 address (IPv4-mapped, every group written out)
MAX_NAME = 100  # a city's name in one language; a longer one is not a name
MAX_LANGUAGE = 10  # "pt-BR", "zh-CN": the keys of a record's `names`
FALLBACK_LANGUAGE = "en"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")


class IpLocation(BaseModel):
    """A place a database gives for an address: country, city (its name per language) and time
    zone, each None or empty when the database does not say; the city's coordinates too (the
    lookup's answer only: a profile keeps none of them, see :meth:`kept`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str | None = Field(default=None, description="ISO 3166 alpha-2")
    city: dict[str, str] = Field(default_factory=dict, description="language → the city's name")
    time_zone: str | None = Field(default=None, description="IANA zone")
    latitude: float | None = Field(default=None, exclude_if=lambda v: v is None)
    longitude: float | None = Field(default=None, exclude_if=lambda v: v is None)

    def in_languages(self, languages: Iterable[str]) -> IpLocation:
        """The place with the city's name in ``languages`` only (those the database has)."""
        wanted = set(languages)
        return self.model_copy(update={"city": {k: v for k, v in self.city.items() if k in wanted}})

    def kept(self) -> dict[str, Any]:
        """What a profile keeps of it: country, city names and zone; no coordinates, no address."""
        out: dict[str, Any] = {}
        if self.country:
            out["country"] = self.country
        if self.city:
            out["city"] = dict(sorted(self.city.items()))
        if self.time_zone:
            out["time_zone"] = self.time_zone
        return out


class Locator(Protocol):
    def locate(self, address: str) -> IpLocation | None:
        """The place of a public address (:func:`lookup_address`), or None when the database has
        none (or cannot be read); never raises for an address."""
        ...


def lookup_address(value: object) -> str | None:
    """The address to look up, in its normal form: a public (globally routed, unicast) IPv4 or IPv6
    address; an IPv4-mapped IPv6 address as its IPv4. None for anything else: private, loopback,
    link-local, reserved, shared (CGNAT) and multicast addresses, scoped IPv6 ("fe80::1%eth0"), text
    that is no address, oversized text, lone surrogates, non-strings."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ADDRESS or not value.isascii():
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return None
    return str(address)


def languages_for(locale: object) -> tuple[str, ...]:
    """The languages a city's name is kept in for a visitor of ``locale`` ("ru-RU"): the locale as
    the databases spell their languages ("pt-BR"), its language ("ru"), and English, the one every
    City database has."""
    out: list[str] = []
    if isinstance(locale, str) and 0 < len(locale) <= MAX_LANGUAGE:
        parts = locale.strip().replace("_", "-").split("-")
        language = parts[0].lower()
        if len(parts) > 1 and parts[1]:
            out.append(f"{language}-{parts[1].upper()}")
        out.append(language)
    out.append(FALLBACK_LANGUAGE)
    return tuple(dict.fromkeys(o for o in out if _LANGUAGE.match(o)))


def _section(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = record.get(name)
    return value if isinstance(value, Mapping) else {}


def _names(names: object) -> dict[str, str]:
    if not isinstance(names, Mapping):
        return {}
    out = {}
    for language, name in names.items():
        if (
            isinstance(language, str)
            and _LANGUAGE.match(language)
            and isinstance(name, str)
            and 0 < len(name.strip()) <= MAX_NAME
        ):
            out[language] = name.strip()
    return out


def _coordinate(value: object, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -limit <= number <= limit else None


def from_record(record: object) -> IpLocation | None:
    """The place a City database's record gives (GeoIP2/GeoLite2 City and DB-IP City Lite share the
    layout: ``country.iso_code``, ``city.names``, ``location.time_zone``, ``location.latitude`` and
    ``longitude``); None when it gives no country, city or zone. A zone tzdata does not know is no
    zone; without one (DB-IP Lite has none) a country that has a single zone gives it."""
    if not isinstance(record, Mapping):
        return None
    country = _section(record, "country").get("iso_code")
    country = country.upper() if isinstance(country, str) and _COUNTRY.match(country.upper()) else None
    if country is not None and not country_zones(country):
        country = None  # not a country tzdata's zone.tab knows (EU, AP: regions, not countries)
    location = _section(record, "location")
    time_zone = location.get("time_zone")
    time_zone = time_zone if isinstance(time_zone, str) and zone(time_zone) is not None else None
    if time_zone is None and len(only := country_zones(country)) == 1:
        time_zone = only[0]
    city = _names(_section(record, "city").get("names"))
    if not (country or city or time_zone):
        return None
    return IpLocation(
        country=country,
        city=city,
        time_zone=time_zone,
        latitude=_coordinate(location.get("latitude"), 90),
        longitude=_coordinate(location.get("longitude"), 180),
    )
