"""Where a customer is: country, city and the time zone of their IP address, each by the strength
of its evidence (pure).

What the customer declared wins over what a device reports, which wins over the IP address; the
IP address (``ProfileState.ip_location``, located by the intake: asusual.iplocation) is weak
evidence — a VPN, a roaming SIM or a mobile carrier's NAT (which places a whole country's
subscribers in its capital) put people hundreds of kilometres or several zones from where they are.
So it only fills a gap, and never decides when a message goes (``asusual.profiles.birthday.
plausible_zones``):

- country: the address's, else the phone number's region; the IP's only as what the profile shows
  (``ProfileView.country``), never the country holidays, segments and send times go by;
- city: the address's, else the IP's (a greeting may name it);
- time zone: the IP's only where neither the customer, their device, the store nor their phone
  tells one (``asusual.profiles.view.timezone_of``), and then only a zone of the declared country
  that keeps the UTC offset the device reported (one outside is a VPN's or a roaming SIM's).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.localtime import country_zones, zone, zones_at_offset
from asusual.profiles.state import ProfileState

MAX_CITY = 100  # a declared city longer than this is not a city's name


class PlaceEvidence(StrEnum):
    ADDRESS = "address"  # the customer's declared address (trait address)
    PHONE = "phone"  # the phone number's region
    IP = "ip"  # the visitor's IP address, in the retailer's City database


class Country(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="ISO 3166 alpha-2")
    evidence: PlaceEvidence


class City(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="as declared; from the IP: in the profile's language, else English")
    evidence: PlaceEvidence
    names: dict[str, str] = Field(
        default_factory=dict, description="from the IP: the name per language the database gave"
    )

    def name_in(self, locale: str) -> str | None:
        """The name to write in ``locale``: a declared city as the customer wrote it; the IP's city
        in that language only (a Russian greeting never names "Moscow"), None when it has none."""
        if self.evidence is not PlaceEvidence.IP:
            return self.name
        return self.names.get(locale)


def declared_country(traits: dict[str, Any]) -> Country | None:
    """The declared address's country (ISO code), else the phone number's region."""
    address = traits.get("address")
    if isinstance(address, dict):
        declared = address.get("country")
        if isinstance(declared, str) and country_zones(declared):
            return Country(code=declared.strip().upper(), evidence=PlaceEvidence.ADDRESS)
    phone = traits.get("phone")
    if isinstance(phone, str) and phone.startswith("+"):
        import phonenumbers  # here, not at import (cold start)

        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            region = None
        if region and country_zones(region):
            return Country(code=str(region), evidence=PlaceEvidence.PHONE)
    return None


def ip_place(state: ProfileState) -> dict[str, Any]:
    """The place the latest located event gave ({} when none)."""
    stamped = state.ip_location
    return stamped.value if stamped is not None and isinstance(stamped.value, dict) else {}


def country_seen(state: ProfileState, traits: dict[str, Any]) -> Country | None:
    """The declared country, else the IP's: what the profile shows."""
    declared = declared_country(traits)
    if declared is not None:
        return declared
    code = ip_place(state).get("country")
    return Country(code=code, evidence=PlaceEvidence.IP) if isinstance(code, str) and code else None


def city_of(state: ProfileState, traits: dict[str, Any], locale: str | None) -> City | None:
    """The declared address's city, else the IP's (named in ``locale``'s language, else English)."""
    address = traits.get("address")
    declared = address.get("city") if isinstance(address, dict) else None
    if isinstance(declared, str) and 0 < len(declared.strip()) <= MAX_CITY:
        return City(name=declared.strip(), evidence=PlaceEvidence.ADDRESS)
    names = ip_place(state).get("city")
    if not isinstance(names, dict) or not names:
        return None
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    name = names.get(language) or names.get("en") or next(iter(sorted(names.items())))[1]
    return City(name=name, evidence=PlaceEvidence.IP, names=dict(names))


def ip_zone(state: ProfileState, traits: dict[str, Any]) -> str | None:
    """The IP's zone when nothing contradicts it: one of the declared country's zones (if a country
    is declared) that had the UTC offset the device last reported (if it reported one)."""
    name = ip_place(state).get("time_zone")
    if not isinstance(name, str) or zone(name) is None:
        return None
    declared = declared_country(traits)
    if declared is not None and name not in country_zones(declared.code):
        return None
    observed = state.context_utc_offset
    off_offset = (
        observed is not None
        and isinstance(observed.value, int)
        and not zones_at_offset((name,), timedelta(minutes=observed.value), observed.at)
    )
    return None if off_offset else name
