"""The worker's pages and the due sweep (asusual.segments.jobs), on in-memory stand-ins."""

from __future__ import annotations

from datetime import UTC, datetime

from asusual.profiles.derived import MemberRecord
from asusual.segments import service
from asusual.segments.jobs import backfill_page, delete_page, due_bucket, sweep
from asusual.segments.live import LiveMembership
from asusual.segments.models import BackfillState, SegmentJob, SegmentRequest
from tests.unit.segments.fakes import MemorySegments, SentJobs, TraitEvaluator
from tests.unit.segments.test_live import GRACE, person

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class Store:
    def __init__(self, *profiles):
        self.profiles = {p.profile_id: p for p in profiles}

    def load(self, ids):
        return {i: self.profiles[i] for i in ids if i in self.profiles}

    def commit(self, change):
        self.profiles[change.profile.profile_id] = change.profile


def setup(repo: MemorySegments, jobs: SentJobs) -> LiveMembership:
    request = SegmentRequest(segment_id="gold", name="Gold", rule={"trait": "tier", "eq": "gold"})
    service.create(repo, jobs, request, now=NOW, incarnation="i1", delay_seconds=0)
    return LiveMembership(repo.segments, TraitEvaluator(), default_country="RU", grace=GRACE)


def page(shard: int = 0, cursor: str | None = None, version: int = 1) -> SegmentJob:
    return SegmentJob(
        job="backfill", segment_id="gold", incarnation="i1", version=version, shard=shard, cursor=cursor
    )


def run(job, repo, jobs, store, hook, retried=False):
    return backfill_page(
        job, repo=repo, jobs=jobs, directory=repo, store=store, hook=hook, now=NOW, retried=retried
    )


def test_backfill_page_evaluates_its_profiles_saves_progress_then_sends_the_next_page() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    hook = setup(repo, jobs)
    repo.directory[0] = ["p1"]
    store = Store(person("gold"))
    report = run(page(), repo, jobs, store, hook)
    assert (report.outcome, report.read, report.written) == ("page", 1, 1)
    assert store.profiles["p1"].segments["gold"].incarnation == "i1"
    b = repo.stored["gold"].backfill
    assert (b.state, b.profiles, b.position, b.previous, b.started_at) == (
        BackfillState.RUNNING,
        1,
        "1:",
        "0:",
        NOW,
    )
    assert jobs.sent[-1] == (page(shard=1), 0)


def test_backfill_through_every_shard_ends_done_and_a_replayed_page_counts_nothing() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    hook = setup(repo, jobs)
    store = Store()
    for shard in range(16):
        run(page(shard), repo, jobs, store, hook)
    b = repo.stored["gold"].backfill
    assert (b.state, b.position, b.finished_at) == (BackfillState.DONE, "", NOW)
    sent = len(jobs.sent)
    assert run(page(15), repo, jobs, store, hook).outcome == "stale"
    assert len(jobs.sent) == sent


def test_backfill_page_retried_after_its_progress_was_saved_sends_its_successor_again() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    hook = setup(repo, jobs)
    store = Store()
    run(page(), repo, jobs, store, hook)
    assert run(page(), repo, jobs, store, hook).outcome == "stale"  # a duplicate: no second chain
    assert run(page(), repo, jobs, store, hook, retried=True).outcome == "resent"
    assert jobs.sent[-1] == (page(shard=1), 0)


def test_backfill_page_of_an_older_version_stops() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    hook = setup(repo, jobs)
    assert run(page(version=2), repo, jobs, Store(), hook).outcome == "stale"


def test_delete_pages_until_no_member_is_left_then_drops_the_segment() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    setup(repo, jobs)
    repo.members["gold#i1"] = [
        MemberRecord("gold", "i1", f"p{n}", NOW, 1, (), None, None) for n in range(150)
    ]
    repo.counters["gold#i1"] = 150
    service.delete(repo, jobs, "gold", now=NOW, delay_seconds=0)
    job = jobs.sent[-1][0]
    assert delete_page(job, repo=repo, jobs=jobs, cleaner=repo).outcome == "deleted_page"
    assert jobs.sent[-1] == (job, 0)
    report = delete_page(job, repo=repo, jobs=jobs, cleaner=repo)
    assert (report.outcome, report.deleted) == ("dropped", 50)
    assert repo.stored == {} and repo.counters == {}
    assert delete_page(job, repo=repo, jobs=jobs, cleaner=repo).outcome == "stale"


class DueIndex:
    def __init__(self, due: dict[str, list[str]]):
        self.due, self.asked = due, []

    def due_profiles(self, bucket, until):
        self.asked.append((bucket, until))
        return self.due.get(bucket, [])


def test_sweep_reads_the_due_hours_of_the_lookback_and_this_one_then_refreshes_each_profile_once() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    hook = setup(repo, jobs)
    index = DueIndex({"SEGDUE#2026-11-23T07": ["p1"], "SEGDUE#2026-11-23T09": ["p1"]})
    store = Store(person("gold"))
    report = sweep(index, store, hook, NOW, 2)
    assert [b for b, _ in index.asked] == [
        "SEGDUE#2026-11-23T07",
        "SEGDUE#2026-11-23T08",
        "SEGDUE#2026-11-23T09",
    ]
    assert {until for _, until in index.asked} == {NOW}
    assert (report.due, report.read, report.written) == (1, 1, 1)
    assert due_bucket(NOW) == "SEGDUE#2026-11-23T09"
