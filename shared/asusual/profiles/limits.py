"""How large a profile may grow, and what gives way when it would grow larger (pure).

A profile is one DynamoDB item, and an item holds at most 400 KB: an event that pushed it past
that could never be written, and would be retried until it was dead-lettered, taking the
customer's later events with it. So every profile keeps to these limits (docs/architecture.md,
"Limits"):

- **A trait value** is at most 2 KB as JSON. A larger value is not kept: the trait keeps the value
  it had.
- **Custom traits** (any trait outside the vocabulary of design.md 3.3) are at most 100 per profile
  and 32 KB together. Past either limit the custom traits set longest ago give way (by event time,
  then messageId). The vocabulary — names, contacts, birthday, address, locale, zone, channel — is
  never given up for a custom trait.
- **Orders** keep at most 100 product lines each, and names and categories of at most 200
  characters.
- **The whole profile** stays within 300 KB of JSON (compressed, it is far smaller). Past it, the
  product lines of the oldest orders give way first (each order keeps its id, time, total,
  currency and channel, so tenure, counts and revenue stay right), then the oldest product views
  (asusual.profiles.state.ProductViews: each part holds at most 100 products, 20 views each), then
  the oldest orders.

Each cut is counted (``Trimmed``), and the event processor reports it as a metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from asusual.profiles.model import Profile
from asusual.profiles.state import OrderFact, ProfileState, Stamped

MAX_TRAIT_BYTES = 2 * 1024
MAX_CUSTOM_TRAITS = 100
MAX_CUSTOM_TRAIT_BYTES = 32 * 1024
MAX_ORDER_LINES = 100
MAX_LINE_TEXT = 200
MAX_PROFILE_BYTES = 300 * 1024

# design.md 3.3 and Segment's reserved traits, snake_case (asusual.profiles.state.snake)
VOCABULARY = frozenset(
    {
        "email", "phone", "first_name", "last_name", "name", "middle_name", "gender", "birthday",
        "created_at", "title", "address", "timezone", "locale", "preferred_channel", "push_address",
        "age", "avatar", "company", "description", "id", "username", "website",
    }
)  # fmt: skip


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def fits_trait(value: Any) -> bool:
    """A trait value small enough to keep."""
    return json_size(value) <= MAX_TRAIT_BYTES


@dataclass
class Trimmed:
    """What a profile gave up to stay within its limits."""

    traits: int = 0
    order_lines: int = 0
    orders: int = 0
    views: int = 0

    def __bool__(self) -> bool:
        return bool(self.traits or self.order_lines or self.orders or self.views)


def fit(profile: Profile) -> tuple[Profile, Trimmed]:
    """``profile`` within the limits above, and what it gave up (nothing, most of the time)."""
    trimmed = Trimmed()
    parts = _cap_custom_traits(profile.parts, trimmed)
    fitted = profile.model_copy(update={"parts": parts}) if parts is not profile.parts else profile
    size = len(fitted.model_dump_json().encode())
    if size <= MAX_PROFILE_BYTES:
        return fitted, trimmed
    return _shed(fitted, size, trimmed), trimmed


def _cap_custom_traits(parts: dict[str, ProfileState], trimmed: Trimmed) -> dict[str, ProfileState]:
    custom = [
        (stamped.stamp(), part_id, key, json_size(stamped.value))
        for part_id, state in parts.items()
        for key, stamped in state.traits.items()
        if key not in VOCABULARY
    ]
    if len(custom) <= MAX_CUSTOM_TRAITS and sum(c[3] for c in custom) <= MAX_CUSTOM_TRAIT_BYTES:
        return parts
    kept: set[tuple[str, str]] = set()
    total = 0
    for _stamp, part_id, key, size in sorted(custom, key=lambda c: (c[0], c[1], c[2]), reverse=True):
        if len(kept) < MAX_CUSTOM_TRAITS and total + size <= MAX_CUSTOM_TRAIT_BYTES:
            kept.add((part_id, key))
            total += size
    out = {}
    for part_id, state in parts.items():
        traits: dict[str, Stamped] = {
            k: v for k, v in state.traits.items() if k in VOCABULARY or (part_id, k) in kept
        }
        trimmed.traits += len(state.traits) - len(traits)
        out[part_id] = (
            state.model_copy(update={"traits": traits}) if len(traits) < len(state.traits) else state
        )
    return out


def _shed(profile: Profile, size: int, trimmed: Trimmed) -> Profile:
    """The oldest orders' product lines, then the oldest product views, then the oldest orders."""
    parts = dict(profile.parts)
    size = _shed_orders(parts, size, trimmed, whole=False)
    if size > MAX_PROFILE_BYTES:
        size = _shed_views(parts, size, trimmed)
    if size > MAX_PROFILE_BYTES:
        _shed_orders(parts, size, trimmed, whole=True)
    return profile.model_copy(update={"parts": parts})


def _shed_views(parts: dict[str, ProfileState], size: int, trimmed: Trimmed) -> int:
    oldest = sorted(
        (t, part_id, pid) for part_id, state in parts.items() for pid, v in state.views.items() for t in v.at
    )
    for t, part_id, pid in oldest:
        if size <= MAX_PROFILE_BYTES:
            break
        state = parts[part_id]
        views = dict(state.views)
        entry = views[pid]
        at = tuple(x for x in entry.at if x != t)
        if at:
            views[pid] = entry.model_copy(update={"at": at})
            size -= len(entry.model_dump_json()) - len(views[pid].model_dump_json())
        else:
            del views[pid]
            size -= len(entry.model_dump_json().encode()) + len(json.dumps(pid).encode()) + 1
        trimmed.views += 1
        parts[part_id] = state.model_copy(update={"views": views})
    return size


def _shed_orders(parts: dict[str, ProfileState], size: int, trimmed: Trimmed, whole: bool) -> int:
    """Oldest orders first: their product lines, or (``whole``) the orders themselves."""
    oldest = sorted(
        (
            (order.stamp(), part_id, order_id)
            for part_id, s in parts.items()
            for order_id, order in s.orders.items()
        ),
    )
    for _stamp, part_id, order_id in oldest:
        if size <= MAX_PROFILE_BYTES:
            break
        state = parts[part_id]
        order = state.orders.get(order_id)
        if order is None or (not whole and not order.products):
            continue
        orders: dict[str, OrderFact] = dict(state.orders)
        if whole:
            del orders[order_id]
            trimmed.orders += 1
            size -= len(order.model_dump_json().encode())
        else:
            orders[order_id] = order.model_copy(update={"products": ()})
            trimmed.order_lines += len(order.products)
            size -= sum(len(line.model_dump_json().encode()) + 1 for line in order.products)
        parts[part_id] = state.model_copy(update={"orders": orders})
    return size
