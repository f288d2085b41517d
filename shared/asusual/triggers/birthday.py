"""Birthday: congratulate each customer once a year, on their birthday in their own timezone,
inside the local send window. Feb 29 birthdays are celebrated on Feb 28 in other years.

The hourly sweep reads only the index partitions of the dates it is somewhere on Earth right now
(`BIRTHDAY#MM-DD`, two or three of them, plus 02-29 on a non-leap Feb 28), so its cost grows
with the birthdays of the day, not with the number of profiles. The index holds only profiles
with marketing consent (asusual.profiles.birthday); the dispatcher checks consent again.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from asusual.localtime import local_dates, local_moments, within
from asusual.profiles.birthday import BirthdayEntry
from asusual.triggers.models import BirthdayFacts, Intent, SweepReport, Topic, make_intent
from asusual.triggers.ports import IntentPublisher


class BirthdayWindow(BaseModel):
    """Local wall-clock window in which a birthday greeting may go out (default 10:00-21:00,
    ending where the default quiet hours begin)."""

    model_config = ConfigDict(frozen=True)

    start: time = time(10, 0)
    end: time = time(21, 0)


@dataclass(frozen=True)
class BirthdayCandidate:
    profile_id: str
    entry: BirthdayEntry
    congratulated_year: int | None


class BirthdayIndex(Protocol):
    def birthdays_on(self, month_day: str) -> list[BirthdayCandidate]:
        """Every indexed profile whose birthday falls on ``MM-DD``."""
        ...

    def mark_congratulated(self, profile_id: str, year: int) -> bool:
        """Conditional: False when that year (or a later one) was already marked."""
        ...


def celebration_date(birthday: date, year: int) -> date:
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def partitions(now: datetime) -> list[str]:
    """The ``MM-DD`` partitions that can hold a birthday celebrated somewhere at ``now``."""
    keys: list[str] = []
    for day in local_dates(now):
        keys.append(f"{day:%m-%d}")
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            keys.append("02-29")
    return list(dict.fromkeys(keys))


def due_year(entry: BirthdayEntry, now: datetime, window: BirthdayWindow) -> int | None:
    """The year to congratulate for, when ``now`` is the birthday and inside the window in every
    plausible zone of the customer; else None."""
    moments = local_moments(now, entry.zones)
    if not moments:
        return None
    years = set()
    for moment in moments:
        if moment.date() != celebration_date(entry.birthday, moment.year):
            return None
        if not within(moment, window.start, window.end):
            return None
        years.add(moment.year)
    return years.pop() if len(years) == 1 else None


def sweep(
    index: BirthdayIndex, publisher: IntentPublisher, now: datetime, window: BirthdayWindow
) -> SweepReport:
    keys = partitions(now)
    read = 0
    due: list[tuple[BirthdayCandidate, int]] = []
    skipped: dict[str, int] = {}
    for key in keys:
        for candidate in index.birthdays_on(key):
            read += 1
            year = due_year(candidate.entry, now, window)
            if year is None:
                continue  # not yet (or no longer) the local moment
            if candidate.congratulated_year is not None and candidate.congratulated_year >= year:
                skipped["already_congratulated"] = skipped.get("already_congratulated", 0) + 1
                continue
            due.append((candidate, year))
    intents = [_intent(candidate, year, now) for candidate, year in due]
    # publish first, then mark: a crash in between emits again, and the dispatcher sends each
    # send-once key (one per profile and year) at most once
    if intents:
        publisher.publish(intents)
    for candidate, year in due:
        index.mark_congratulated(candidate.profile_id, year)
    return SweepReport(
        sweep="birthday", now=now, partitions=keys, read=read, emitted=len(intents), skipped=skipped
    )


def _intent(candidate: BirthdayCandidate, year: int, now: datetime) -> Intent:
    entry = candidate.entry
    facts = BirthdayFacts(
        birthday=entry.birthday,
        celebrated_on=celebration_date(entry.birthday, year),
        year=year,
        timezones=entry.zones,
    )
    return make_intent(
        candidate.profile_id, Topic.MARKETING, f"birthday:{candidate.profile_id}:{year}", facts, now
    )
