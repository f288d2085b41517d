"""Which profile an event belongs to, which profiles it merges, which identifiers it attaches,
and which it must drop to respect the guards (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from asusual.identity.models import BUILT_IN, Identifier, IdentityPolicy, priority
from asusual.observability import tracer


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
    if sum(1 for kind in counts if kind not in BUILT_IN) > policy.external_kinds:
        return f"a person has at most {policy.external_kinds} external id types"
    return None


@tracer.capture_method(capture_response=False, capture_error=False)  # identifiers: never in traces
def resolve(
    identifiers: list[Identifier],
    owners: Mapping[Identifier, str],
    profile_identifiers: Mapping[str, frozenset[Identifier]],
    policy: IdentityPolicy,
    may_merge: Callable[[str, str], bool] = lambda _a, _b: True,
) -> Resolution:
    """Walk the event's identifiers in priority order (user_id, email, phone, external, device,
    anonymous), building the person they describe. An unknown identifier joins it if the limits
    allow; a known one brings its profile: the first such profile becomes the target, later ones
    are merged into it — unless the person would then break a limit (two user ids, ...) or an
    operator separated them (unmerge). Such an identifier is dropped from the event and nothing
    merges, so an event never lands in, or leaks into, another person's profile."""
    ordered = sorted(dict.fromkeys(identifiers), key=lambda i: (priority(i.kind), i.kind, i.value))
    resolution = Resolution(profile_id=None)
    current: set[Identifier] = set()
    joined: set[str] = set()  # the target and every profile merged into it
    for identifier in ordered:
        owner = owners.get(identifier)
        if owner is not None and owner in joined:
            continue
        if owner is None:
            problem = _within_limits([*current, identifier], policy)
            if problem:
                resolution.dropped.append(Dropped(identifier, f"not attached: {problem}"))
                continue
            current.add(identifier)
            resolution.attach.append(identifier)
            continue
        if len(resolution.merge) >= policy.merges_per_event:
            resolution.dropped.append(
                Dropped(identifier, f"belongs to another person; not merged: an event merges at most "
                        f"{policy.merges_per_event} profiles")
            )  # fmt: skip
            continue
        if not all(may_merge(kept, owner) for kept in joined):
            resolution.dropped.append(Dropped(identifier, "belongs to a profile kept apart by an unmerge"))
            continue
        theirs = profile_identifiers.get(owner, frozenset())
        problem = _within_limits(current | theirs, policy)
        if problem:
            resolution.dropped.append(
                Dropped(identifier, f"belongs to another person; not merged: {problem}")
            )
            continue
        current |= theirs
        if resolution.profile_id is None:
            resolution.profile_id = owner
        else:
            resolution.merge.append(owner)
        joined.add(owner)
    # identifiers the target already had are not new to it
    if resolution.profile_id is not None:
        known = profile_identifiers.get(resolution.profile_id, frozenset())
        resolution.attach = [i for i in resolution.attach if i not in known]
    return resolution
