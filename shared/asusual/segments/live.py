"""Live membership: a profile's segments re-evaluated whenever the profile is written (pure).

:class:`LiveMembership` is the event processor's segment hook (asusual.profiles.derived): given
the profile after an event, it evaluates every live segment's rule on that one profile, at ``now``,
and returns the profile with its marks and the items that change with it — membership items put
or deleted, one counter ``ADD`` per changed segment on the profile's counter shard, the due entry
(the earliest instant a verdict may change by time alone). The processor writes them in the
profile's own conditional transaction. Nobody else is evaluated: membership depends on the
customer's own profile only, so an event never costs more than her segments.

The segments sweep (due entries) and the back-fill (every listed profile, page by page) use the
same hook through :func:`refresh`, committing each profile conditionally on its version.

Marks of a segment this container does not know (its definitions are cached for
``ASUSUAL_SEGMENT_CACHE_SECONDS``) are kept: the segment may be newer than the cache. They are
dropped once the segment is known to be deleting or of another incarnation, or when the mark is
older than the cache's age plus the longest an event takes (``grace``): by then every cache that
does not list the segment was read after it was gone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from asusual.errors import Conflict
from asusual.observability import logger
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.derived import Derived, MemberKey, MemberRecord, SegmentWrites
from asusual.profiles.model import Profile, SegmentMark
from asusual.profiles.processor import ProfileChange
from asusual.profiles.state import ProfileState
from asusual.profiles.view import TenurePolicy, locale_of
from asusual.segments.models import Segment
from asusual.segments.rules import Rule, RuleError

MIN_STEP = timedelta(seconds=1)


class VerdictLike(Protocol):
    """What asusual.segments.evaluate's Verdict gives."""

    @property
    def member(self) -> bool: ...

    @property
    def reasons(self) -> Sequence[Any]: ...

    @property
    def changes_at(self) -> datetime | None: ...


Evaluator = Callable[[Rule, ProfileState, datetime], VerdictLike]


def _whole_second(at: datetime) -> datetime:
    """Rounded up: the due index keys by whole seconds, and an entry must never be early."""
    return at if not at.microsecond else at.replace(microsecond=0) + MIN_STEP


@dataclasses.dataclass(frozen=True)
class _Facts:
    zones: tuple[str, ...]
    country: str | None
    locale: str | None


def _facts(state: ProfileState, default_country: str | None) -> _Facts:
    traits = {k: v.value for k, v in state.traits.items()}
    return _Facts(
        zones=plausible_zones(state, default_country),
        country=country_of(traits, default_country),
        locale=locale_of(state),
    )


class LiveMembership:
    """The segment hook (asusual.profiles.derived.SegmentHook) over the live definitions."""

    def __init__(
        self,
        definitions: Callable[[], Sequence[Segment]],
        evaluate: Evaluator,
        *,
        default_country: str | None,
        grace: timedelta,
    ) -> None:
        self._definitions = definitions
        self._evaluate = evaluate
        self._country = default_country
        self._grace = grace

    def __call__(
        self, profile: Profile, previous: Profile | None, absorbed: Sequence[Profile], now: datetime
    ) -> Derived:
        definitions = {s.segment_id: s for s in self._definitions()}
        writes = SegmentWrites()
        state = profile.state()
        facts: _Facts | None = None
        old_facts: _Facts | None = None
        marks = dict(profile.segments)
        due: datetime | None = None
        for segment in definitions.values():
            if not segment.live:
                continue
            try:
                rule = segment.parsed
            except RuleError:  # stored under an older grammar: never evaluated, never fatal
                logger.warning("segment rule unreadable", segment_id=segment.segment_id)
                continue
            verdict = self._evaluate(rule, state, now)
            if verdict.changes_at is not None:
                at = _whole_second(max(verdict.changes_at, now + MIN_STEP))
                due = at if due is None else min(due, at)
            mark = marks.get(segment.segment_id)
            mine = mark if mark is not None and mark.incarnation == segment.incarnation else None
            if not verdict.member:
                marks.pop(segment.segment_id, None)
                if mine is not None:
                    writes.delete.append(
                        MemberKey(segment.segment_id, segment.incarnation, profile.profile_id)
                    )
                    writes.count(profile.profile_id, segment.counter, -1)
                continue
            if facts is None:
                facts = _facts(state, self._country)
            if mine is not None and old_facts is None:
                old_facts = _facts(previous.state(), self._country) if previous is not None else facts
            since = mine.since if mine is not None else now
            marks[segment.segment_id] = SegmentMark(
                incarnation=segment.incarnation,
                version=segment.version,
                since=since,
            )
            if mine is None or mine.version != segment.version or old_facts != facts:
                writes.put.append(
                    MemberRecord(
                        segment_id=segment.segment_id,
                        incarnation=segment.incarnation,
                        profile_id=profile.profile_id,
                        since=since,
                        rule_version=segment.version,
                        zones=facts.zones,
                        country=facts.country,
                        locale=facts.locale,
                    )
                )
            if mine is None:
                writes.count(profile.profile_id, segment.counter, 1)
        for segment_id, mark in list(marks.items()):
            known = definitions.get(segment_id)
            if known is not None and known.live and known.incarnation == mark.incarnation:
                continue
            if known is not None or mark.since < now - self._grace:
                del marks[segment_id]  # deleting (the worker deletes its items) or long gone
        if due != profile.segments_due:
            writes.due[profile.profile_id] = due
        tombstones = [self._leave_all(t, definitions, writes) for t in absorbed]
        updated = profile.model_copy(update={"segments": marks, "segments_due": due})
        return Derived(profile=updated, absorbed=tombstones, writes=writes)

    @staticmethod
    def _leave_all(tombstone: Profile, definitions: dict[str, Segment], writes: SegmentWrites) -> Profile:
        """A profile merged away leaves every segment: its survivor is evaluated instead."""
        for segment_id, mark in tombstone.segments.items():
            known = definitions.get(segment_id)
            if known is not None and known.live and known.incarnation == mark.incarnation:
                writes.delete.append(MemberKey(segment_id, mark.incarnation, tombstone.profile_id))
                writes.count(tombstone.profile_id, known.counter, -1)
        if tombstone.segments_due is not None:
            writes.due[tombstone.profile_id] = None
        if not tombstone.segments and tombstone.segments_due is None:
            return tombstone
        return tombstone.model_copy(update={"segments": {}, "segments_due": None})


def rule_evaluator(default_country: str | None, tenure: TenurePolicy) -> Evaluator:
    """asusual.segments.evaluate's ``evaluate`` with this deployment's context."""
    from asusual.segments.evaluate import EvalContext, evaluate

    context = EvalContext(default_country=default_country, tenure=tenure)

    def run(rule: Rule, state: ProfileState, now: datetime) -> VerdictLike:
        return evaluate(rule, state, now, context)

    return run


_changes = [0]  # definitions changed by this process (definitions_changed)
_changes_lock = threading.Lock()


def definitions_changed() -> None:
    """A definition was written by this process: its caches read again at their next use. On
    Lambda each function is its own process and the TTL alone bounds the staleness (the back-fill
    waits it out); where one process runs every function (local mode) a new segment then counts
    in the very next event, with no per-event read."""
    with _changes_lock:
        _changes[0] += 1


class CachedDefinitions:
    """The definitions, read at most once per ``ttl`` per container (the processor, the decide and
    profile views): one Query of the ``SEGMENTS`` partition a minute, not one per event — or at
    once after this process changed one (``definitions_changed``)."""

    def __init__(
        self,
        read: Callable[[], list[Segment]],
        ttl: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl.total_seconds()
        self._monotonic = monotonic
        self._cached: tuple[float, int, list[Segment]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[Segment]:
        at = self._monotonic()
        generation = _changes[0]
        with self._lock:
            cached = self._cached
            if cached is not None and cached[1] == generation and at - cached[0] < self._ttl:
                return cached[2]
        segments = self._read()
        with self._lock:
            self._cached = (at, generation, segments)
        return segments

    def live(self) -> dict[str, str]:
        """Live segment id → its incarnation (what a view shows membership of)."""
        return {s.segment_id: s.incarnation for s in self() if s.live}


class ProfileStore(Protocol):
    def load(self, profile_ids: set[str]) -> dict[str, Profile]: ...

    def commit(self, change: ProfileChange) -> None: ...


@dataclasses.dataclass
class Refreshed:
    read: int = 0  # live profiles evaluated
    written: int = 0  # profiles whose marks, memberships or due entry changed
    conflicts: int = 0  # written meanwhile by an event (which evaluated them itself)


def refresh(
    store: ProfileStore, profile_ids: Sequence[str], hook: LiveMembership, now: datetime
) -> Refreshed:
    """Re-evaluate these profiles (the sweep's due ones, a back-fill's page) and commit each whose
    segments changed, conditionally on the version read (bumped). A conflict means an event was
    applied meanwhile, by a processor that evaluated the profile itself: it is left as it is."""
    report = Refreshed()
    loaded = store.load(set(profile_ids))
    for profile_id in dict.fromkeys(profile_ids):
        profile = loaded.get(profile_id)
        if profile is None or profile.merged_into:
            continue  # erased, or merged away (its survivor is listed itself)
        report.read += 1
        derived = hook(profile, profile, [], now)
        if derived.profile == profile and not derived.writes:
            continue
        updated = derived.profile.model_copy(update={"version": profile.version + 1, "listed": True})
        change = ProfileChange(profile=updated, expected_version=profile.version)
        change.segments = derived.writes
        if not profile.listed:
            change.listed = [profile.profile_id]
        try:
            store.commit(change)
        except Conflict:
            report.conflicts += 1
            continue
        report.written += 1
    return report
