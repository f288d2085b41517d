"""The segment definitions' use cases (pure): create, change, read, list, members, delete.

A new or changed rule is back-filled by the segments worker (asusual.segments.jobs), page by
page. Its first message is delayed past the processors' definition cache (plus the longest an
event can take), so every event applied after the back-fill read a profile was evaluated with the
new rule too: nothing slips between. Deleting marks the definition ``deleting``; the worker
deletes its memberships in pages (after the same delay), then its counters and the definition.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Protocol

from asusual.errors import BadRequest, Conflict, NotFound
from asusual.profiles.derived import MemberRecord
from asusual.segments.live import definitions_changed
from asusual.segments.models import (
    MAX_PAGE,
    MAX_SEGMENTS,
    Backfill,
    MembersPage,
    Segment,
    SegmentChange,
    SegmentJob,
    SegmentList,
    SegmentRequest,
    SegmentStatus,
    SegmentView,
    check_rule,
    check_segment_id,
)
from asusual.segments.rules import RuleError

FIRST_POSITION = "0:"  # shard 0, no cursor: where every back-fill starts


class SegmentRepository(Protocol):
    def segments(self) -> list[Segment]:
        """Every stored definition (deleting ones too), consistently."""
        ...

    def segment(self, segment_id: str) -> Segment | None: ...

    def create(self, segment: Segment) -> None:
        """Conditional on no definition of that id; Conflict otherwise."""
        ...

    def save(self, segment: Segment, expected_revision: int) -> None:
        """``segment`` (its revision already the next); Conflict when the stored revision moved."""
        ...

    def sizes(self) -> dict[str, int]:
        """'<segment_id>#<incarnation>' → members, summed over the counter shards."""
        ...

    def members_page(
        self, segment_id: str, limit: int = 100, cursor: str | None = None, *, incarnation: str | None = None
    ) -> tuple[list[MemberRecord], str | None]: ...


class SegmentJobs(Protocol):
    def send(self, job: SegmentJob, delay_seconds: int = 0) -> None: ...


def _rule(value: object) -> dict[str, object]:
    try:
        return check_rule(value)
    except RuleError as exc:
        raise BadRequest(str(exc), code="invalid_rule") from exc
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_request") from exc


def create(
    repo: SegmentRepository,
    jobs: SegmentJobs,
    request: SegmentRequest,
    *,
    now: datetime,
    incarnation: str,
    delay_seconds: int,
) -> SegmentView:
    rule = _rule(request.rule)
    stored = repo.segments()
    same = next((s for s in stored if s.segment_id == request.segment_id), None)
    if same is not None:
        code = "segment_deleting" if same.status is SegmentStatus.DELETING else "segment_exists"
        raise Conflict(f"segment_id: {request.segment_id!r} exists already", code=code)
    if len(stored) >= MAX_SEGMENTS:
        raise Conflict(f"at most {MAX_SEGMENTS} segments; delete one first", code="too_many_segments")
    segment = Segment(
        segment_id=request.segment_id,
        name=request.name,
        rule=rule,
        incarnation=incarnation,
        created_at=now,
        updated_at=now,
        backfill=Backfill(version=1, position=FIRST_POSITION),
    )
    try:
        repo.create(segment)
        definitions_changed()
    except Conflict as exc:
        raise Conflict(f"segment_id: {request.segment_id!r} exists already", code="segment_exists") from exc
    jobs.send(_first_page(segment), delay_seconds)
    return SegmentView.of(segment, 0)


def update(
    repo: SegmentRepository,
    jobs: SegmentJobs,
    segment_id: str,
    change: SegmentChange,
    *,
    now: datetime,
    delay_seconds: int,
) -> SegmentView:
    """A changed rule is a new version, back-filled; a changed name alone keeps the version; the
    same rule and name again change nothing (a retried PUT)."""
    if change.segment_id is not None and change.segment_id != segment_id:
        raise BadRequest("segment_id: differs from the id in the path", code="invalid_request")
    if change.rule is None and change.name is None:
        raise BadRequest("body: a new rule, a new name, or both", code="invalid_request")
    rule = _rule(change.rule) if change.rule is not None else None
    segment = _live(repo, segment_id)
    new_rule = rule is not None and rule != segment.rule
    new_name = change.name is not None and change.name != segment.name
    if not new_rule and not new_name:
        return SegmentView.of(segment, repo.sizes().get(segment.counter, 0))
    updates: dict[str, object] = {"updated_at": now, "revision": segment.revision + 1}
    if new_name:
        updates["name"] = change.name
    if new_rule:
        version = segment.version + 1
        updates |= {
            "rule": rule,
            "version": version,
            "backfill": Backfill(version=version, position=FIRST_POSITION),
        }
    changed = segment.model_copy(update=updates)
    try:
        repo.save(changed, segment.revision)
        definitions_changed()
    except Conflict as exc:
        raise Conflict(f"segment {segment_id!r} changed meanwhile; read it and retry") from exc
    if new_rule:
        jobs.send(_first_page(changed), delay_seconds)
    return SegmentView.of(changed, repo.sizes().get(changed.counter, 0))


def get(repo: SegmentRepository, segment_id: str) -> SegmentView:
    segment = repo.segment(check_id(segment_id))
    if segment is None:
        raise NotFound(f"segment_id: no segment {segment_id!r}")
    return SegmentView.of(segment, repo.sizes().get(segment.counter, 0))


def list_segments(repo: SegmentRepository) -> SegmentList:
    sizes = repo.sizes()
    stored = sorted(repo.segments(), key=lambda s: s.segment_id)
    return SegmentList(segments=[SegmentView.of(s, sizes.get(s.counter, 0)) for s in stored])


def members(repo: SegmentRepository, segment_id: str, limit: int, cursor: str | None) -> MembersPage:
    """A page of members, by profile id. The cursor names the incarnation it came from: a cursor
    of a segment deleted and created again is refused rather than read into the new one."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit: from 1 to {MAX_PAGE}", code="invalid_request")
    segment = _live(repo, segment_id)
    after = _read_cursor(cursor, segment.incarnation) if cursor else None
    records, last = repo.members_page(segment.segment_id, limit, after, incarnation=segment.incarnation)
    return MembersPage(
        profile_ids=[r.profile_id for r in records],
        cursor=_cursor(segment.incarnation, last) if last else None,
    )


def delete(
    repo: SegmentRepository, jobs: SegmentJobs, segment_id: str, *, now: datetime, delay_seconds: int
) -> SegmentView:
    """Marks the segment deleting; the worker deletes its memberships, then it. Deleting again
    sends the job again (a chain lost to the dead-letter queue resumes; pages are idempotent)."""
    segment = repo.segment(check_id(segment_id))
    if segment is None:
        raise NotFound(f"segment_id: no segment {segment_id!r}")
    if segment.status is not SegmentStatus.DELETING:
        deleting = segment.model_copy(
            update={"status": SegmentStatus.DELETING, "updated_at": now, "revision": segment.revision + 1}
        )
        try:
            repo.save(deleting, segment.revision)
            definitions_changed()
        except Conflict as exc:
            raise Conflict(f"segment {segment_id!r} changed meanwhile; retry") from exc
        segment = deleting
    jobs.send(
        SegmentJob(job="delete", segment_id=segment.segment_id, incarnation=segment.incarnation),
        delay_seconds,
    )
    return SegmentView.of(segment, repo.sizes().get(segment.counter, 0))


def check_id(segment_id: str) -> str:
    try:
        return check_segment_id(segment_id)
    except ValueError as exc:
        raise NotFound(f"segment_id: no segment {segment_id[:64]!r}") from exc


def _live(repo: SegmentRepository, segment_id: str) -> Segment:
    segment = repo.segment(check_id(segment_id))
    if segment is None or not segment.live:
        raise NotFound(f"segment_id: no segment {segment_id!r}")
    return segment


def _first_page(segment: Segment) -> SegmentJob:
    return SegmentJob(
        job="backfill",
        segment_id=segment.segment_id,
        incarnation=segment.incarnation,
        version=segment.version,
    )


def _cursor(incarnation: str, last: str) -> str:
    return base64.urlsafe_b64encode(f"{incarnation}\n{last}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str, incarnation: str) -> str:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("cursor: not a cursor this API gave", code="invalid_request") from exc
    made_for, _, last = raw.partition("\n")
    if made_for != incarnation or not last:
        raise BadRequest("cursor: not a cursor of this segment", code="invalid_request")
    return last
