"""Local time for a customer: the zones plausible for them, and "is it this local moment in
every one of them". When the zone is unknown we never guess: a local rule must hold in every
zone the customer may be in (their country's zones, from tzdata's zone.tab); a zone name tzdata
does not know is a zone we cannot read the time of, so no local rule holds there.

Only what needs one answer — the day an offer is kept for, the local time a message was sent —
takes the first plausible zone (``local_now``)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
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
    """``now`` as a wall-clock time in each zone; empty when there is no zone or one of them is not
    a zone tzdata knows (a rule checked in the other zones only would be a guess)."""
    moments = []
    for name in zones:
        tz = zone(name)
        if tz is None:
            return []
        moments.append(now.astimezone(tz))
    return moments


def first_zone(zones: Iterable[str]) -> ZoneInfo | None:
    """The customer's first plausible zone that tzdata knows; None when there is none."""
    return next((tz for name in zones if (tz := zone(name)) is not None), None)


def own_zone(zones: Sequence[str]) -> ZoneInfo | None:
    """The customer's zone when exactly one is plausible; None when it is unknown or one of many."""
    return first_zone(zones) if len(zones) == 1 else None


def local_now(now: datetime, zones: Iterable[str]) -> datetime:
    """``now`` in the customer's first plausible zone (as it is when no zone is known): the one
    local time a message is stamped with and the local day its offer and prices are kept for."""
    tz = first_zone(zones)
    return now.astimezone(tz) if tz is not None else now


def within(moment: datetime, start: time, end: time) -> bool:
    """Wall-clock time in [start, end); a window that wraps midnight (22:00-06:00) works too."""
    local = moment.time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


# at any instant the local date is one of these somewhere on Earth (UTC-12 to UTC+14)
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)


def local_dates(now: datetime) -> tuple[date, ...]:
    """Every local calendar date that exists somewhere at ``now`` (two, or three for two hours),
    whatever zone ``now`` itself is given in."""
    utc = now.astimezone(UTC)
    return tuple(sorted({(utc + EARLIEST_OFFSET).date(), utc.date(), (utc + LATEST_OFFSET).date()}))


# a browser's offset as SDKs send it in context.timezone: RudderStack "GMT+0300", "UTC-05:30", "+03:00"
_OFFSET = re.compile(r"^(?:GMT|UTC)?\s*([+-])(\d{1,2}):?(\d{2})?$|^(?:GMT|UTC)$", re.IGNORECASE)


def utc_offset(value: object) -> timedelta | None:
    """A UTC offset written as browsers' SDKs write it (``GMT+0300``, ``UTC-05:30``, ``+03``,
    ``GMT``), within UTC-12…UTC+14 in whole quarter hours; None for anything else (a zone name
    too: that is not an offset)."""
    if not isinstance(value, str) or len(value) > 16:
        return None
    match = _OFFSET.match(value.strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if sign is None:
        return timedelta(0)
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0)) * (-1 if sign == "-" else 1)
    if not EARLIEST_OFFSET <= offset <= LATEST_OFFSET or offset % timedelta(minutes=15):
        return None
    return offset


def zones_at_offset(zones: Iterable[str], offset: timedelta, at: datetime) -> tuple[str, ...]:
    """The zones whose clocks were ``offset`` from UTC at ``at`` (DST included): what an observed
    offset leaves of a customer's plausible zones."""
    return tuple(
        name for name in zones if (tz := zone(name)) is not None and at.astimezone(tz).utcoffset() == offset
    )
