"""Holdouts of trigger kinds: a deterministic share of the messages a kind would send is sent
nothing, so its conversions can be compared with the recipients' (asusual.campaigns.uplift).

A marketing intent of a kind with a holdout percent is assigned to a group once it would go now
(customer known, channel and consent found, in season, inside the send window and the caps) —
the same point for both groups, so they differ only by the message. The group is a pure function
of the kind and the send-once key: ``sha256(kind + send_once_key)``'s first 8 bytes, as a number
below ``percent`` % of 2**64, is the holdout. A redelivered or re-emitted intent lands in the same
group; another message of the same customer (next year's birthday) is drawn afresh.

The assignment is an exposure item under the customer's profile, written with its program's
counters in one transaction, at most once per send-once key (``ExposureRecorder``); an order
within its window is then counted for its group by the event processor (asusual.triggers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.triggers.kinds import KINDS

MAX_PERCENT = 50
DEFAULT_CONVERSION_DAYS = 7


class Group(StrEnum):
    RECIPIENT = "recipient"
    HOLDOUT = "holdout"


def in_holdout(seed: str, percent: int) -> bool:
    """Whether ``seed`` falls in the first ``percent`` % of the hash space (exact integers)."""
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    return value * 100 < percent * 2**64


def trigger_program(kind: str, send_once_key: str) -> str:
    """The exposure's program: one per message of a trigger kind (its send-once key, hashed)."""
    return f"trigger#{kind}#{hashlib.sha256(send_once_key.encode()).hexdigest()[:24]}"


class TriggerExposure(BaseModel):
    """One message of a trigger kind with a holdout, assigned to its group."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    kind: str
    program: str = Field(description="trigger#<kind>#<sha256(send_once_key)[:24]>")
    group: Group
    assigned_at: datetime
    window_end: datetime = Field(description="orders until then count for the group")


class ExposureRecorder(Protocol):
    def assign(self, exposure: TriggerExposure) -> bool:
        """Put the exposure unless it exists and count it on its kind's program (``audience``, and
        ``holdout`` for the holdout), in one transaction; False: it was assigned (and counted)
        before."""
        ...

    def record_outcome(self, exposure: TriggerExposure, outcome: str) -> bool:
        """Set a recipient's outcome (``sent``, ``failed``, ``skipped:<reason>``) once, with its
        counter (``sent``, ``failed``, ``skipped_<reason>``) in the same transaction; False: set
        before."""
        ...


@dataclass(frozen=True)
class HoldoutPolicy:
    """Trigger kind → percent of its messages held out (0 to 50; absent: none)."""

    percents: Mapping[str, int] = field(default_factory=dict)
    conversion_window: timedelta = timedelta(days=DEFAULT_CONVERSION_DAYS)

    def percent(self, trigger: str) -> int:
        return self.percents.get(trigger, 0)

    def assign(
        self, trigger: str, profile_id: str, send_once_key: str, now: datetime
    ) -> TriggerExposure | None:
        """The group of a message that would go now; None when its kind has no holdout."""
        percent = self.percent(trigger)
        if percent <= 0:
            return None
        held = in_holdout(trigger + send_once_key, percent)
        return TriggerExposure(
            profile_id=profile_id,
            kind=trigger,
            program=trigger_program(trigger, send_once_key),
            group=Group.HOLDOUT if held else Group.RECIPIENT,
            assigned_at=now,
            window_end=now + self.conversion_window,
        )


def holdout_policy(
    percents: Mapping[str, int], conversion_days: int = DEFAULT_CONVERSION_DAYS
) -> HoldoutPolicy:
    """The policy of ``ASUSUAL_TRIGGER_HOLDOUTS``, refused (ValueError naming the kind) for a kind
    the registry does not know, a kind that is never held out (transactional messages, campaigns
    with their own holdout) or a percent outside 0 to 50."""
    for kind, percent in percents.items():
        if kind not in KINDS:
            raise ValueError(
                f"trigger holdouts: unknown trigger kind {kind!r}; one of {', '.join(held_out_kinds())}"
            )
        if not KINDS[kind].may_hold_out:
            raise ValueError(
                f"trigger holdouts: {kind!r} is never held out (owed to the customer, or a campaign)"
            )
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= MAX_PERCENT:
            raise ValueError(
                f"trigger holdouts: {kind!r}: {percent!r} is not a whole percent from 0 to {MAX_PERCENT}"
            )
    if conversion_days < 1:
        raise ValueError(f"trigger conversion window: {conversion_days} days; at least 1")
    return HoldoutPolicy(percents=dict(percents), conversion_window=timedelta(days=conversion_days))


def held_out_kinds() -> list[str]:
    """The trigger kinds that may have a holdout."""
    return sorted(name for name, kind in KINDS.items() if kind.may_hold_out)
