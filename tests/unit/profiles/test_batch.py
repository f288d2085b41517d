"""The batch processor (asusual.profiles.batch) on an in-memory repository: any way of cutting the
same events into batches, shuffled and duplicated, gives the same people as one event at a time;
each profile is written once per batch; a conflict or a failure on one profile concerns only its
own events."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.errors import Conflict
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.profiles.batch import (
    MAX_TRANSACTION_ITEMS,
    BatchOptions,
    GroupChange,
    Prefetched,
    TooManyWrites,
    group_events,
    process_batch,
)
from asusual.profiles.processor import read_profile
from asusual.profiles.view import TenurePolicy

from ..events import event
from .test_processor import STORY, MemoryRepo, _anna_ids, person, run

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=30)


class MemoryBatchRepo(MemoryRepo):
    """MemoryRepo with the batch's reads and its one write per group, under the same conditions."""

    def __init__(self):
        super().__init__()
        self.group_commits: list[GroupChange] = []
        self.reads = 0
        self.fail_next: set[str] = set()  # profile ids whose next group commit conflicts

    def prefetch(self, message_ids, identifiers):
        self.reads += 1
        return Prefetched(
            seen={m for m in message_ids if m in self.markers},
            claims={i: self.claims[i] for i in identifiers if i in self.claims},
        )

    def commit_group(self, group: GroupChange):
        if conflicted := self.fail_next & set(group.profiles):
            self.fail_next -= conflicted
            raise Conflict("a concurrent write")
        for profile_id, (_, expected) in group.profiles.items():
            current = self.profiles.get(profile_id)
            if (current.version if current is not None else None) != expected:
                raise Conflict("version")
        claims = [(i, c.profile.profile_id) for c in group.changes for i in c.claims]
        if any(i in self.claims for i, _ in claims):
            raise Conflict("claimed")
        for profile_id, (profile, _) in group.profiles.items():
            self.profiles[profile_id] = profile
        self.claims.update(dict(claims))
        for change in group.changes:
            self.merges += change.merges
        self.group_commits.append(group)

    def owners(self, identifiers):
        self.reads += 1
        return super().owners(identifiers)

    def load(self, profile_ids):
        self.reads += 1
        return super().load(profile_ids)

    def peek(self, profile_ids):
        return self.load(profile_ids)

    def suppressed_among(self, identifiers):
        self.reads += 1 if identifiers else 0
        return {i for i in identifiers if i in self.suppressions}

    def mark_all_seen(self, message_ids, expires_at):
        for m in message_ids:
            self.markers.setdefault(m, expires_at)


def remembered(e):
    return e.type != "page"


def options(**overrides):
    return BatchOptions(now=NOW, dedupe_window=WINDOW, remembered=remembered, **overrides)


def in_batches(events, sizes):
    repo = MemoryBatchRepo()
    start = 0
    for size in sizes:
        process_batch(events[start : start + size], repo, IdentityPolicy(), options())
        start += size
    if start < len(events):
        process_batch(events[start:], repo, IdentityPolicy(), options())
    return repo


@settings(max_examples=150, deadline=None)
@given(
    st.permutations(STORY),
    st.lists(st.sampled_from(STORY), max_size=6),
    st.lists(st.integers(min_value=1, max_value=6), max_size=6),
)
def test_batches_of_any_size_order_and_duplicates_give_the_same_people_as_one_at_a_time(
    order, duplicates, sizes
):
    expected, actual = run(STORY), in_batches([*order, *duplicates], sizes)
    for kind, value in [("user_id", "u-1"), ("phone", "+79030001122")]:
        assert person(actual, kind, value) == person(expected, kind, value)
    anna = {read_profile(actual, i, TenurePolicy()).profile_id for i in _anna_ids()}
    assert len(anna) == 1


def visit(user: str, start: int) -> list:
    return [
        event("page", minutes=start + n, message_id=f"{user}-p{n}", user_id=user, anonymous_id=f"a-{user}")
        for n in range(5)
    ]


def test_a_visit_of_five_pages_in_one_batch_writes_its_profile_once_and_keeps_no_marker():
    repo = in_batches([event(message_id="sign-up", user_id="u-1", traits={"email": "a@example.com"})], [1])
    before = repo.profiles[repo.claims[Identifier(kind="user_id", value="u-1")]]
    repo.group_commits.clear()
    process_batch(visit("u-1", 10), repo, IdentityPolicy(), options())
    [group] = repo.group_commits
    [(profile, expected)] = group.profiles.values()
    assert expected == before.version and profile.version == before.version + 5
    assert not any(m.startswith("u-1-p") for m in repo.markers)
    assert profile.state().last_seen == visit("u-1", 10)[-1].timestamp


def test_a_batch_of_twenty_customers_reads_once_for_all_and_writes_each_profile_once():
    sign_ups = [
        event(message_id=f"s{n}", user_id=f"u-{n}", traits={"email": f"c{n}@example.com"}) for n in range(20)
    ]
    repo = in_batches(sign_ups, [20])
    assert repo.reads == 2 and len(repo.group_commits) == 20  # claims, then suppressions: once each
    repo.group_commits.clear()
    repo.reads = 0
    visits = [e for n in range(20) for e in visit(f"u-{n}", 10)]
    process_batch(visits[::-1], repo, IdentityPolicy(), options())
    # claims and markers, the profiles, the new anonymous ids' suppressions: once each, for all
    assert repo.reads == 3
    assert sorted(len(g.changes) for g in repo.group_commits) == [5] * 20


def test_a_conflict_on_one_profile_folds_only_that_profile_again():
    sign_ups = [event(message_id=f"s{n}", user_id=f"u-{n}") for n in range(3)]
    repo = in_batches(sign_ups, [3])
    anna = repo.claims[Identifier(kind="user_id", value="u-0")]
    repo.fail_next = {anna}
    repo.group_commits.clear()
    applied = process_batch(
        [e for n in range(3) for e in visit(f"u-{n}", 10)], repo, IdentityPolicy(), options()
    )
    assert all(a.error is None and a.outcome is not None for a in applied)
    assert sorted(next(iter(g.profiles)) == anna for g in repo.group_commits) == [False, False, True]
    assert repo.profiles[anna].version == 1 + 5


def test_a_failing_profile_fails_only_its_own_events():
    repo = in_batches([event(message_id=f"s{n}", user_id=f"u-{n}") for n in range(2)], [2])

    def boom(e, outcome):
        if e.user_id == "u-0":
            raise RuntimeError("a trigger failed")

    applied = process_batch(
        [*visit("u-0", 10), *visit("u-1", 10)], repo, IdentityPolicy(), options(), on_applied=boom
    )
    failed = {a.event.message_id for a in applied if a.error is not None}
    assert failed == {f"u-0-p{n}" for n in range(5)}
    assert all(a.outcome is not None for a in applied if a.event.user_id == "u-1")


def test_events_of_a_remembered_kind_are_marked_and_skipped_when_delivered_again():
    identify = event(message_id="i1", user_id="u-1", traits={"firstName": "Анна"})
    repo = in_batches([identify], [1])
    assert "i1" in repo.markers
    [again] = process_batch([identify], repo, IdentityPolicy(), options())
    assert again.outcome.duplicate


def test_a_duplicate_within_one_batch_is_applied_once():
    identify = event(message_id="i1", user_id="u-1", traits={"firstName": "Анна"})
    applied = process_batch([identify, identify], MemoryBatchRepo(), IdentityPolicy(), options())
    assert [a.outcome.duplicate for a in applied] == [False, True]


def test_a_group_too_large_for_one_transaction_is_applied_event_by_event():
    class Small(MemoryBatchRepo):
        def commit_group(self, group):
            raise TooManyWrites(f"more than {MAX_TRANSACTION_ITEMS}")

    repo = Small()
    sign_up = event(message_id="s", user_id="u-1", traits={"email": "a@example.com"})
    applied = process_batch([sign_up, *visit("u-1", 10)], repo, IdentityPolicy(), options())
    assert all(a.error is None for a in applied)
    assert repo.profiles[repo.claims[Identifier(kind="user_id", value="u-1")]].version == 6


def test_grouping_joins_events_that_share_an_identifier_or_a_profile():
    a, b, c, d = (Identifier(kind="user_id", value=v) for v in "abcd")
    owners = {a: "P1", c: "P1"}
    e = event(message_id="x")
    groups = group_events([(e, [a]), (e, [b]), (e, [c]), (e, [b, d]), (e, [])], owners.get)
    assert sorted(groups) == [[0, 2], [1, 3], [4]]


def test_an_erased_persons_identifier_drops_its_event_and_no_other_in_the_batch():
    repo = MemoryBatchRepo()
    repo.suppressions = {Identifier(kind="email", value="gone@example.com")}
    gone = event(message_id="g", user_id="u-9", traits={"email": "gone@example.com"})
    fine = event(message_id="f", user_id="u-1", traits={"email": "fine@example.com"})
    applied = process_batch([gone, fine], repo, IdentityPolicy(), options())
    assert [(a.outcome.suppressed, a.outcome.profile_id is not None) for a in applied] == [
        (True, False),
        (False, True),
    ]
    assert Identifier(kind="user_id", value="u-9") not in repo.claims
    assert repo.reads == 2  # the batch's claims and markers; the unclaimed identifiers' suppressions


def test_a_failed_marker_write_returns_only_the_remembered_events_to_the_queue():
    class Unmarkable(MemoryBatchRepo):
        def mark_all_seen(self, message_ids, expires_at):
            raise RuntimeError("the data store is unavailable")

    repo = Unmarkable()
    identify = event(message_id="i1", user_id="u-1", traits={"firstName": "Анна"})
    applied = process_batch([identify, *visit("u-1", 10)], repo, IdentityPolicy(), options())
    assert [a.event.message_id for a in applied if a.error is not None] == ["i1"]
    assert len(repo.group_commits) == 1  # the profile was written, once, before the markers failed


def test_a_stale_first_read_of_a_profile_costs_a_conflict_and_loses_nothing():
    repo = in_batches([event(message_id="s", user_id="u-1", traits={"firstName": "Анна"})], [1])
    stale = dict(repo.profiles)  # what an eventually consistent read may still answer
    process_batch(
        [event(message_id="i2", minutes=1, user_id="u-1", traits={"lastName": "Иванова"})],
        repo,
        IdentityPolicy(),
        options(),
    )
    repo.peek = lambda ids: {p: stale[p] for p in ids if p in stale}
    process_batch(
        [event(message_id="i3", minutes=2, user_id="u-1", traits={"phone": "+7 916 123-45-67"})],
        repo,
        IdentityPolicy(),
        options(),
    )
    anna = read_profile(repo, Identifier(kind="user_id", value="u-1"), TenurePolicy())
    assert (anna.first_name, anna.last_name, anna.phone) == ("Анна", "Иванова", "+79161234567")
