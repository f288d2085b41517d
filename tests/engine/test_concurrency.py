"""No lost update on the real engine: events applied to one profile at the same time are all kept.

The event processor loads a profile, computes the change and commits it conditional on the
version it loaded (a lone PutItem when only the profile changes, TransactWriteItems when the event
also claims an identifier); a Conflict reloads and retries. Only an engine whose conditions are
atomic can prove that: moto checks a condition and writes without a lock, so two threads can both
pass ``version = :expected`` there (tests/integration/test_profiles.py forces its collision one
request at a time instead). Here DynamoDB Local takes the requests of eight threads at once.

Every round forces the collision: the eight events of a round all read the profile before any of
them commits, so one commit wins and seven must fail their condition, reload and retry (the
retries then race each other freely). The verdict is the same every run: with atomic conditions
nothing can be lost and the seven conflicts must happen; a second commit on one version would show
as a missing trait or claim and as a version that advanced fewer than eight times."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from asusual.errors import Conflict
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileChange, process_event
from asusual.store.profiles import DynamoProfileRepository
from tests.engine.events import Rendezvous, concurrently

pytestmark = pytest.mark.slow

ROUNDS = 50
WRITERS = 8  # events per round on one profile: even ones add a trait, odd ones also claim an identifier
WINDOW = timedelta(days=30)
SOURCE = SourceContext(source_id="web_local", channel="web", country="RU")


class Colliding(DynamoProfileRepository):
    """The first load of each of a round's events waits for the others' (all read one version);
    counts the commits and conflicts of each write path."""

    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__(client, table_name)
        self._lock = threading.Lock()
        self.new_round()

    def new_round(self) -> None:
        self.all_read = Rendezvous(parties=WRITERS)
        self.first_reads: list[dict[str, int]] = []
        self.commits: Counter[str] = Counter()
        self.conflicts: Counter[str] = Counter()

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        loaded = super().load(profile_ids)
        with self._lock:
            first = len(self.first_reads) < WRITERS  # no event loads twice before all loaded once
            if first:
                self.first_reads.append({p.profile_id: p.version for p in loaded.values()})
        if first:
            self.all_read.meet()
        return loaded

    def commit(self, change: ProfileChange) -> None:
        path = "transaction" if change.claims else "put"  # the profile alone: a conditional PutItem
        try:
            super().commit(change)
        except Conflict:
            with self._lock:
                self.conflicts[path] += 1
            raise
        with self._lock:
            self.commits[path] += 1


def event(message_id: str, user: str, now: datetime, **fields: Any) -> IntakeEvent:
    return IntakeEvent(
        message_id=message_id,
        type=EventType.IDENTIFY,
        source=SOURCE,
        user_id=user,
        timestamp=now,
        received_at=now,
        **fields,
    )


def warmed(ddb: Any, table: str) -> tuple[DynamoProfileRepository, Colliding, IdentityPolicy]:
    """A plain repository, a colliding one and the policy. First uses happen here, not in eight
    threads at once: botocore builds a client's exception classes on first use, unguarded (threads
    raising at once before that may each get classes of their own, and `except client.exceptions.X`
    then misses), and a repository may read what it needs (keys) on the first call that needs it."""
    repo = Colliding(ddb, table)
    _ = ddb.exceptions
    assert repo.suppressed([Identifier(kind="anonymous_id", value="warm-up")]) is False
    return DynamoProfileRepository(ddb, table), repo, IdentityPolicy()


def test_eight_events_at_once_on_one_profile_lose_no_update_in_any_of_fifty_rounds(engine, ddb, table, calls):
    now = engine.clock.now()
    plain, repo, policy = warmed(ddb, table)

    def apply(e: IntakeEvent) -> Any:
        return lambda: process_event(e, repo, policy, now=now, dedupe_window=WINDOW)

    for r in range(ROUNDS):
        user = f"u-{r}"
        pid = process_event(
            event(f"create-{r}", user, now), plain, policy, now=now, dedupe_window=WINDOW
        ).profile_id
        assert pid is not None
        before = plain.load({pid})[pid].version
        repo.new_round()
        events = [
            event(
                f"e-{r}-{n}",
                user,
                now,
                traits={f"trait_{n}": n},
                anonymous_id=f"anon-{r}-{n}" if n % 2 else None,
            )
            for n in range(WRITERS)
        ]

        outcomes = concurrently(*(apply(e) for e in events))

        context = f"round {r}: commits {dict(repo.commits)}, conflicts {dict(repo.conflicts)}"
        assert [o.profile_id for o in outcomes] == [pid] * WRITERS, context
        assert repo.all_read.met and repo.first_reads == [{pid: before}] * WRITERS, context
        after = plain.load({pid})[pid]
        missing = {f"trait_{n}" for n in range(WRITERS)} - set(after.state().traits)
        claims = [Identifier(kind="anonymous_id", value=f"anon-{r}-{n}") for n in range(1, WRITERS, 2)]
        unclaimed = {i.value for i in claims if plain.owners([i]).get(i) != pid} | {
            i.value for i in claims if i not in after.identifiers()
        }
        assert not missing and not unclaimed, f"{context}: lost {sorted(missing | unclaimed)}"
        # each event advanced the version once, on the version the one before it wrote
        assert after.version == before + WRITERS, context
        # all eight read one version: one commit won, the other seven (at least three of each path)
        # failed their condition and retried
        assert repo.conflicts["put"] >= 3 and repo.conflicts["transaction"] >= 3, context
        assert sum(repo.conflicts.values()) >= WRITERS - 1, context

    profile_puts = [
        c for c in calls if c["op"] == "PutItem" and c["params"]["Item"]["pk"]["S"].startswith("PROFILE#")
    ]
    transactions = [
        c
        for c in calls
        if c["op"] == "TransactWriteItems"
        and any(
            i.get("Put", {}).get("ConditionExpression") == "version = :expected"
            for i in c["params"]["TransactItems"]
        )
    ]
    # both write paths ran, conditional on the version, at least once per event of theirs
    assert all(c["params"]["ConditionExpression"] == "version = :expected" for c in profile_puts)
    assert len(profile_puts) >= ROUNDS * WRITERS // 2 and len(transactions) >= ROUNDS * WRITERS // 2


PAGES = SourceContext(source_id="browser_local", channel="web", country="RU", public=True)
TIE_ROUNDS = 10


def test_vouched_and_unsigned_browsers_applied_at_once_tie_exactly_the_vouched_ones(engine, ddb, table):
    """A shop's backend names four of a customer's browsers while somebody's pages claim her user id
    for four others, all at the same moment: every browser lands in her profile, only the four the
    backend vouched for are tied to her (the one a page may greet by name), whatever wins the race."""
    now = engine.clock.now()
    plain, repo, policy = warmed(ddb, table)
    for r in range(TIE_ROUNDS):
        user = f"u-tie-{r}"
        pid = process_event(
            event(f"tie-create-{r}", user, now), plain, policy, now=now, dedupe_window=WINDOW
        ).profile_id
        repo.new_round()
        events = [
            event(f"tie-{r}-{n}", user, now, anonymous_id=f"anon-tie-{r}-{n}").model_copy(
                update={} if n % 2 == 0 else {"source": PAGES}  # odd: a page's unsigned claim
            )
            for n in range(WRITERS)
        ]
        concurrently(
            *(lambda e=e: process_event(e, repo, policy, now=now, dedupe_window=WINDOW) for e in events)
        )
        after = plain.load({pid})[pid]
        held = {f"anon-tie-{r}-{n}": after.ties(f"anon-tie-{r}-{n}") for n in range(WRITERS)}
        assert held == {f"anon-tie-{r}-{n}": n % 2 == 0 for n in range(WRITERS)}, f"round {r}"
        assert repo.conflicts["transaction"] >= 3, f"round {r}: the events did collide"
