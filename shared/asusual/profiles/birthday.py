"""The birthday index entry a profile implies: kept in the same transaction as the profile, so
the hourly sweep reads only the birthdays of the day (docs/data-model.md, gsi1 `BIRTHDAY#MM-DD`).

A profile has an entry only when it can be congratulated: a declared birthday, marketing consent
on at least one channel, and at least one plausible timezone (its own, else its country's zones).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from asusual.localtime import country_zones, zones_at_offset
from asusual.profiles.location import declared_country
from asusual.profiles.state import ProfileState
from asusual.profiles.view import TimezoneEvidence, timezone_of

# zones that say where a customer may be, not where they are: never the one zone messages go by
GUESSES = frozenset({TimezoneEvidence.PHONE, TimezoneEvidence.IP})


class BirthdayEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    birthday: date
    zones: tuple[str, ...]

    @property
    def month_day(self) -> str:
        return f"{self.birthday:%m-%d}"


def has_marketing_consent(state: ProfileState) -> bool:
    return any(
        key.endswith(".marketing") and bool(stamped.value.get("subscribed"))
        for key, stamped in state.subscriptions.items()
    )


def country_of(traits: dict[str, Any], default_country: str | None) -> str | None:
    """Declared address country (ISO code), else the phone number's region, else the default. Never
    the IP's (asusual.profiles.location): a VPN or a roaming SIM is no country to keep hours by."""
    declared = declared_country(traits)
    return declared.code if declared is not None else default_country


def plausible_zones(state: ProfileState, default_country: str | None) -> tuple[str, ...]:
    """The customer's zone when known; else every zone of their country; else ()."""
    traits = {k: v.value for k, v in state.traits.items()}
    known = timezone_of(state, traits)
    if known is not None and known.evidence not in GUESSES:
        return (known.zone,)
    # a phone number's single zone is a guess (+7 4012 Kaliningrad gives Europe/Bucharest), and so
    # is an IP address's (a VPN, a roaming SIM, a carrier's NAT in the capital): the local rules then
    # hold in every zone of the country instead, and the IP never narrows them — a message timed by
    # a wrong zone would reach someone at night (docs/privacy.md, "Where the visitor is")
    zones = country_zones(country_of(traits, default_country))
    observed = state.context_utc_offset
    if observed is not None and isinstance(observed.value, int):
        # a device's offset narrows the country's zones to those on that offset then; it is never a
        # zone itself, and an offset none of them had (a travelling phone, a wrong clock) narrows nothing
        return zones_at_offset(zones, timedelta(minutes=observed.value), observed.at) or zones
    return zones


def birthday_entry(state: ProfileState, default_country: str | None) -> BirthdayEntry | None:
    raw = state.traits.get("birthday")
    if raw is None or not isinstance(raw.value, str):
        return None
    try:
        birthday = date.fromisoformat(raw.value)
    except ValueError:
        return None
    if not has_marketing_consent(state):
        return None
    zones = plausible_zones(state, default_country)
    if not zones:
        return None
    return BirthdayEntry(birthday=birthday, zones=zones)
