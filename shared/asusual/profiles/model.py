"""A stored profile: its parts (one per original profile, so merges can be undone exactly), a
version for optimistic concurrency, and the profiles it must never be merged with again."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import reduce
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.identity.models import Identifier, Kind, identifying
from asusual.profiles.state import ProfileState


def new_profile_id(message_id: str) -> str:
    """Derived from the event that created the profile, so a retried event creates the same one."""
    return "p_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]


class MergeRecord(BaseModel):
    """Why two profiles became one: kept on the survivor, and as its own item for audit."""

    model_config = ConfigDict(frozen=True)

    absorbed_id: str
    at: datetime = Field(description="when the merge was applied")
    message_id: str = Field(description="the event that linked them")
    event_time: datetime
    identifiers: tuple[Identifier, ...] = Field(description="the event's identifiers that linked them")
    parts: tuple[str, ...] = Field(default=(), description="the parts that came with the absorbed profile")
    reverted_at: datetime | None = None


class SegmentMark(BaseModel):
    """The profile is in a segment (asusual.segments.live): derived from the profile's state by the
    segment's rule, never part of the semilattice parts; rewritten only with the profile itself."""

    model_config = ConfigDict(frozen=True)

    incarnation: str = Field(
        description="the segment's incarnation (a segment deleted and created again is new)"
    )
    version: int = Field(description="the rule version that was evaluated")
    since: datetime = Field(description="when the profile entered the segment")
    # marks written before the words were computed from the rule held the reasons; new ones do not
    # (a mark is in every write of the profile: kept small, a page view costs one write unit)
    reasons: tuple[Any, ...] = Field(default=(), exclude_if=lambda v: not v, description="(legacy)")


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile_id: str
    version: int = 0
    created_at: datetime
    parts: dict[str, ProfileState] = Field(default_factory=dict, description="original profile id → state")
    apart_from: frozenset[str] = Field(default_factory=frozenset, description="parts never to merge with")
    merges: tuple[MergeRecord, ...] = ()
    merged_into: str | None = Field(default=None, description="set on a tombstone left by a merge")
    # derived (asusual.segments.live), written in the profile's own conditional write
    segments: dict[str, SegmentMark] = Field(default_factory=dict, description="segment id → membership")
    segments_due: datetime | None = Field(
        default=None, description="when a segment verdict may next change by time alone (the due entry)"
    )
    listed: bool = Field(default=False, description="its directory entry (the back-fills' list) is written")

    def state(self) -> ProfileState:
        return reduce(ProfileState.join, (self.parts[k] for k in sorted(self.parts)), ProfileState())

    def identifiers(self) -> frozenset[Identifier]:
        return frozenset().union(*(p.identifiers for p in self.parts.values()))

    def may_merge(self, other: Profile) -> bool:
        return not (set(self.parts) & other.apart_from or set(other.parts) & self.apart_from)

    def names_a_person(self) -> bool:
        """Whether it holds an identifying identifier (user id, email, phone, an external id), not
        only anonymous and device ids."""
        return any(identifying(i.kind) for i in self.identifiers())

    def ties(self, anonymous_id: str) -> bool:
        """Whether a vouched event (a server-side source's, or a signed user id's) tied this anonymous
        id to an identifying identifier the profile still holds, and the profile holds the anonymous
        id itself. An anonymous id that came in any other way (an unsigned identify naming someone
        else's user id or email, a merge it brought about) is not tied, and neither is one whose tie
        an unmerge took to another profile."""
        held = self.identifiers()
        if Identifier(kind=Kind.ANONYMOUS_ID, value=anonymous_id) not in held:
            return False
        keys = {i.key() for i in held}
        return any(
            key in keys for part in self.parts.values() for key in part.anonymous_ties.get(anonymous_id, ())
        )

    def live_segments(self, live: Mapping[str, str]) -> list[str]:
        """The ids of the segments it is in, of those ``live`` lists (segment id → incarnation): a
        mark of a deleted segment, or of an earlier segment of the same id, is not shown."""
        return sorted(sid for sid, mark in self.segments.items() if live.get(sid) == mark.incarnation)

    def part_of(self, identifier: Identifier) -> str | None:
        return next((k for k in sorted(self.parts) if identifier in self.parts[k].identifiers), None)
