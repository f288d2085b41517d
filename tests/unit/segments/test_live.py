"""Live membership: what one profile's write adds for its segments (asusual.segments.live)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asusual.profiles.derived import MemberKey, MemberRecord, SegmentWrites, shard_of
from asusual.profiles.model import Profile, SegmentMark
from asusual.profiles.state import ProfileState, Stamped
from asusual.segments.live import CachedDefinitions, LiveMembership, definitions_changed, refresh
from asusual.segments.models import Backfill, Segment, SegmentStatus
from tests.unit.segments.fakes import TraitEvaluator

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=120)


def segment(
    segment_id: str = "gold", *, version: int = 1, incarnation: str = "i1", **changes: object
) -> Segment:
    return Segment(
        segment_id=segment_id,
        name=segment_id,
        rule={"trait": "tier", "eq": segment_id},
        version=version,
        incarnation=incarnation,
        created_at=NOW,
        updated_at=NOW,
        backfill=Backfill(version=version),
        **changes,
    )


def person(
    tier: str | None, *, marks: dict[str, SegmentMark] | None = None, version: int = 1, **more: object
) -> Profile:
    traits = {"tier": Stamped(value=tier, at=NOW, msg="m1")} if tier else {}
    traits["address"] = Stamped(value={"country": "RU"}, at=NOW, msg="m1")
    traits["timezone"] = Stamped(value="Europe/Moscow", at=NOW, msg="m1")
    traits["locale"] = Stamped(value="ru", at=NOW, msg="m1")
    return Profile(
        profile_id="p1",
        version=version,
        created_at=NOW,
        parts={"p1": ProfileState(traits=traits)},
        segments=marks or {},
        **more,
    )


def hook(*segments: Segment, evaluator: TraitEvaluator | None = None) -> LiveMembership:
    return LiveMembership(
        lambda: list(segments), evaluator or TraitEvaluator(), default_country="RU", grace=GRACE
    )


def mark(
    since: datetime = NOW, *, version: int = 1, incarnation: str = "i1", tier: str = "gold"
) -> SegmentMark:
    return SegmentMark(incarnation=incarnation, version=version, since=since)


def test_hook_a_profile_the_rule_now_holds_for_enters_with_its_membership_counter_and_mark() -> None:
    derived = hook(segment())(person("gold"), None, [], NOW)
    assert derived.profile.segments == {"gold": mark()}
    assert derived.writes.put == [MemberRecord("gold", "i1", "p1", NOW, 1, ("Europe/Moscow",), "RU", "ru")]
    assert derived.writes.counts == {shard_of("p1"): {"gold#i1": 1}}
    assert derived.writes.delete == []


def test_hook_a_member_the_rule_no_longer_holds_for_leaves_its_item_and_count() -> None:
    before = person("gold", marks={"gold": mark()})
    derived = hook(segment())(person("silver", marks={"gold": mark()}), before, [], NOW)
    assert derived.profile.segments == {}
    assert derived.writes.delete == [MemberKey("gold", "i1", "p1")]
    assert derived.writes.counts == {shard_of("p1"): {"gold#i1": -1}}


def test_hook_a_member_who_stays_keeps_her_since_and_writes_nothing() -> None:
    earlier = NOW - timedelta(days=3)
    before = person("gold", marks={"gold": mark(earlier)})
    derived = hook(segment())(before, before, [], NOW)
    assert derived.profile.segments == {"gold": mark(earlier)}
    assert not derived.writes


def test_hook_a_member_under_a_new_rule_version_gets_her_item_rewritten_but_not_counted_again() -> None:
    before = person("gold", marks={"gold": mark(version=1)})
    derived = hook(segment(version=2))(before, before, [], NOW)
    assert derived.profile.segments["gold"].version == 2
    assert [r.rule_version for r in derived.writes.put] == [2]
    assert derived.writes.counts == {}


def test_hook_a_member_whose_zone_changed_gets_her_item_rewritten() -> None:
    before = person("gold", marks={"gold": mark()})
    after_state = before.parts["p1"].model_copy(
        update={
            "traits": {
                **before.parts["p1"].traits,
                "timezone": Stamped(value="Asia/Vladivostok", at=NOW, msg="m2"),
            }
        }
    )
    after = before.model_copy(update={"parts": {"p1": after_state}})
    derived = hook(segment())(after, before, [], NOW)
    assert [r.zones for r in derived.writes.put] == [("Asia/Vladivostok",)]
    assert derived.writes.counts == {}


def test_hook_a_mark_of_a_segment_the_cache_does_not_know_yet_is_kept_within_the_grace() -> None:
    fresh = person(None, marks={"new": mark(NOW - GRACE + timedelta(seconds=1), tier="new")})
    assert set(hook(segment())(fresh, fresh, [], NOW).profile.segments) == {"new"}
    old = person(None, marks={"new": mark(NOW - GRACE - timedelta(seconds=1), tier="new")})
    derived = hook(segment())(old, old, [], NOW)
    assert derived.profile.segments == {}
    assert not derived.writes  # its items went with the segment


def test_hook_a_mark_of_a_deleting_segment_or_an_older_incarnation_is_dropped_without_writes() -> None:
    deleting = segment(status=SegmentStatus.DELETING)
    p = person("gold", marks={"gold": mark()})
    assert hook(deleting)(p, p, [], NOW).profile.segments == {}
    derived = hook(segment(incarnation="i2"))(p, p, [], NOW)
    assert derived.profile.segments == {"gold": mark(incarnation="i2")}
    assert derived.writes.counts == {shard_of("p1"): {"gold#i2": 1}}  # a new segment: counted anew
    assert derived.writes.delete == []


def test_hook_due_is_the_earliest_change_rounded_up_to_the_second_and_removed_when_none() -> None:
    later = NOW + timedelta(days=90, microseconds=5)
    derived = hook(segment(), evaluator=TraitEvaluator(changes_at=later))(person("gold"), None, [], NOW)
    rounded = (NOW + timedelta(days=90, seconds=1)).replace(microsecond=0)
    assert derived.profile.segments_due == rounded
    assert derived.writes.due == {"p1": rounded}
    due = person("gold", marks={"gold": mark()}, segments_due=rounded)
    assert hook(segment())(due, due, [], NOW).writes.due == {"p1": None}


def test_hook_a_profile_merged_away_leaves_every_live_segment_on_its_own_shard() -> None:
    survivor = person(None)
    absorbed = Profile(
        profile_id="p9",
        version=3,
        created_at=NOW,
        merged_into="p1",
        segments={"gold": mark()},
        segments_due=NOW + timedelta(days=1),
    )
    derived = hook(segment())(survivor, survivor, [absorbed], NOW)
    assert derived.absorbed[0].segments == {} and derived.absorbed[0].segments_due is None
    assert derived.writes.delete == [MemberKey("gold", "i1", "p9")]
    assert derived.writes.counts == {shard_of("p9"): {"gold#i1": -1}}
    assert derived.writes.due == {"p9": None}


def test_segment_writes_counts_cancel_out_and_merge() -> None:
    writes = SegmentWrites()
    writes.count("p1", "a#1", 1)
    writes.count("p1", "a#1", -1)
    assert writes.counts == {} and not writes
    other = SegmentWrites()
    other.count("p1", "b#1", 1)
    writes.extend(other)
    assert writes.counts == {shard_of("p1"): {"b#1": 1}}


def test_cached_definitions_read_once_per_ttl() -> None:
    reads: list[int] = []
    clock = [0.0]

    def read() -> list[Segment]:
        reads.append(1)
        return [segment()]

    cached = CachedDefinitions(read, timedelta(seconds=60), monotonic=lambda: clock[0])
    assert cached.live() == {"gold": "i1"}
    clock[0] = 59.0
    cached()
    assert len(reads) == 1
    clock[0] = 60.0
    cached()
    assert len(reads) == 2


def test_cached_definitions_changed_in_this_process_are_read_again_at_once() -> None:
    reads: list[int] = []

    def read() -> list[Segment]:
        reads.append(1)
        return [segment()]

    cached = CachedDefinitions(read, timedelta(seconds=60), monotonic=lambda: 0.0)
    cached()
    cached()
    assert len(reads) == 1
    definitions_changed()
    cached()
    cached()
    assert len(reads) == 2


class Store:
    def __init__(self, *profiles: Profile) -> None:
        self.profiles = {p.profile_id: p for p in profiles}
        self.commits: list = []

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        return {i: self.profiles[i] for i in profile_ids if i in self.profiles}

    def commit(self, change) -> None:
        self.commits.append(change)


def test_refresh_commits_only_changed_profiles_with_the_version_bumped_and_listed() -> None:
    member, other = person("gold"), person("silver").model_copy(update={"profile_id": "p2", "listed": True})
    store = Store(member, other)
    report = refresh(store, ["p1", "p2", "p3"], hook(segment()), NOW)
    assert (report.read, report.written) == (2, 1)
    [change] = store.commits
    assert (change.profile.version, change.expected_version, change.listed) == (2, 1, ["p1"])
    assert change.profile.listed and change.profile.segments == {"gold": mark()}
