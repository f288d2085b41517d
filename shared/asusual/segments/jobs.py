"""The segments worker's pages and the due-time sweep (pure; repositories as Protocols).

**Back-fill.** One message = one page: at most 100 profiles of one directory shard
(gsi1 ``PROFILES#<shard>``), read in one BatchGetItem, evaluated, each committed conditionally.
The page's progress is saved on the definition (conditional on its revision) before the next
page's message is sent, and a message whose page is not the definition's next one stops: a
replayed or stale page (an older rule version, a deleted segment) never counts twice nor forks
the chain. A message retried after its progress was saved but before its successor was sent sends
the successor again.

**Deletion.** Each page deletes up to 100 membership items of the deleted incarnation (always the
first ones left: no cursor), then sends the next; the last removes the size counters and the
definition.

**Sweep.** Hourly: Query gsi1 ``SEGDUE#<hour>`` for the last hours up to now (never a scan), then
:func:`asusual.segments.live.refresh` each due profile with fresh definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from asusual.errors import Conflict
from asusual.profiles.derived import DIRECTORY_SHARDS
from asusual.segments.live import LiveMembership, ProfileStore, refresh
from asusual.segments.models import BackfillState, Segment, SegmentJob, SegmentStatus
from asusual.segments.service import SegmentJobs, SegmentRepository

PAGE = 100
MAX_ATTEMPTS = 8


class DirectoryReader(Protocol):
    def directory_page(self, shard: int, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        """Profile ids of one directory shard, in id order after ``cursor``; the next cursor."""
        ...


class MembershipCleaner(Protocol):
    def delete_members(self, segment_id: str, incarnation: str, limit: int) -> tuple[int, bool]:
        """Delete up to ``limit`` membership items; (deleted, whether any may be left)."""
        ...

    def drop(self, segment: Segment) -> None:
        """Remove the incarnation's size counters, then the definition (if still that one, deleting)."""
        ...


class DueIndex(Protocol):
    def due_profiles(self, bucket: str, until: datetime) -> list[str]: ...


@dataclass
class JobReport:
    job: str
    segment_id: str
    outcome: str  # page | done | stale | resent | deleted_page | dropped
    read: int = 0
    written: int = 0
    conflicts: int = 0
    deleted: int = 0


def position(shard: int, cursor: str | None) -> str:
    return f"{shard}:{cursor or ''}"


def backfill_page(
    job: SegmentJob,
    *,
    repo: SegmentRepository,
    jobs: SegmentJobs,
    directory: DirectoryReader,
    store: ProfileStore,
    hook: LiveMembership,
    now: datetime,
    retried: bool = False,
) -> JobReport:
    report = JobReport(job="backfill", segment_id=job.segment_id, outcome="stale")
    here = position(job.shard, job.cursor)
    segment = repo.segment(job.segment_id)
    if not _current(segment, job):
        return report
    assert segment is not None
    if segment.backfill.position != here:
        if retried and segment.backfill.previous == here and segment.backfill.state is not BackfillState.DONE:
            jobs.send(_job_at(segment, segment.backfill.position))  # progress saved, successor maybe not
            report.outcome = "resent"
        return report
    ids, cursor = directory.directory_page(job.shard, PAGE, job.cursor)
    refreshed = refresh(store, ids, hook, now)
    report.read, report.written, report.conflicts = refreshed.read, refreshed.written, refreshed.conflicts
    if cursor is not None:
        following = position(job.shard, cursor)
    elif job.shard + 1 < DIRECTORY_SHARDS:
        following = position(job.shard + 1, None)
    else:
        following = ""
    for _attempt in range(MAX_ATTEMPTS):
        b = segment.backfill
        progress = b.model_copy(
            update={
                "state": BackfillState.DONE if not following else BackfillState.RUNNING,
                "profiles": b.profiles + refreshed.read,
                "started_at": b.started_at or now,
                "finished_at": now if not following else None,
                "position": following,
                "previous": here,
            }
        )
        try:
            repo.save(
                segment.model_copy(update={"backfill": progress, "revision": segment.revision + 1}),
                segment.revision,
            )
            break
        except Conflict:
            segment = repo.segment(job.segment_id)  # renamed meanwhile, or a new version: read again
            if not _current(segment, job) or segment is None or segment.backfill.position != here:
                return report
    else:
        raise Conflict("segment definition changed concurrently too often; retry")
    if following:
        jobs.send(_job_at(segment, following))
        report.outcome = "page"
    else:
        report.outcome = "done"
    return report


def delete_page(
    job: SegmentJob, *, repo: SegmentRepository, jobs: SegmentJobs, cleaner: MembershipCleaner
) -> JobReport:
    report = JobReport(job="delete", segment_id=job.segment_id, outcome="stale")
    segment = repo.segment(job.segment_id)
    if (
        segment is None
        or segment.incarnation != job.incarnation
        or segment.status is not SegmentStatus.DELETING
    ):
        return report
    deleted, more = cleaner.delete_members(job.segment_id, job.incarnation, PAGE)
    report.deleted = deleted
    if more:
        jobs.send(job)
        report.outcome = "deleted_page"
        return report
    cleaner.drop(segment)
    report.outcome = "dropped"
    return report


def _current(segment: Segment | None, job: SegmentJob) -> bool:
    return (
        segment is not None
        and segment.live
        and segment.incarnation == job.incarnation
        and segment.version == job.version
        and segment.backfill.version == job.version
    )


def _job_at(segment: Segment, at: str) -> SegmentJob:
    shard, _, cursor = at.partition(":")
    return SegmentJob(
        job="backfill",
        segment_id=segment.segment_id,
        incarnation=segment.incarnation,
        version=segment.version,
        shard=int(shard),
        cursor=cursor or None,
    )


@dataclass
class SweepReport:
    now: datetime
    buckets: list[str] = field(default_factory=list)
    due: int = 0
    read: int = 0
    written: int = 0
    conflicts: int = 0


def due_bucket(at: datetime) -> str:
    return f"SEGDUE#{at:%Y-%m-%dT%H}"


def sweep(
    index: DueIndex, store: ProfileStore, hook: LiveMembership, now: datetime, lookback_hours: int
) -> SweepReport:
    """Re-evaluate every profile whose segment verdict may have changed by now: the due entries of
    the last ``lookback_hours`` hours and this one, up to now."""
    report = SweepReport(now=now)
    hour = now.replace(minute=0, second=0, microsecond=0)
    due: list[str] = []
    for back in range(lookback_hours, -1, -1):
        bucket = due_bucket(hour - timedelta(hours=back))
        report.buckets.append(bucket)
        due += index.due_profiles(bucket, now)
    due = list(dict.fromkeys(due))
    report.due = len(due)
    for start in range(0, len(due), PAGE):
        refreshed = refresh(store, due[start : start + PAGE], hook, now)
        report.read += refreshed.read
        report.written += refreshed.written
        report.conflicts += refreshed.conflicts
    return report
