"""Erasure and export (GDPR art. 15 and 17, 152-FZ art. 14 and 21): find everything held about
the person an identifier names, hand it over, or delete it and keep their identifiers out.

Erasure, in order (each step idempotent, so a retry after a crash or a timeout finishes the job):

1. Find the person: the identifier's claim → the live profile (following merge tombstones) →
   every profile merged into it (its parts). A profile separated from it by an unmerge is another
   person and is left alone.
2. Write the audit record (in progress, with the pseudonymous profile ids) and a suppression for
   each of the person's identifiers. From here on an event naming one of them that no profile
   claims is dropped (and counted) by the event processor.
3. Collect and delete, until a pass finds nothing: the profiles and every item of their
   partitions (consent and merge records, birthday entry, reminders, caps, the day's offers), the
   identifier claims, orders, interval observations, processed-event markers that name the
   profile, the message log with each explanation and send-once record, and deferred intents. A
   profile is deleted only at the version read and a claim only while it names the person, so an
   event applied meanwhile is seen by the next pass (and its new identifiers suppressed too).
4. Complete the audit record: counts per kind, no personal data, the profile ids removed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from asusual.errors import NotFound, TransientError
from asusual.identity.models import Identifier
from asusual.privacy.models import (
    ErasureRecord,
    ErasureStatus,
    Footprint,
    HeldItem,
    PersonalData,
)
from asusual.profiles.model import Profile
from asusual.profiles.processor import live_profiles

MAX_ROUNDS = 6


class PrivacyRepository(Protocol):
    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]: ...

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        """Profiles by id, tombstones included."""
        ...

    def held(self, footprint: Footprint, now: datetime) -> list[HeldItem]:
        """Every stored item the footprint leads to (claims and orders only while they name one
        of its profiles)."""
        ...

    def delete(self, items: list[HeldItem]) -> list[HeldItem]:
        """Delete the items; those whose condition (version, owner) no longer holds are kept and
        left out of the answer."""
        ...

    def suppress(self, identifiers: set[Identifier], erasure_id: str, now: datetime) -> int:
        """Remember each identifier, as a keyed hash only (idempotent); the number that were new."""
        ...

    def suppressed_by(self, identifier: Identifier) -> str | None:
        """The erasure id that suppressed this identifier, if any (under any key of the secret)."""
        ...

    def lift_suppression(self, identifier: Identifier) -> bool:
        """Forget one suppressed identifier; False when it was not suppressed."""
        ...

    def save_erasure(self, record: ErasureRecord) -> None: ...

    def erasure(self, erasure_id: str) -> ErasureRecord | None: ...


def erasure_id_for(profile_id: str, requested_at: datetime) -> str:
    """Stable for a request, without the profile id in it."""
    digest = hashlib.sha256(f"{profile_id}#{requested_at.isoformat()}".encode()).hexdigest()[:24]
    return f"er_{digest}"


def footprint(profiles: Iterable[Profile]) -> Footprint:
    """The keys a person's items are found by, from their profiles (tombstones add their ids)."""
    ids: set[str] = set()
    identifiers: set[Identifier] = set()
    orders: set[str] = set()
    purchases: set[tuple[str, str]] = set()
    messages: set[str] = set()
    for profile in profiles:
        ids.add(profile.profile_id)
        ids |= set(profile.parts)
        ids |= {m.absorbed_id for m in profile.merges if m.reverted_at is None}
        messages |= {m.message_id for m in profile.merges}
        for state in profile.parts.values():
            identifiers |= state.identifiers
            for order in state.orders.values():
                orders.add(order.order_id)
                purchases |= {(line.product_id, order.at.isoformat()) for line in order.products}
            messages |= _stamps(state.model_dump(mode="json"))
    return Footprint(
        profile_ids=frozenset(ids),
        identifiers=frozenset(identifiers),
        order_ids=frozenset(orders),
        purchases=frozenset(purchases),
        message_ids=frozenset(messages),
    )


def _stamps(value: Any) -> set[str]:
    """The messageIds stamped anywhere in a dumped profile state (traits, consents, orders...)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "msg" and isinstance(inner, str):
                found.add(inner)
            else:
                found |= _stamps(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _stamps(inner)
    return found


def find_person(repo: PrivacyRepository, identifier: Identifier) -> Profile | None:
    """The live profile the identifier belongs to, or None."""
    claimed = repo.owners([identifier])
    live = live_profiles(repo, set(claimed.values()))
    return live.get(claimed.get(identifier, ""))


def _grow(repo: PrivacyRepository, known: Footprint) -> Footprint:
    """The footprint of every stored profile among ``known``'s ids, until no new id appears."""
    current = known
    for _hop in range(16):
        loaded = repo.load(set(current.profile_ids))
        grown = current.union(footprint(loaded.values()))
        if grown.profile_ids == current.profile_ids:
            return grown
        current = grown
    return current


def export(repo: PrivacyRepository, identifier: Identifier, *, now: datetime) -> PersonalData:
    """Everything held about the person ``identifier`` names; NotFound when nobody."""
    person = find_person(repo, identifier)
    if person is None:
        raise NotFound(f"{identifier.kind}: no profile for this {identifier.kind}")
    found = _grow(repo, footprint([person]))
    items = repo.held(found, now)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda i: (i.kind, i.pk, i.sk)):
        grouped.setdefault(item.kind, []).append({"pk": item.pk, "sk": item.sk, **item.attributes})
    return PersonalData(
        exported_at=now,
        profile_id=person.profile_id,
        profile_ids=sorted(found.profile_ids),
        items=grouped,
        counts={kind: len(rows) for kind, rows in grouped.items()},
    )


def erase(
    repo: PrivacyRepository, identifier: Identifier, *, clock_now: Callable[[], datetime], requested_by: str
) -> ErasureRecord:
    """Delete everything held about the person ``identifier`` names and suppress their
    identifiers. A repeated request answers the erasure already done (or finishes it)."""
    now = clock_now()
    person = find_person(repo, identifier)
    if person is None:
        previous = repo.suppressed_by(identifier)
        record = repo.erasure(previous) if previous else None
        if record is None:
            raise NotFound(f"{identifier.kind}: no profile for this {identifier.kind}")
        if record.status is ErasureStatus.COMPLETED:
            return record
        known = Footprint(profile_ids=frozenset(record.pending_profile_ids))
    else:
        # the identifier asked about is the person's even when their profile cannot be read
        known = footprint([person]).union(Footprint(identifiers=frozenset({identifier})))
        record = ErasureRecord(
            erasure_id=erasure_id_for(person.profile_id, now),
            status=ErasureStatus.IN_PROGRESS,
            requested_at=now,
            requested_by=requested_by,
            identifier_type=identifier.kind,
        )
    suppressed: set[Identifier] = set()
    deleted: Counter[str] = Counter(record.deleted)
    for round_ in range(1, MAX_ROUNDS + 1):
        known = _grow(repo, known)
        record = record.model_copy(update={"pending_profile_ids": tuple(sorted(known.profile_ids))})
        repo.save_erasure(record)
        fresh = set(known.identifiers) - suppressed
        if fresh:
            added = repo.suppress(fresh, record.erasure_id, now)
            suppressed |= fresh
            record = record.model_copy(
                update={"identifiers_suppressed": record.identifiers_suppressed + added}
            )
            repo.save_erasure(record)
        items = repo.held(known, now)
        if not items:
            completed = record.model_copy(
                update={
                    "status": ErasureStatus.COMPLETED,
                    "completed_at": clock_now(),
                    "profiles": len(known.profile_ids),
                    "deleted": dict(sorted(deleted.items())),
                    "rounds": round_,
                    "pending_profile_ids": (),
                }
            )
            repo.save_erasure(completed)
            return completed
        # the pass's identifiers are suppressed before their claims go: an event arriving between
        # two passes finds them either claimed (and applied, seen by the next pass) or suppressed
        deleted.update(item.kind for item in repo.delete(items))
        record = record.model_copy(update={"deleted": dict(sorted(deleted.items()))})
    raise TransientError("the person's data kept changing during the erasure; retry")


def lift_suppression(repo: PrivacyRepository, identifier: Identifier) -> None:
    """Let events naming ``identifier`` in again (an erased customer who comes back and asks to be
    known): only that identifier, and nothing erased returns. NotFound when it is not suppressed."""
    if not repo.lift_suppression(identifier):
        raise NotFound(f"{identifier.kind}: this {identifier.kind} is not suppressed")
