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
from asusual.profiles.state import ProfileState
from asusual.profiles.view import TimezoneEvidence, timezone_of


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
    """Declared address country (ISO code), else the phone number's region, else the default."""
    address = traits.get("address")
    if isinstance(address, dict):
        declared = address.get("country")
        if isinstance(declared, str) and country_zones(declared):
            return declared.strip().upper()
    phone = traits.get("phone")
    if isinstance(phone, str) and phone.startswith("+"):
        import phonenumbers  # here, not at import (cold start)

        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            region = None
        if region and country_zones(region):
            return str(region)
    return default_country


def plausible_zones(state: ProfileState, default_country: str | None) -> tuple[str, ...]:
    """The customer's zone when known; else every zone of their country; else ()."""
    traits = {k: v.value for k, v in state.traits.items()}
    known = timezone_of(state, traits)
    if known is not None and known.evidence is not TimezoneEvidence.PHONE:
        return (known.zone,)
    # a phone number's single zone is a guess (+7 4012 Kaliningrad gives Europe/Bucharest): the
    # local rules then hold in every zone of the number's country instead
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
