"""Which profile an event belongs to, which profiles it merges, which identifiers it attaches,
and which it must drop to respect the guards (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from asusual.identity.models import Identifier, IdentityPolicy, priority


@dataclass(frozen=True)
class Dropped:
    identifier: Identifier
    reason: str


@dataclass
class Resolution:
    profile_id: str | None  # None: a new profile
    merge: list[str] = field(default_factory=list)  # profiles absorbed into profile_id
    attach: list[Identifier] = field(default_factory=list)  # identifiers new to the profile
    dropped: list[Dropped] = field(default_factory=list)


def _within_limits(identifiers: Iterable[Identifier], policy: IdentityPolicy) -> str | None:
    counts = Counter(i.kind for i in identifiers)
    for kind, count in counts.items():
        if count > policy.limit(kind):
            return f"a person has at most {policy.limit(kind)} {kind}"
    return None


def resolve(
    identifiers: list[Identifier],
    owners: Mapping[Identifier, str],
    profile_identifiers: Mapping[str, frozenset[Identifier]],
    policy: IdentityPolicy,
) -> Resolution:
    """Identifiers in priority order (user_id, email, phone, external, device, anonymous) decide:
    the profile of the highest-priority known identifier is the target; every other profile an
    identifier points to is merged into it unless the merged person would break a limit (two
    user ids, ...), in which case that identifier is dropped from the event and nothing merges."""
    ordered = sorted(dict.fromkeys(identifiers), key=lambda i: (priority(i.kind), i.kind, i.value))
    target = next((owners[i] for i in ordered if i in owners), None)
    resolution = Resolution(profile_id=target)
    current: set[Identifier] = set(profile_identifiers.get(target, frozenset())) if target else set()
    absorbed = {target} if target else set()
    for identifier in ordered:
        owner = owners.get(identifier)
        if owner is not None and owner in absorbed:
            continue
        if owner is None:
            problem = _within_limits([*current, identifier], policy)
            if problem:
                resolution.dropped.append(Dropped(identifier, f"not attached: {problem}"))
                continue
            current.add(identifier)
            resolution.attach.append(identifier)
            continue
        theirs = profile_identifiers.get(owner, frozenset())
        problem = _within_limits(current | theirs, policy)
        if problem:
            resolution.dropped.append(
                Dropped(identifier, f"belongs to another person; not merged: {problem}")
            )
            continue
        current |= theirs
        absorbed.add(owner)
        resolution.merge.append(owner)
    return resolution
