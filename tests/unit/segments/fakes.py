"""In-memory stand-ins for the segments' repositories and queue, and a rule evaluator that knows
one condition (a trait equal to a value), so the membership rules are tested on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asusual.errors import Conflict
from asusual.profiles.derived import MemberRecord
from asusual.profiles.state import ProfileState
from asusual.segments.models import Segment, SegmentJob
from asusual.segments.rules import Rule, Trait


@dataclass(frozen=True)
class Verdict:
    member: bool
    reasons: tuple[Any, ...]
    changes_at: datetime | None


@dataclass
class TraitEvaluator:
    """Member when the trait equals the rule's value; ``changes_at`` as set by the test."""

    changes_at: datetime | None = None
    calls: int = 0

    def __call__(self, rule: Rule, state: ProfileState, now: datetime) -> Verdict:
        self.calls += 1
        assert isinstance(rule, Trait)
        held = state.traits.get(rule.path)
        member = held is not None and held.value == rule.value
        reasons = ({"trait": rule.path, "eq": rule.value},) if member else ()
        return Verdict(member, reasons, self.changes_at)


@dataclass
class MemorySegments:
    stored: dict[str, Segment] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    members: dict[str, list[MemberRecord]] = field(default_factory=dict)  # '<id>#<inc>' → records
    directory: dict[int, list[str]] = field(default_factory=dict)
    saves: int = 0

    def segments(self) -> list[Segment]:
        return list(self.stored.values())

    def segment(self, segment_id: str) -> Segment | None:
        return self.stored.get(segment_id)

    def create(self, segment: Segment) -> None:
        if segment.segment_id in self.stored:
            raise Conflict("exists")
        self.stored[segment.segment_id] = segment

    def save(self, segment: Segment, expected_revision: int) -> None:
        if self.stored[segment.segment_id].revision != expected_revision:
            raise Conflict("moved")
        self.saves += 1
        self.stored[segment.segment_id] = segment

    def sizes(self) -> dict[str, int]:
        return dict(self.counters)

    def members_page(
        self, segment_id: str, limit: int = 100, cursor: str | None = None, *, incarnation: str | None = None
    ) -> tuple[list[MemberRecord], str | None]:
        records = sorted(self.members.get(f"{segment_id}#{incarnation}", []), key=lambda r: r.profile_id)
        after = [r for r in records if cursor is None or r.profile_id > cursor]
        page = after[:limit]
        return page, (page[-1].profile_id if len(after) > limit else None)

    def directory_page(self, shard: int, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        ids = [i for i in sorted(self.directory.get(shard, [])) if cursor is None or i > cursor]
        page = ids[:limit]
        return page, (page[-1] if len(ids) > limit else None)

    def delete_members(self, segment_id: str, incarnation: str, limit: int) -> tuple[int, bool]:
        records = self.members.get(f"{segment_id}#{incarnation}", [])
        gone, self.members[f"{segment_id}#{incarnation}"] = records[:limit], records[limit:]
        return len(gone), len(records) > limit

    def drop(self, segment: Segment) -> None:
        self.counters.pop(segment.counter, None)
        self.stored.pop(segment.segment_id, None)


@dataclass
class SentJobs:
    sent: list[tuple[SegmentJob, int]] = field(default_factory=list)

    def send(self, job: SegmentJob, delay_seconds: int = 0) -> None:
        self.sent.append((job, delay_seconds))
