"""The event processor's batch: the events of one SQS batch applied together, each profile
written once (docs/performance.md c).

1. **Read once.** The markers of the events that keep one (``remembered``; strongly consistent)
   and the claims of every identifier the batch names are read in as few BatchGetItem calls as
   DynamoDB allows (100 keys each), then every profile they name, following merges. Claims and
   profiles are read eventually consistent (half the read units): every write made from them is
   conditional, so a stale read costs a conflict and a consistent re-read of that group only.
2. **Group.** Events that share an identifier, or whose identifiers belong to the same profile,
   form a group: whatever one of them does (create, merge, attach) can only touch its group's
   profiles. Groups are independent of each other.
3. **Fold.** A group's events are applied in event-time order (then messageId) by the same rules
   as one event alone (``asusual.profiles.processor.apply_event``), against the group's profiles in
   memory; each step's outcome is what that event alone would have produced on the profile as
   the earlier events left it.
4. **Write once.** The group's profiles are written in one conditional write (a PutItem when one
   profile alone changed, else one transaction with its claims, merge records, consent records,
   birthday entries, segment memberships and directory entries), conditional on the versions read
   in step 1. A conflict (a concurrent invocation wrote one of them) reads that group again and
   folds it again; other groups are not touched. A group whose writes do not fit one transaction
   (100 items) is applied event by event instead (``process_event``).
5. **Then** each event's triggers run (``on_applied``, in the order the events arrived in the
   batch: the order state machine's "late" is about arrival), and the markers of the events that
   keep one are written (BatchWriteItem).

A group that fails (too many conflicts, an error) fails only its own messages: the caller returns
them to the queue (partial batch failure); the profile join and the triggers are idempotent, so
the group's redelivery changes nothing that was already done.

Events without a marker (``remembered`` false: page, screen, a product view...) are applied again
when redelivered: the join leaves the profile unchanged (no write) and their triggers are
conditional. An event with a marker is skipped when its marker exists, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from asusual.errors import Conflict, TransientError
from asusual.identity.extract import extract
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.intake.models import IntakeEvent
from asusual.profiles.derived import SegmentHook, SegmentWrites
from asusual.profiles.model import Profile
from asusual.profiles.processor import (
    MAX_ATTEMPTS,
    OnApplied,
    Outcome,
    ProfileChange,
    ProfileRepository,
    Suppressed,
    apply_event,
    live_profiles,
    process_event,
)

MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems' limit


class TooManyWrites(Exception):
    """A group's writes do not fit one transaction."""


class BatchProfileRepository(ProfileRepository, Protocol):
    def prefetch(self, message_ids: Sequence[str], identifiers: Sequence[Identifier]) -> Prefetched:
        """The markers that exist among ``message_ids`` and the claims of ``identifiers``, read
        together (strongly consistent)."""
        ...

    def commit_group(self, group: GroupChange) -> None:
        """All of the group's writes at once; Conflict when a condition fails, TooManyWrites when
        they do not fit one transaction."""
        ...

    def mark_all_seen(self, message_ids: Sequence[str], expires_at: datetime) -> None: ...

    def suppressed_among(self, identifiers: Sequence[Identifier]) -> set[Identifier]:
        """Those of ``identifiers`` that belonged to an erased person (one read for all)."""
        ...

    def peek(self, profile_ids: set[str]) -> dict[str, Profile]:
        """``load``, eventually consistent: every write the batch makes from it is conditional."""
        ...


@dataclass
class Prefetched:
    seen: set[str] = field(default_factory=set)
    claims: dict[Identifier, str] = field(default_factory=dict)


@dataclass
class GroupChange:
    """What one group's fold writes: every profile it touched (its content after the group, and
    the version the table held, None for a profile the group created), and the changes' other
    items in the order the events made them."""

    profiles: dict[str, tuple[Profile, int | None]] = field(default_factory=dict)
    changes: list[ProfileChange] = field(default_factory=list)
    segments: SegmentWrites = field(default_factory=SegmentWrites)


@dataclass
class Applied:
    """One event of the batch, after its group was written: its outcome, or why it failed."""

    event: IntakeEvent
    outcome: Outcome | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Read:
    """What the batch read for a group: claims (to live profile ids), those profiles, and the
    group's identifiers nobody claimed then."""

    claims: dict[Identifier, str] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    unclaimed: frozenset[Identifier] = frozenset()


class _Fold:
    """A ProfileRepository over a group's profiles in memory: reads come from what the batch read
    (anything else is read from the table and kept), commits are kept, not written."""

    def __init__(self, repo: ProfileRepository, read: _Read, suppressed: set[Identifier]):
        self._repo = repo
        self._claims = dict(read.claims)
        self._unclaimed = set(read.unclaimed)  # read already: nobody claimed them then
        self._suppressed = suppressed
        self._profiles = dict(read.profiles)
        self._absent: set[str] = set()
        self.stored: dict[str, int | None] = {}  # profile id → the version the table holds
        self.originals: dict[str, Profile] = {}  # profile id → as the table holds it (if it does)
        self.changes: list[ProfileChange] = []

    def seen(self, message_id: str) -> bool:
        raise AssertionError("a fold is given events whose markers were read already")

    def mark_seen(self, message_id: str, expires_at: datetime) -> bool:
        raise AssertionError("a fold writes no marker")

    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]:
        unknown = [i for i in identifiers if i not in self._claims and i not in self._unclaimed]
        if unknown:
            found = self._repo.owners(unknown)
            self._claims.update(found)
            self._unclaimed.update(i for i in unknown if i not in found)
        return {i: self._claims[i] for i in identifiers if i in self._claims}

    def suppressed(self, identifiers: list[Identifier]) -> bool:
        if any(i in self._suppressed for i in identifiers):
            return True
        # the batch's read answered for identifiers unclaimed then; any other is asked now
        unknown = [i for i in identifiers if i not in self._unclaimed]
        return bool(unknown) and self._repo.suppressed(unknown)

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        unknown = {p for p in profile_ids if p not in self._profiles and p not in self._absent}
        if unknown:
            found = self._repo.load(unknown)
            self._profiles.update(found)
            self._absent.update(unknown - set(found))
        return {p: self._profiles[p] for p in profile_ids if p in self._profiles}

    def commit(self, change: ProfileChange) -> None:
        for profile, expected in [(change.profile, change.expected_version), *change.replaced]:
            current = self._profiles.get(profile.profile_id)
            if (current.version if current is not None else None) != expected:
                raise AssertionError("a fold's profiles change only through the fold")
            if profile.profile_id not in self.stored:  # its first change: current is the table's
                self.stored[profile.profile_id] = expected
                if current is not None:
                    self.originals[profile.profile_id] = current
            self._profiles[profile.profile_id] = profile
            self._absent.discard(profile.profile_id)
        self._claims.update({i: change.profile.profile_id for i in change.claims})
        self._unclaimed.difference_update(change.claims)
        self.changes.append(change)

    def repoint(self, identifiers: list[Identifier], from_profile: str, to_profile: str) -> None:
        raise AssertionError("events do not unmerge")

    def result(self, segments: SegmentHook | None, now: datetime) -> GroupChange:
        """The group's writes: each touched profile once, its segment memberships evaluated once
        (the profile after the group against the profile the table held)."""
        group = GroupChange(changes=self.changes)
        touched = {pid: self._profiles[pid] for pid in self.stored}

        def survivor(pid: str) -> str:
            seen = {pid}
            while (into := touched[pid].merged_into) in touched and into not in seen:
                pid = into
                seen.add(pid)
            return pid

        if segments is not None:
            for pid, profile in list(touched.items()):
                if profile.merged_into is not None:
                    continue
                absorbed = [p for p in touched.values() if p.merged_into and survivor(p.profile_id) == pid]
                derived = segments(profile, self.originals.get(pid), absorbed, now)
                touched[pid] = derived.profile
                touched.update({t.profile_id: t for t in derived.absorbed})
                group.segments.extend(derived.writes)
        group.profiles = {pid: (touched[pid], self.stored[pid]) for pid in sorted(touched)}
        return group


def group_events(
    events: Sequence[tuple[IntakeEvent, list[Identifier]]], owners: Callable[[Identifier], str | None]
) -> list[list[int]]:
    """Indexes of ``events`` grouped: two events are in one group when they share an identifier or
    name identifiers of one profile (``owners``: identifier → its live profile id, or None)."""
    parent = list(range(len(events)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    for index, (_, identifiers) in enumerate(events):
        for identifier in identifiers:
            for key in (identifier, owners(identifier)):
                if key is None:
                    continue
                if key in first:
                    parent[root(index)] = root(first[key])
                else:
                    first[key] = index
    groups: dict[int, list[int]] = {}
    for index in range(len(events)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


@dataclass
class BatchOptions:
    now: datetime
    dedupe_window: timedelta
    default_country: str | None = None
    segments: SegmentHook | None = None
    # an event whose redelivery must be skipped (its marker is read and written), e.g. an order:
    # the others are applied again, which changes nothing
    remembered: Callable[[IntakeEvent], bool] = lambda event: True
    # runs the groups (each a callable); the handler runs them on a thread pool
    run: Callable[[list[Callable[[], None]]], None] = field(default=lambda tasks: _one_by_one(tasks))


def process_batch(
    events: Sequence[IntakeEvent],
    repo: BatchProfileRepository,
    policy: IdentityPolicy,
    options: BatchOptions,
    on_applied: OnApplied | None = None,
) -> list[Applied]:
    """Apply ``events`` (one SQS batch, any order, duplicates allowed) together; one Applied per
    event, in the order given. A duplicate messageId within the batch is a duplicate."""
    applied = [Applied(event=e) for e in events]
    first: dict[str, int] = {}
    pending: list[int] = []
    for index, event in enumerate(events):
        if event.message_id in first:
            applied[index].outcome = Outcome(profile_id=None, duplicate=True)
        else:
            first[event.message_id] = index
            pending.append(index)
    extracted = {i: extract(events[i], policy).linking for i in pending}
    kept = {i for i in pending if options.remembered(events[i])}  # the events that keep a marker
    marked = [events[i].message_id for i in pending if i in kept]
    identifiers = sorted({x for i in pending for x in extracted[i]}, key=str)
    prefetched = repo.prefetch(marked, identifiers)
    live = live_profiles(_Peeking(repo), set(prefetched.claims.values()))
    owner = {i: live[p].profile_id for i, p in prefetched.claims.items() if p in live}
    # only an identifier no live profile claims can be an erased person's: the batch's, read at once
    suppressed = repo.suppressed_among([x for x in identifiers if x not in owner])
    fresh = []
    for i in pending:
        if events[i].message_id in prefetched.seen:
            applied[i].outcome = Outcome(profile_id=None, duplicate=True)
        else:
            fresh.append(i)
    expires_at = options.now + options.dedupe_window
    keyed = [(events[i], extracted[i]) for i in fresh]
    batch = _Run(applied, extracted, repo, policy, options, on_applied, suppressed)
    tasks = []
    for members in group_events(keyed, owner.get):
        indexes = sorted(
            (fresh[m] for m in members), key=lambda i: (events[i].timestamp, events[i].message_id)
        )
        claims = {x: prefetched.claims[x] for i in indexes for x in extracted[i] if x in prefetched.claims}
        profiles = {p.profile_id: p for x in claims if (p := live.get(claims[x])) is not None}
        # the claims name a tombstone; the fold follows it to the live profile it was read as
        claims = {x: live[p].profile_id for x, p in claims.items() if p in live}
        unclaimed = frozenset(x for i in indexes for x in extracted[i] if x not in claims)
        tasks.append(batch.group_task(indexes, _Read(claims, profiles, unclaimed)))
    options.run(tasks)
    done = [applied[i].event.message_id for i in fresh if applied[i].outcome is not None and i in kept]
    if done:
        try:
            repo.mark_all_seen(done, expires_at)
        except Exception as exc:  # they were applied; without their markers they come again
            for i in fresh:
                if applied[i].event.message_id in done:
                    applied[i].error = exc
    return applied


@dataclass(frozen=True)
class _Peeking:
    """The batch's first read of its profiles: eventually consistent (a stale profile's write
    fails its version condition, and the group is read again, consistently)."""

    repo: BatchProfileRepository

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        return self.repo.peek(profile_ids)


@dataclass
class _Run:
    """One batch's processing: what every group shares."""

    applied: list[Applied]
    extracted: dict[int, list[Identifier]]
    repo: BatchProfileRepository
    policy: IdentityPolicy
    options: BatchOptions
    on_applied: OnApplied | None
    suppressed: set[Identifier]  # of the identifiers nobody claimed when the batch was read

    def group_task(self, indexes: list[int], read: _Read) -> Callable[[], None]:
        def task() -> None:
            try:
                outcomes = dict(zip(indexes, self.fold_group(indexes, read), strict=True))
                # the triggers in the batch's order, as the events arrived: an order status that
                # arrived after a later one is late (asusual.triggers.orders), whatever its time
                for i in sorted(indexes):
                    outcome = outcomes[i]
                    if self.on_applied is not None and not outcome.suppressed:
                        self.on_applied(self.applied[i].event, outcome)
                    self.applied[i].outcome = outcome
            except Exception as exc:  # the group's messages return to the queue; the others go on
                for i in indexes:
                    if self.applied[i].outcome is None:
                        self.applied[i].error = exc

        return task

    def reread(self, indexes: list[int]) -> _Read:
        """The group's claims and profiles as the table holds them now (two reads for all)."""
        identifiers = sorted({x for i in indexes for x in self.extracted[i]}, key=str)
        claimed = self.repo.owners(identifiers)
        live = live_profiles(self.repo, set(claimed.values()))
        claims = {x: live[p].profile_id for x, p in claimed.items() if p in live}
        profiles = {p.profile_id: p for p in live.values()}
        return _Read(claims, profiles, frozenset(x for x in identifiers if x not in claims))

    def fold_group(self, indexes: list[int], read: _Read) -> list[Outcome]:
        """The group's outcomes, its writes committed; re-read and folded again on a conflict."""
        options = self.options
        for _attempt in range(MAX_ATTEMPTS):
            fold = _Fold(self.repo, read, self.suppressed)
            events = [(self.applied[i].event, self.extracted[i]) for i in indexes]
            outcomes = [_fold_one(event, found, fold, self.policy, options) for event, found in events]
            if not fold.changes:
                return outcomes
            try:
                self.repo.commit_group(fold.result(options.segments, options.now))
            except Conflict:
                read = self.reread(indexes)  # a concurrent invocation wrote: read the group again
                continue
            except TooManyWrites:
                return [_alone(event, self.repo, self.policy, options) for event, _ in events]
            return outcomes
        raise TransientError("profiles changed concurrently too often; retry")


def _fold_one(
    event: IntakeEvent,
    identifiers: list[Identifier],
    fold: _Fold,
    policy: IdentityPolicy,
    options: BatchOptions,
) -> Outcome:
    if not identifiers:
        # only shared-device or blocked identifiers: nobody to attribute it to
        return Outcome(profile_id=None, unattributed=True)
    try:
        return apply_event(event, identifiers, fold, policy, options.now, options.default_country)
    except Suppressed:
        return Outcome(profile_id=None, suppressed=True)


def _alone(
    event: IntakeEvent, repo: ProfileRepository, policy: IdentityPolicy, options: BatchOptions
) -> Outcome:
    """One event applied and written by itself (a group too large for one transaction); its marker
    and triggers are the batch's business."""
    return process_event(
        event,
        repo,
        policy,
        now=options.now,
        dedupe_window=options.dedupe_window,
        default_country=options.default_country,
        segments=options.segments,
        marked=False,
    )


def _one_by_one(tasks: list[Callable[[], None]]) -> None:
    for task in tasks:
        task()
