"""A segment's definition, what the API reads and answers, and the back-fill's messages (pure).

A definition is one item (``SEGMENTS`` / ``SEGMENT#<segment_id>``, docs/data-model.md). Its rule
is kept as posted (parsed again where it is evaluated: the tree is not JSON); ``version`` counts
the rule's changes; ``incarnation`` is new at every creation, so the memberships and counters of a
segment deleted and created again under the same id never mix with the old ones.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from asusual.segments.rules import Rule, parse_rule

SEGMENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_SEGMENTS = 40
MAX_NAME = 200
MAX_RULE_BYTES = 16_384  # the rule's JSON: 40 of them are read by every processor once a minute
MAX_PAGE = 1000


class SegmentStatus(StrEnum):
    ACTIVE = "active"
    DELETING = "deleting"  # its memberships are being deleted; then the definition goes


class BackfillState(StrEnum):
    PENDING = "pending"  # waiting for every processor's cache to know the rule (the first delay)
    RUNNING = "running"
    DONE = "done"


class Backfill(BaseModel):
    """Progress of the back-fill of one rule version: every listed profile evaluated once."""

    model_config = ConfigDict(frozen=True)

    version: int
    state: BackfillState = BackfillState.PENDING
    profiles: int = Field(default=0, description="profiles evaluated so far")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    position: str = Field(default="", description="the next page: '<shard>:<cursor>'; '' when done")
    previous: str = Field(default="", description="the page whose progress was saved last")


class Segment(BaseModel):
    """A stored definition."""

    model_config = ConfigDict(frozen=True)

    segment_id: str
    name: str
    rule: dict[str, Any] = Field(description="the rule as posted")
    version: int = 1
    incarnation: str
    created_at: datetime
    updated_at: datetime
    status: SegmentStatus = SegmentStatus.ACTIVE
    backfill: Backfill
    revision: int = Field(default=0, description="optimistic lock: +1 at every write of the item")

    @cached_property
    def parsed(self) -> Rule:
        return parse_rule(self.rule)

    @property
    def counter(self) -> str:
        """The size counters' attribute of this incarnation (and its membership partition's tail)."""
        return f"{self.segment_id}#{self.incarnation}"

    @property
    def live(self) -> bool:
        return self.status is SegmentStatus.ACTIVE


def check_segment_id(value: str) -> str:
    if not isinstance(value, str) or not SEGMENT_ID.match(value):
        raise ValueError("segment_id: 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit")
    return value


def check_rule(value: object) -> dict[str, Any]:
    """The rule as posted, when it is the grammar (RuleError naming the key otherwise) and small."""
    parse_rule(value)
    assert isinstance(value, dict)
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_RULE_BYTES:
        raise ValueError(f"rule: at most {MAX_RULE_BYTES} bytes as JSON")
    return value


class SegmentRequest(BaseModel):
    """POST /v1/segments."""

    model_config = ConfigDict(extra="forbid")

    segment_id: str = Field(description="1 to 64 of a-z, 0-9, _ and -")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    rule: dict[str, Any] = Field(description="a rule of the grammar (docs/segments.md)")

    @field_validator("segment_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return check_segment_id(value)


class SegmentChange(BaseModel):
    """PUT /v1/segments/{id}: a new rule (a new version) and/or name."""

    model_config = ConfigDict(extra="forbid")

    segment_id: str | None = Field(default=None, description="if given, the id in the path")
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    rule: dict[str, Any] | None = None


class BackfillView(BaseModel):
    version: int
    state: BackfillState
    profiles: int
    started_at: datetime | None
    finished_at: datetime | None


class SegmentView(BaseModel):
    """GET /v1/segments/{id}."""

    segment_id: str
    name: str
    rule: dict[str, Any]
    version: int
    size: int = Field(description="profiles in the segment now")
    updated_at: datetime
    created_at: datetime
    status: SegmentStatus
    backfill: BackfillView

    @classmethod
    def of(cls, segment: Segment, size: int) -> SegmentView:
        b = segment.backfill
        return cls(
            segment_id=segment.segment_id,
            name=segment.name,
            rule=segment.rule,
            version=segment.version,
            size=max(size, 0),
            updated_at=segment.updated_at,
            created_at=segment.created_at,
            status=segment.status,
            backfill=BackfillView(
                version=b.version,
                state=b.state,
                profiles=b.profiles,
                started_at=b.started_at,
                finished_at=b.finished_at,
            ),
        )


class SegmentList(BaseModel):
    segments: list[SegmentView]


class MembersPage(BaseModel):
    """GET /v1/segments/{id}/members."""

    profile_ids: list[str]
    cursor: str | None = Field(description="pass it back for the next page; null: no more")


class SegmentJob(BaseModel):
    """One message of the segments queue: one page of a back-fill or of a deletion."""

    model_config = ConfigDict(frozen=True)

    job: Literal["backfill", "delete"]
    segment_id: str
    incarnation: str
    version: int = 0
    shard: int = 0
    cursor: str | None = None
