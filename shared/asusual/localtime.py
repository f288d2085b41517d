"""Local time for a customer: the zones plausible for them, and "is it this local moment in
every one of them". When the zone is unknown we never guess: a local rule must hold in every
zone the customer may be in (their country's zones, from tzdata's zone.tab)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO 3166 alpha-2 → IANA zones, from tzdata's zone.tab (one zone per line, by country)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            zones[fields[0].upper()].append(fields[2])
    return {country: tuple(sorted(z)) for country, z in zones.items()}


def country_zones(country: str | None) -> tuple[str, ...]:
    """Every zone of a country (RU → 21 zones), or () when unknown."""
    if not country:
        return ()
    return _country_zones().get(country.strip().upper(), ())


@cache
def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_moments(now: datetime, zones: Iterable[str]) -> list[datetime]:
    """``now`` as a wall-clock time in each zone (unknown zone names are skipped)."""
    return [now.astimezone(z) for name in zones if (z := zone(name)) is not None]


def within(moment: datetime, start: time, end: time) -> bool:
    """Wall-clock time in [start, end); a window that wraps midnight (22:00-06:00) works too."""
    local = moment.time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def local_dates(now: datetime) -> list[date]:
    """Every calendar date it is somewhere on Earth at ``now`` (UTC-12 … UTC+14)."""
    return sorted({(now + timedelta(hours=h)).date() for h in (-12, 0, 14)})
