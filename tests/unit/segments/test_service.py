"""The segment definitions' use cases on in-memory stand-ins (asusual.segments.service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from asusual.errors import BadRequest, Conflict, NotFound
from asusual.profiles.derived import MemberRecord
from asusual.segments import service
from asusual.segments.models import SegmentChange, SegmentJob, SegmentRequest, SegmentStatus
from tests.unit.segments.fakes import MemorySegments, SentJobs

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULE = {"purchased": {"category": "pet food", "within_days": 90}}


def create(repo: MemorySegments, jobs: SentJobs, segment_id: str = "pet-food", rule: object = RULE):
    request = SegmentRequest.model_validate({"segment_id": segment_id, "name": "Pet food", "rule": rule})
    return service.create(repo, jobs, request, now=NOW, incarnation="i1", delay_seconds=120)


def test_create_stores_version_one_and_sends_the_first_backfill_page_delayed() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    view = create(repo, jobs)
    assert (view.segment_id, view.version, view.size, view.backfill.state) == ("pet-food", 1, 0, "pending")
    assert jobs.sent == [
        (SegmentJob(job="backfill", segment_id="pet-food", incarnation="i1", version=1), 120)
    ]
    assert repo.stored["pet-food"].backfill.position == "0:"


def test_create_with_a_misspelt_key_is_refused_naming_it() -> None:
    with pytest.raises(BadRequest, match=r"^rule\.purchased\.within_dayz: unknown key") as refused:
        create(MemorySegments(), SentJobs(), rule={"purchased": {"within_dayz": 3}})
    assert refused.value.code == "invalid_rule"


def test_create_with_a_rule_too_large_is_refused() -> None:
    rule = {"any": [{"trait": f"t{i}", "in": ["x" * 200] * 50} for i in range(10)]}
    with pytest.raises(BadRequest, match=r"^rule: at most 16384 bytes as JSON$"):
        create(MemorySegments(), SentJobs(), rule=rule)


def test_create_beyond_forty_segments_is_a_conflict() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    for n in range(40):
        create(repo, jobs, f"s{n}")
    with pytest.raises(Conflict) as refused:
        create(repo, jobs, "s40")
    assert refused.value.code == "too_many_segments"


def test_create_of_an_id_in_use_or_being_deleted_is_a_conflict_naming_which() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    create(repo, jobs)
    with pytest.raises(Conflict) as exists:
        create(repo, jobs)
    assert exists.value.code == "segment_exists"
    service.delete(repo, jobs, "pet-food", now=NOW, delay_seconds=120)
    with pytest.raises(Conflict) as deleting:
        create(repo, jobs)
    assert deleting.value.code == "segment_deleting"


def test_segment_id_outside_the_pattern_is_refused_by_the_request() -> None:
    with pytest.raises(ValueError, match="segment_id: 1 to 64 of a-z"):
        SegmentRequest.model_validate({"segment_id": "Pet Food", "name": "x", "rule": RULE})


def test_update_of_the_rule_is_a_new_version_backfilled_and_a_name_alone_keeps_the_version() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    create(repo, jobs)
    later = NOW + timedelta(hours=1)
    new_rule = {"country": "RU"}
    view = service.update(repo, jobs, "pet-food", SegmentChange(rule=new_rule), now=later, delay_seconds=120)
    assert (view.version, view.rule, view.updated_at, view.backfill.version) == (2, new_rule, later, 2)
    assert jobs.sent[-1] == (
        SegmentJob(job="backfill", segment_id="pet-food", incarnation="i1", version=2),
        120,
    )
    renamed = service.update(repo, jobs, "pet-food", SegmentChange(name="Pets"), now=later, delay_seconds=120)
    assert (renamed.version, renamed.name, len(jobs.sent)) == (2, "Pets", 2)
    saves = repo.saves
    same = service.update(
        repo, jobs, "pet-food", SegmentChange(name="Pets", rule=new_rule), now=later, delay_seconds=1
    )
    assert (same.version, repo.saves, len(jobs.sent)) == (2, saves, 2)


def test_update_of_an_unknown_segment_is_not_found_and_an_empty_change_is_refused() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    with pytest.raises(NotFound):
        service.update(repo, jobs, "nope", SegmentChange(name="x"), now=NOW, delay_seconds=0)
    create(repo, jobs)
    with pytest.raises(BadRequest, match=r"^body: a new rule, a new name, or both$"):
        service.update(repo, jobs, "pet-food", SegmentChange(), now=NOW, delay_seconds=0)
    with pytest.raises(BadRequest, match=r"^segment_id: differs from the id in the path$"):
        service.update(
            repo, jobs, "pet-food", SegmentChange(segment_id="other", name="x"), now=NOW, delay_seconds=0
        )


def test_get_shows_the_counted_size() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    create(repo, jobs)
    repo.counters["pet-food#i1"] = 7
    assert service.get(repo, "pet-food").size == 7
    assert [s.size for s in service.list_segments(repo).segments] == [7]


def test_members_pages_with_a_cursor_that_names_its_incarnation() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    create(repo, jobs)
    repo.members["pet-food#i1"] = [
        MemberRecord("pet-food", "i1", f"p{n}", NOW, 1, (), None, None) for n in range(3)
    ]
    first = service.members(repo, "pet-food", 2, None)
    assert first.profile_ids == ["p0", "p1"] and first.cursor is not None
    second = service.members(repo, "pet-food", 2, first.cursor)
    assert (second.profile_ids, second.cursor) == (["p2"], None)
    with pytest.raises(BadRequest, match=r"^cursor: not a cursor this API gave$"):
        service.members(repo, "pet-food", 2, "%%%")
    repo.stored["pet-food"] = repo.stored["pet-food"].model_copy(update={"incarnation": "i2"})
    with pytest.raises(BadRequest, match=r"^cursor: not a cursor of this segment$"):
        service.members(repo, "pet-food", 2, first.cursor)
    with pytest.raises(BadRequest, match=r"^limit: from 1 to 1000$"):
        service.members(repo, "pet-food", 0, None)


def test_delete_marks_deleting_sends_the_job_and_again_resends_it() -> None:
    repo, jobs = MemorySegments(), SentJobs()
    create(repo, jobs)
    view = service.delete(repo, jobs, "pet-food", now=NOW, delay_seconds=120)
    assert view.status is SegmentStatus.DELETING
    job = SegmentJob(job="delete", segment_id="pet-food", incarnation="i1")
    assert jobs.sent[-1] == (job, 120)
    service.delete(repo, jobs, "pet-food", now=NOW, delay_seconds=120)
    assert jobs.sent[-2:] == [(job, 120), (job, 120)]
    with pytest.raises(NotFound):
        service.members(repo, "pet-food", 10, None)
    with pytest.raises(NotFound):
        service.delete(repo, jobs, "Not An Id" * 20, now=NOW, delay_seconds=0)
