"""The event processor's use case: apply one event to exactly one profile, once.

1. A message already processed (its marker exists) changes nothing. An event naming an
   identifier of an erased person (one no profile claims, but suppressed) is dropped whole.
2. The event's identifiers resolve to a profile (merging profiles the event links, within the
   guards) or to a new one; its contribution joins the part that owns the resolving identifier.
3. The change commits as one conditional transaction (profile version, tombstones of merged
   profiles, new identifier claims); a conflict (a concurrent event) reloads and retries.
4. ``on_applied`` runs (the triggers: order status, replenishment), then the message's marker is
   written (conditional, 30-day TTL). The contribution is a join and the triggers are idempotent,
   so an event applied again after a crash before step 4 changes nothing either.

The birthday index entry a profile implies (asusual.profiles.birthday) is written in the same
transaction as the profile, so the index never disagrees with the profile it came from. So are its
segment memberships, their size counters and its segment due entry (``segments``: a
:class:`~asusual.profiles.derived.SegmentHook` the wiring supplies), and the directory entry of a
profile the back-fills must find (written once, when the profile is created or first rewritten).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from asusual.errors import Conflict, NotFound, TransientError
from asusual.identity.extract import extract
from asusual.identity.models import Identifier, IdentityPolicy, priority
from asusual.identity.resolve import Dropped, resolve
from asusual.intake.models import IntakeEvent
from asusual.profiles.birthday import BirthdayEntry, birthday_entry
from asusual.profiles.consent import awaiting_confirmation, granted
from asusual.profiles.derived import SegmentHook, SegmentWrites
from asusual.profiles.facts import contribution, oversized_traits
from asusual.profiles.limits import Trimmed, fit
from asusual.profiles.model import MergeRecord, Profile, new_profile_id
from asusual.profiles.state import ProfileState, Stamped
from asusual.profiles.view import ProfileView, TenurePolicy, view

MAX_ATTEMPTS = 8
MAX_TOMBSTONE_HOPS = 16


@dataclass
class ProfileChange:
    profile: Profile
    expected_version: int | None  # None: the profile must not exist yet
    replaced: list[tuple[Profile, int]] = field(default_factory=list)  # (new content, expected version)
    claims: list[Identifier] = field(default_factory=list)  # new identifiers of profile.profile_id
    merges: list[MergeRecord] = field(default_factory=list)
    # profile id → its birthday index entry, or None to remove it; only entries that changed
    birthdays: dict[str, BirthdayEntry | None] = field(default_factory=dict)
    # '<channel>.<topic>' → the consent this event stated, or the opt-in it asserted awaiting
    # confirmation (kept as a history record each)
    consents: dict[str, Stamped] = field(default_factory=dict)
    # memberships, size counters and due entries that change with the profile (asusual.segments)
    segments: SegmentWrites = field(default_factory=SegmentWrites)
    listed: list[str] = field(default_factory=list)  # profile ids whose directory entry to write


class ProfileRepository(Protocol):
    def seen(self, message_id: str) -> bool: ...

    def mark_seen(self, message_id: str, expires_at: datetime) -> bool:
        """Conditional put; False if the marker already existed."""
        ...

    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]:
        """identifier → the profile id its claim names (maybe a tombstone)."""
        ...

    def suppressed(self, identifiers: list[Identifier]) -> bool:
        """True when any of them belonged to a person who was erased (asusual.privacy)."""
        ...

    def load(self, profile_ids: set[str]) -> dict[str, Profile]: ...

    def commit(self, change: ProfileChange) -> None:
        """All or nothing; raises Conflict when a condition fails."""
        ...

    def repoint(self, identifiers: list[Identifier], from_profile: str, to_profile: str) -> None: ...


@dataclass
class Outcome:
    profile_id: str | None
    duplicate: bool = False
    unattributed: bool = False  # no identifier that may link a person
    created: bool = False
    merged: list[str] = field(default_factory=list)
    attached: list[Identifier] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    unchanged: bool = False
    suppressed: bool = False  # names an erased person's identifier: dropped
    profile: Profile | None = None  # the profile after the event
    previous: Profile | None = None  # the resolved profile before the event (None: created)
    trimmed: Trimmed = field(default_factory=Trimmed)  # what the profile gave up to stay in its limits


OnApplied = Callable[[IntakeEvent, Outcome], None]


class Suppressed(Exception):
    """The event names an identifier of an erased person."""


class ProfileLoader(Protocol):
    def load(self, profile_ids: set[str]) -> dict[str, Profile]: ...


def _consent_terms(stamped: Stamped) -> tuple[object, object]:
    value = stamped.value if isinstance(stamped.value, dict) else {}
    return bool(value.get("subscribed")), value.get("consent_version")


def live_profiles(repo: ProfileLoader, ids: set[str]) -> dict[str, Profile]:
    """Each id → the live profile it is (or was merged into), following tombstones."""
    resolved: dict[str, Profile] = {}
    pending = {i: i for i in ids}  # original id → id to load next
    for _hop in range(MAX_TOMBSTONE_HOPS):
        if not pending:
            return resolved
        loaded = repo.load(set(pending.values()))
        following: dict[str, str] = {}
        for original, current in pending.items():
            profile = loaded.get(current)
            if profile is None:
                continue
            if profile.merged_into:
                following[original] = profile.merged_into
            else:
                resolved[original] = profile
        pending = following
    raise TransientError("profile merge chain too long; retry")


def process_event(
    event: IntakeEvent,
    repo: ProfileRepository,
    policy: IdentityPolicy,
    *,
    now: datetime,
    dedupe_window: timedelta,
    default_country: str | None = None,
    on_applied: OnApplied | None = None,
    segments: SegmentHook | None = None,
    marked: bool = True,
) -> Outcome:
    """``marked``: the message's marker is read first and written last (False: the caller does)."""
    if marked and repo.seen(event.message_id):
        return Outcome(profile_id=None, duplicate=True)
    extracted = extract(event, policy)
    if not extracted.linking:
        # only shared-device or blocked identifiers: nobody to attribute it to, and a profile no
        # identifier could ever find again would be worse than none
        outcome = Outcome(profile_id=None, unattributed=True)
        if on_applied is not None:
            on_applied(event, outcome)  # an order status still reaches the order's customer
        if marked:
            repo.mark_seen(event.message_id, now + dedupe_window)
        return outcome
    for _attempt in range(MAX_ATTEMPTS):
        try:
            outcome = apply_event(event, extracted.linking, repo, policy, now, default_country, segments)
        except Conflict:
            continue
        except Suppressed:
            # an erased person's identifier: nothing of the event is kept, nothing is triggered
            if marked:
                repo.mark_seen(event.message_id, now + dedupe_window)
            return Outcome(profile_id=None, suppressed=True)
        if on_applied is not None:
            on_applied(event, outcome)
        if marked:
            repo.mark_seen(event.message_id, now + dedupe_window)
        return outcome
    raise TransientError("profile changed concurrently too often; retry")


def apply_event(
    event: IntakeEvent,
    identifiers: list[Identifier],
    repo: ProfileRepository,
    policy: IdentityPolicy,
    now: datetime,
    default_country: str | None,
    segments: SegmentHook | None = None,
) -> Outcome:
    claimed = repo.owners(identifiers)
    live = live_profiles(repo, set(claimed.values()))
    owners = {i: live[p].profile_id for i, p in claimed.items() if p in live}
    # only an identifier no live profile claims can be an erased person's (erasure deletes the
    # claims after suppressing them): events of known customers cost no extra read
    unclaimed = [i for i in identifiers if i not in owners]
    if unclaimed and repo.suppressed(unclaimed):
        raise Suppressed
    profiles = {p.profile_id: p for p in live.values()}
    resolution = resolve(
        identifiers,
        owners,
        {pid: p.identifiers() for pid, p in profiles.items()},
        policy,
        may_merge=lambda a, b: profiles[a].may_merge(profiles[b]),
    )
    if resolution.profile_id is None:
        target = Profile(profile_id=new_profile_id(event.message_id), created_at=now)
        expected = None
    else:
        target = profiles[resolution.profile_id]
        expected = target.version
    parts = dict(target.parts)
    apart = set(target.apart_from)
    merges = list(target.merges)
    tombstones = []
    records = []
    dropped = {d.identifier for d in resolution.dropped}
    for absorbed_id in resolution.merge:
        absorbed = profiles[absorbed_id]
        parts.update(absorbed.parts)
        apart |= absorbed.apart_from
        record = MergeRecord(
            absorbed_id=absorbed_id,
            at=now,
            message_id=event.message_id,
            event_time=event.timestamp,
            identifiers=tuple(i for i in identifiers if i not in dropped),
            parts=tuple(sorted(absorbed.parts)),
        )
        merges.append(record)
        records.append(record)
        tombstone = absorbed.model_copy(
            update={"merged_into": target.profile_id, "parts": {}, "version": absorbed.version + 1}
        )
        tombstones.append((tombstone, absorbed.version))
    merged = target.model_copy(update={"parts": parts})
    ordered = sorted(identifiers, key=lambda i: (priority(i.kind), i.kind, i.value))
    part_id = next((p for i in ordered if (p := merged.part_of(i))), None) or (
        min(parts) if parts else target.profile_id
    )
    part = parts.get(part_id, ProfileState())
    mine = frozenset(resolution.attach) | frozenset(i for i in identifiers if i in part.identifiers)
    # the event's identifiers that are in the profile after it: what a vouched event may tie
    contributed = contribution(event, mine, linked=[i for i in identifiers if i not in dropped])
    parts[part_id] = part.join(contributed)
    # the birthday entry depends on traits, consent and timezone evidence only: most events (page,
    # track) change none of them, and then no profile state needs to be rebuilt for it
    birthday_inputs_changed = (
        bool(resolution.merge)
        or expected is None
        or _birthday_inputs(part) != _birthday_inputs(parts[part_id])
    )
    updated, trimmed = fit(
        Profile(
            profile_id=target.profile_id,
            version=target.version + 1,
            created_at=target.created_at,
            parts=dict(sorted(parts.items())),
            apart_from=frozenset(apart),
            merges=tuple(merges),
            segments=target.segments,
            segments_due=target.segments_due,
            listed=True,
        )
    )
    trimmed.traits += len(oversized_traits(event))
    outcome = Outcome(
        profile_id=target.profile_id,
        created=expected is None,
        merged=list(resolution.merge),
        attached=list(resolution.attach),
        dropped=list(resolution.dropped),
        profile=updated,
        previous=target if expected is not None else None,
        trimmed=trimmed,
    )
    if expected is not None and not tombstones and not resolution.attach and updated.parts == target.parts:
        outcome.unchanged = True  # a replay, or an event that adds nothing: no write
        outcome.profile = target
        return outcome
    if segments is not None:
        # only this profile is evaluated: nobody else's membership depends on its event
        derived = segments(updated, target if expected is not None else None, [t for t, _ in tombstones], now)
        updated = derived.profile
        tombstones = [(t, v) for t, (_, v) in zip(derived.absorbed, tombstones, strict=True)]
        outcome.profile = updated
    change = ProfileChange(profile=updated, expected_version=expected, replaced=tombstones, merges=records)
    if segments is not None:
        change.segments = derived.writes
    if not target.listed:
        change.listed = [target.profile_id]  # a new profile, or one written before the directory
    change.claims = resolution.attach
    # a consent record per change: an identify that restates a consent the profile already has
    # (same answer, same wording) records nothing new
    had = target.state() if expected is not None else ProfileState()
    held = had.subscriptions
    change.consents = {
        key: stamped
        for key, stamped in contributed.subscriptions.items()
        if key not in held or _consent_terms(held[key]) != _consent_terms(stamped)
    }
    change.consents.update(_assertions_to_record(had, contributed))
    if birthday_inputs_changed:
        before = [target] if expected is not None else []
        change.birthdays = birthday_changes(
            before + [profiles[a] for a in resolution.merge], [updated], default_country
        )
    repo.commit(change)
    return outcome


def _assertions_to_record(before: ProfileState, contributed: ProfileState) -> dict[str, Stamped]:
    """A public source's opt-in awaiting confirmation is a step of the consent history too, unless
    it restates what the profile has: the consent granted already, or the same assertion waiting."""
    waiting = awaiting_confirmation(before)
    recorded: dict[str, Stamped] = {}
    for key, asserted in contributed.pending_consents.items():
        if granted(before.subscriptions.get(key)):
            continue
        if key in waiting and _assertion_terms(waiting[key]) == _assertion_terms(asserted):
            continue
        recorded[key] = asserted
    return recorded


def _assertion_terms(stamped: Stamped) -> tuple[object, ...]:
    value = stamped.value if isinstance(stamped.value, dict) else {}
    return (*_consent_terms(stamped), value.get("address"))


def _birthday_inputs(state: ProfileState) -> tuple[object, ...]:
    return (
        state.traits,
        state.subscriptions,
        state.context_timezone,
        state.context_utc_offset,
        state.source_timezone,
    )


def birthday_changes(
    before: list[Profile], after: list[Profile], default_country: str | None
) -> dict[str, BirthdayEntry | None]:
    """The birthday index entries to write (changed) or remove (None) when ``before`` become
    ``after`` (profiles absent from ``after`` lost their entry: merged away)."""
    old = {p.profile_id: birthday_entry(p.state(), default_country) for p in before}
    new = {p.profile_id: birthday_entry(p.state(), default_country) for p in after}
    changes: dict[str, BirthdayEntry | None] = {}
    for profile_id in sorted(set(old) | set(new)):
        entry = new.get(profile_id)
        if entry != old.get(profile_id):
            changes[profile_id] = entry
    return changes


def unmerge(
    repo: ProfileRepository,
    profile_id: str,
    merged_profile_id: str,
    *,
    now: datetime,
    default_country: str | None = None,
    segments: SegmentHook | None = None,
) -> tuple[str, str]:
    """Undo a merge: the parts that came with ``merged_profile_id`` (and everything they received
    since) become that profile again; the two are kept apart from then on."""
    for _attempt in range(MAX_ATTEMPTS):
        loaded = repo.load({profile_id, merged_profile_id})
        survivor = loaded.get(profile_id)
        tombstone = loaded.get(merged_profile_id)
        if survivor is None or survivor.merged_into:
            raise NotFound(f"profile_id: no live profile {profile_id!r}")
        if (
            tombstone is not None
            and tombstone.merged_into is None
            and _was_unmerged(survivor, merged_profile_id)
        ):
            # a previous call committed but did not finish repointing the identifiers: finish it
            repo.repoint(sorted(tombstone.identifiers(), key=str), profile_id, merged_profile_id)
            return profile_id, merged_profile_id
        record = next(
            (
                m
                for m in reversed(survivor.merges)
                if m.absorbed_id == merged_profile_id and m.reverted_at is None
            ),
            None,
        )
        if record is None or tombstone is None or tombstone.merged_into != profile_id:
            raise NotFound(f"merged_profile_id: {merged_profile_id!r} is not merged into {profile_id!r}")
        moved = {k: v for k, v in survivor.parts.items() if k in record.parts}
        kept = {k: v for k, v in survivor.parts.items() if k not in record.parts}
        if not moved or not kept:
            raise Conflict("merged_profile_id: nothing left to separate")
        merges = tuple(
            m.model_copy(update={"reverted_at": now}) if m == record else m for m in survivor.merges
        )
        restored = Profile(
            profile_id=merged_profile_id,
            version=tombstone.version + 1,
            created_at=tombstone.created_at,
            parts=moved,
            apart_from=tombstone.apart_from | frozenset(kept),
            merges=tombstone.merges,
            listed=tombstone.listed,
        )
        remaining = survivor.model_copy(
            update={
                "version": survivor.version + 1,
                "parts": kept,
                "apart_from": survivor.apart_from | frozenset(moved),
                "merges": merges,
            }
        )
        writes = SegmentWrites()
        if segments is not None:  # both are re-evaluated: each now has only its own parts
            kept_derived = segments(remaining, survivor, [], now)
            restored_derived = segments(restored, None, [], now)
            remaining, restored = kept_derived.profile, restored_derived.profile
            writes.extend(kept_derived.writes)
            writes.extend(restored_derived.writes)
        try:
            change = ProfileChange(profile=remaining, expected_version=survivor.version)
            change.replaced = [(restored, tombstone.version)]
            change.segments = writes
            change.birthdays = birthday_changes([survivor], [remaining, restored], default_country)
            repo.commit(change)
        except Conflict:
            continue
        moved_identifiers = sorted(frozenset().union(*(p.identifiers for p in moved.values())), key=str)
        repo.repoint(moved_identifiers, profile_id, merged_profile_id)
        return profile_id, merged_profile_id
    raise TransientError("profile changed concurrently too often; retry")


def _was_unmerged(survivor: Profile, merged_profile_id: str) -> bool:
    latest = next((m for m in reversed(survivor.merges) if m.absorbed_id == merged_profile_id), None)
    return latest is not None and latest.reverted_at is not None


def read_profile(
    repo: ProfileRepository,
    identifier: Identifier,
    tenure: TenurePolicy,
    live_segments: Callable[[], Mapping[str, str]] | None = None,
) -> ProfileView:
    """The profile an identifier belongs to, as channels see it; NotFound when unknown.
    ``live_segments``: the live segments (id → incarnation) whose membership the view shows."""
    claimed = repo.owners([identifier])
    live = live_profiles(repo, set(claimed.values()))
    profile = live.get(claimed.get(identifier, ""))
    if profile is None:
        raise NotFound(f"no profile for this {identifier.kind}")
    segments = profile.live_segments(live_segments()) if live_segments is not None else []
    return view(profile.profile_id, profile.state(), tenure, segments)
