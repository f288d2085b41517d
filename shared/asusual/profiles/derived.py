"""What a profile's segment memberships add to its conditional write (pure).

Profiles sit below segments (docs/architecture.md, the layers): they cannot evaluate a rule. The
event processor takes a :class:`SegmentHook` instead, which the handler's wiring supplies
(``asusual.segments.live.LiveMembership``). The hook returns the profile with its marks
(``Profile.segments``) and due instant, and the items that must change with it: membership items,
the size counters and the due entry. They go in THE SAME transaction as the profile, so a
membership never disagrees with the profile it came from, whatever the order or the redeliveries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from asusual.profiles.model import Profile

COUNTER_SHARDS = 16
DIRECTORY_SHARDS = 16


def shard_of(profile_id: str, shards: int = COUNTER_SHARDS) -> int:
    """The profile's shard of the size counters and of the directory: the first byte of the
    SHA-256 of its id, modulo the shard count (stable, spread evenly)."""
    return hashlib.sha256(profile_id.encode()).digest()[0] % shards


@dataclass(frozen=True)
class MemberRecord:
    """One membership item: campaign planning reads these, never the profiles."""

    segment_id: str
    incarnation: str
    profile_id: str
    since: datetime
    rule_version: int
    zones: tuple[str, ...]  # plausible zones, as the birthday entry has them
    country: str | None
    locale: str | None

    @property
    def counter(self) -> str:
        return f"{self.segment_id}#{self.incarnation}"


@dataclass(frozen=True)
class MemberKey:
    segment_id: str
    incarnation: str
    profile_id: str

    @property
    def counter(self) -> str:
        return f"{self.segment_id}#{self.incarnation}"


@dataclass
class SegmentWrites:
    """The items a profile write changes besides the profile: written only when they change."""

    put: list[MemberRecord] = field(default_factory=list)
    delete: list[MemberKey] = field(default_factory=list)
    # counter shard → '<segment_id>#<incarnation>' → delta (one Update per shard: ADD each)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    # profile id → its new due instant, None to remove the entry (only entries that changed)
    due: dict[str, datetime | None] = field(default_factory=dict)

    def count(self, profile_id: str, counter: str, delta: int) -> None:
        shard = self.counts.setdefault(shard_of(profile_id), {})
        shard[counter] = shard.get(counter, 0) + delta
        if not shard[counter]:
            del shard[counter]
            if not shard:
                del self.counts[shard_of(profile_id)]

    def extend(self, other: SegmentWrites) -> None:
        self.put += other.put
        self.delete += other.delete
        for shard, deltas in other.counts.items():
            mine = self.counts.setdefault(shard, {})
            for counter, delta in deltas.items():
                mine[counter] = mine.get(counter, 0) + delta
        self.due.update(other.due)

    def __bool__(self) -> bool:
        return bool(self.put or self.delete or self.counts or self.due)


@dataclass
class Derived:
    profile: Profile  # with its marks and due instant (version unchanged)
    absorbed: list[Profile] = field(default_factory=list)  # tombstones of a merge, marks cleared
    writes: SegmentWrites = field(default_factory=SegmentWrites)


class SegmentHook(Protocol):
    def __call__(
        self, profile: Profile, previous: Profile | None, absorbed: Sequence[Profile], now: datetime
    ) -> Derived:
        """Re-evaluate ``profile`` (after the event; ``previous`` before it, None when new) against
        the live segments at ``now``; ``absorbed`` (tombstones of a merge) leave every segment."""
        ...
