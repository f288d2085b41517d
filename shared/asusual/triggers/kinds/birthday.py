"""Birthday greetings: the day's offer, worth sending until the birthday ends in every plausible
zone (a greeting a day late is wrong)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from asusual.localtime import zone
from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import BirthdayFacts


class BirthdayKind(TriggerKind[BirthdayFacts]):
    facts_model = BirthdayFacts
    shows_offer = True

    def useful_until(
        self, facts: BirthdayFacts, created_at: datetime, zones: Sequence[str]
    ) -> datetime | None:
        """The first local midnight ending the celebrated day among the plausible zones; the
        intent's own time when no zone is known."""
        ends = []
        for name in zones:
            tz = zone(name)
            if tz is not None:
                midnight = datetime.combine(facts.celebrated_on + timedelta(days=1), time(0, 0), tzinfo=tz)
                ends.append(midnight.astimezone(created_at.tzinfo))
        return min(ends) if ends else created_at


KIND = BirthdayKind()
