"""The processor's guarantees on an in-memory repository: any delivery order of the same events,
with duplicates, gives the same person — identity resolution and merges included."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.errors import Conflict
from asusual.identity.models import IdentityPolicy
from asusual.profiles.processor import ProfileChange, live_profiles, process_event, read_profile, unmerge
from asusual.profiles.view import TenurePolicy

from ..events import event

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=30)


class MemoryRepo:
    """ProfileRepository in memory, with the same conditions as the DynamoDB one."""

    def __init__(self):
        self.markers, self.claims, self.profiles, self.merges = {}, {}, {}, []
        self.suppressions: set = set()

    def seen(self, message_id):
        return message_id in self.markers

    def mark_seen(self, message_id, expires_at):
        if message_id in self.markers:
            return False
        self.markers[message_id] = expires_at
        return True

    def owners(self, identifiers):
        return {i: self.claims[i] for i in identifiers if i in self.claims}

    def suppressed(self, identifiers):
        return any(i in self.suppressions for i in identifiers)

    def load(self, profile_ids):
        return {p: self.profiles[p] for p in profile_ids if p in self.profiles}

    def commit(self, change: ProfileChange):
        for profile, expected in [(change.profile, change.expected_version), *change.replaced]:
            current = self.profiles.get(profile.profile_id)
            if (expected is None and current is not None) or (
                expected is not None and current.version != expected
            ):
                raise Conflict("version")
        if any(i in self.claims for i in change.claims):
            raise Conflict("claimed")
        for profile, _ in [(change.profile, None), *change.replaced]:
            self.profiles[profile.profile_id] = profile
        self.claims.update({i: change.profile.profile_id for i in change.claims})
        self.merges += change.merges

    def repoint(self, identifiers, from_profile, to_profile):
        for i in identifiers:
            if self.claims.get(i) == from_profile:
                self.claims[i] = to_profile


STORY = [
    event("page", minutes=0, message_id="e0", anonymous_id="anon-1", name="Cat food"),
    event(
        minutes=1,
        message_id="e1",
        user_id="u-1",
        anonymous_id="anon-1",
        traits={"email": "anna@example.com", "firstName": "Анна", "phone": "+7 916 123-45-67"},
    ),
    event(
        "track",
        source="store",
        minutes=2,
        message_id="e2",
        anonymous_id="pos-terminal-3",
        event="Order Completed",
        context={"traits": {"phone": "8 (916) 123-45-67"}},
        properties={"order_id": "R-1", "total": 1290, "currency": "RUB"},
    ),
    event(
        "page",
        source="email",
        minutes=3,
        message_id="e3",
        anonymous_id="anon-2",
        context={"traits": {"email": "Anna@Example.com"}},
    ),
    event(minutes=4, message_id="e4", user_id="u-1", traits={"firstName": "Аня", "preferred_channel": "sms"}),
    event(
        "track",
        source="store",
        minutes=5,
        message_id="e5",
        anonymous_id="pos-terminal-3",
        event="Order Completed",
        context={"traits": {"phone": "8 (903) 000-11-22"}},
        properties={"order_id": "R-2", "total": 50, "currency": "RUB"},
    ),
]


def run(events):
    repo = MemoryRepo()
    for e in events:
        process_event(e, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    return repo


def person(repo, kind, value):
    from asusual.identity.models import Identifier

    view = read_profile(repo, Identifier(kind=kind, value=value), TenurePolicy())
    return view.model_dump(exclude={"profile_id"})


@settings(max_examples=150, deadline=None)
@given(st.permutations(STORY), st.lists(st.sampled_from(STORY), max_size=6))
def test_any_delivery_order_with_duplicates_gives_the_same_people(order, duplicates):
    expected, actual = run(STORY), run([*order, *duplicates])
    for kind, value in [("user_id", "u-1"), ("phone", "+79030001122")]:
        assert person(actual, kind, value) == person(expected, kind, value)
    anna = person(actual, "user_id", "u-1")
    assert anna["first_name"] == "Аня" and anna["tenure"]["order_count"] == 1
    assert anna["channels"] == ["email", "store", "web"]
    ids = {read_profile(actual, i, TenurePolicy()).profile_id for i in _anna_ids()}
    assert len(ids) == 1  # every identifier of Anna finds the same profile


def _anna_ids():
    from asusual.identity.models import Identifier

    return [
        Identifier(kind="user_id", value="u-1"),
        Identifier(kind="anonymous_id", value="anon-1"),
        Identifier(kind="anonymous_id", value="anon-2"),
        Identifier(kind="email", value="anna@example.com"),
        Identifier(kind="phone", value="+79161234567"),
    ]


def test_a_duplicate_message_is_a_no_op_even_if_its_marker_was_lost():
    repo = run(STORY)
    snapshot = dict(repo.profiles)
    repo.markers.clear()  # the function died after committing, before marking
    outcome = process_event(STORY[1], repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    assert outcome.unchanged and repo.profiles == snapshot


MERGING = [
    event(minutes=0, message_id="m0", user_id="u-1", traits={"email": "anna@example.com"}),
    event("page", minutes=1, message_id="m1", anonymous_id="anon-1", context={"locale": "en-GB"}),
    event(minutes=2, message_id="e1", user_id="u-1", anonymous_id="anon-1"),
]


def test_merges_are_recorded_with_event_and_identifiers():
    repo = run(MERGING)
    [record] = repo.merges
    assert record.message_id == "e1" and record.event_time == MERGING[2].timestamp
    assert {str(i) for i in record.identifiers} >= {"user_id:u-1", "anonymous_id:anon-1"}


def test_unmerge_then_relink_keeps_them_apart():
    repo = run(MERGING)
    survivor = read_profile(repo, _anna_ids()[0], TenurePolicy()).profile_id
    absorbed = repo.merges[0].absorbed_id
    unmerge(repo, survivor, absorbed, now=NOW)
    live = live_profiles(repo, {survivor, absorbed})
    assert live[survivor].profile_id != live[absorbed].profile_id
    process_event(
        event(minutes=9, message_id="e9", user_id="u-1", anonymous_id="anon-1"),
        repo,
        IdentityPolicy(),
        now=NOW,
        dedupe_window=WINDOW,
    )
    assert repo.claims[_anna_ids()[1]] == absorbed
    before = dict(repo.profiles), dict(repo.claims)
    assert unmerge(repo, survivor, absorbed, now=NOW) == (survivor, absorbed)  # idempotent
    assert (dict(repo.profiles), dict(repo.claims)) == before


def test_event_with_only_shared_device_ids_makes_no_orphan_profile_and_is_marked():
    repo = MemoryRepo()
    lonely = event(
        "track",
        source="store",
        message_id="t1",
        anonymous_id="pos-terminal-3",
        event="Order Completed",
        properties={"order_id": "R-9"},
    )
    outcome = process_event(lonely, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    assert outcome.unattributed and outcome.profile_id is None
    assert repo.profiles == {} and repo.claims == {} and "t1" in repo.markers


def test_unmerge_interrupted_before_repointing_is_finished_by_calling_it_again():
    after = event(
        "page", minutes=3, message_id="m3", anonymous_id="anon-1", context={"device": {"id": "dev-2"}}
    )
    repo = run([*MERGING, after])
    survivor = read_profile(repo, _anna_ids()[0], TenurePolicy()).profile_id
    absorbed = repo.merges[0].absorbed_id
    from asusual.identity.models import Identifier

    device = Identifier(kind="device_id", value="dev-2")
    assert repo.claims[device] == survivor  # claimed after the merge, by the survivor

    def crash(*_args):
        raise RuntimeError("the function died")

    real_repoint, repo.repoint = repo.repoint, crash
    with pytest.raises(RuntimeError):
        unmerge(repo, survivor, absorbed, now=NOW)
    repo.repoint = real_repoint
    assert unmerge(repo, survivor, absorbed, now=NOW) == (survivor, absorbed)
    assert repo.claims[device] == absorbed
    assert read_profile(repo, device, TenurePolicy()).profile_id == absorbed
