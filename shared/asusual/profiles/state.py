"""Profile state as a join-semilattice: every part merges by a rule that is commutative,
associative and idempotent — traits last-writer-wins by (event time, messageId), seen times by
min/max, channels and identifiers by union, orders by order id, product views by a bounded union,
cart lines by the latest event of each product.
So the profile built from a set of events does not depend on their order or on duplicates, and
merging two profiles is a join."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.identity.models import Identifier


class Stamped(BaseModel):
    """A value with the event that set it; the later (time, messageId) wins. At the same instant
    the customer's own action (``customer``: an unsubscribe link they clicked) wins over any
    report of a channel system. No event time is later than its arrival (asusual.intake), so a
    change the customer makes wins over everything received before it."""

    model_config = ConfigDict(frozen=True)

    value: Any
    at: datetime
    msg: str
    customer: bool = Field(default=False, exclude_if=lambda v: not v)

    def stamp(self) -> tuple[datetime, bool, str]:
        return (self.at, self.customer, self.msg)


def later(a: Stamped | None, b: Stamped | None) -> Stamped | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.stamp() >= b.stamp() else b


class ProductLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    quantity: float = 1
    price: float | None = None
    name: str | None = None
    category: str | None = None


class OrderFact(BaseModel):
    """An order placed (Segment ``Order Completed``); the latest report of the same order wins."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    at: datetime
    msg: str
    total: float | None = None
    currency: str | None = None
    channel: str | None = None
    products: tuple[ProductLine, ...] = ()

    def stamp(self) -> tuple[datetime, str]:
        return (self.at, self.msg)


def _join_maps(a: dict[str, Stamped], b: dict[str, Stamped]) -> dict[str, Stamped]:
    out = dict(a)
    for key, value in b.items():
        kept = later(out.get(key), value)
        assert kept is not None
        out[key] = kept
    return dict(sorted(out.items()))


ACTIVE_DAYS_KEPT = 60  # per channel: enough to rank channels by engagement, bounded in size


def _join_days(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Union per channel, keeping the latest ACTIVE_DAYS_KEPT dates: still a join (top-k of a union)."""
    out: dict[str, frozenset[str]] = {}
    for channel in sorted(set(a) | set(b)):
        days = a.get(channel, frozenset()) | b.get(channel, frozenset())
        out[channel] = frozenset(sorted(days)[-ACTIVE_DAYS_KEPT:])
    return out


# anonymous ids whose ties a part keeps, and identifiers per anonymous id: a profile holds at most
# 50 anonymous ids (IdentityPolicy), so only ids an unmerge took away can make more; the bound keeps
# the greatest keys and values (top-k of a union: still a join)
MAX_TIED_ANONYMOUS_IDS = 100
MAX_TIES_PER_ANONYMOUS_ID = 8


def _join_ties(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    keys = sorted(set(a) | set(b))[-MAX_TIED_ANONYMOUS_IDS:]
    return {
        key: frozenset(sorted(a.get(key, frozenset()) | b.get(key, frozenset()))[-MAX_TIES_PER_ANONYMOUS_ID:])
        for key in keys
    }


# product views (Segment ``Product Viewed``): recent views of the latest products viewed, enough for
# "viewed within N days" and browse abandonment, bounded so a heavy browser's profile stays small
MAX_VIEWED_PRODUCTS = 100
MAX_VIEWS_PER_PRODUCT = 20


class ProductViews(BaseModel):
    """When a product was viewed (latest first), and the category the latest view that named one
    gave it."""

    model_config = ConfigDict(frozen=True)

    at: tuple[datetime, ...]
    category: str | None = Field(default=None, exclude_if=lambda v: v is None)
    category_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)


def _join_views(a: dict[str, ProductViews], b: dict[str, ProductViews]) -> dict[str, ProductViews]:
    """The union of both sides' views, then a filter on each view (time, product), latest first: a
    view is kept when fewer than MAX_VIEWS_PER_PRODUCT views of its product and fewer than
    MAX_VIEWED_PRODUCTS products (its own included) were viewed after it. So the latest
    MAX_VIEWED_PRODUCTS products are kept, with their views since the last of them was last viewed.

    A view the filter drops has the views that make it drop among the kept ones, in any union it
    takes part in: dropping it early changes no later result, so the join stays commutative,
    associative and idempotent (a top-k of a union)."""
    if not a or not b:
        return a or b
    views = {(t, pid) for side in (a, b) for pid, entry in side.items() for t in entry.at}
    kept: dict[str, list[datetime]] = {}
    for t, pid in sorted(views, reverse=True):
        if len(kept) >= MAX_VIEWED_PRODUCTS:
            break  # this view and every older one have that many products viewed after them
        times = kept.setdefault(pid, [])
        if len(times) < MAX_VIEWS_PER_PRODUCT:
            times.append(t)
    out: dict[str, ProductViews] = {}
    for pid in sorted(kept):
        times = kept[pid]
        # the category of the latest view that named one; gone with that view (then so are older ones)
        sides = [e for e in (a.get(pid), b.get(pid)) if e is not None]
        named = max(
            ((e.category_at, e.category) for e in sides if e.category_at and e.category), default=None
        )
        category, category_at = (named[1], named[0]) if named and named[0] >= times[-1] else (None, None)
        out[pid] = ProductViews(at=tuple(times), category=category, category_at=category_at)
    return out


# the cart (Segment ``Product Added`` / ``Product Removed`` / ``Cart Viewed`` / ``Checkout Started``):
# the latest word on each product, bounded like the views so a profile stays small
MAX_CART_LINES = 50


class CartLine(BaseModel):
    """The latest cart event of one product: put in (with what the shop said of it) or taken out.
    Only the latest matters — an add after a removal puts it back — so a line is one stamp."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    msg: str
    added: bool = True
    quantity: float | None = Field(default=None, exclude_if=lambda v: v is None)
    name: str | None = Field(default=None, exclude_if=lambda v: v is None)
    category: str | None = Field(default=None, exclude_if=lambda v: v is None)

    def stamp(self) -> tuple[datetime, str]:
        return (self.at, self.msg)


def _join_cart(a: dict[str, CartLine], b: dict[str, CartLine]) -> dict[str, CartLine]:
    """The later line of each product (by event time, then messageId), then the MAX_CART_LINES
    products with the latest lines. A line the bound drops has that many later lines of other
    products beside it in any union, and only a later line of its own product can replace it: so
    the join stays commutative, associative and idempotent (a top-k of a last-writer-wins map)."""
    if not a or not b:
        return a or b
    out = dict(a)
    for pid, line in b.items():
        mine = out.get(pid)
        out[pid] = line if mine is None or line.stamp() > mine.stamp() else mine
    kept = sorted(out, key=lambda pid: (out[pid].stamp(), pid), reverse=True)[:MAX_CART_LINES]
    return {pid: out[pid] for pid in sorted(kept)}


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


class ProfileState(BaseModel):
    model_config = ConfigDict(frozen=True)

    traits: dict[str, Stamped] = Field(default_factory=dict, description="snake_case trait → latest value")
    subscriptions: dict[str, Stamped] = Field(default_factory=dict, description="'<channel>.<topic>' → bool")
    context_locale: Stamped | None = None
    context_timezone: Stamped | None = None
    context_utc_offset: Stamped | None = Field(
        default=None, description="minutes east of UTC a device reported instead of a zone (GMT+0300)"
    )
    source_timezone: Stamped | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    channels: frozenset[str] = frozenset()
    active_days: dict[str, frozenset[str]] = Field(
        default_factory=dict, description="source channel → the latest dates (ISO) it saw the customer"
    )
    identifiers: frozenset[Identifier] = frozenset()
    orders: dict[str, OrderFact] = Field(default_factory=dict)
    anonymous_ties: dict[str, frozenset[str]] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description="anonymous id → the identifying identifiers ('user_id#u-1') a vouched event (a "
        "server-side source's, or a signed user id's) named with it: only such a tie lets a browser "
        "holding that anonymous id be greeted as the customer (asusual.profiles.model.Profile.ties)",
    )
    # confirmed opt-in (asusual.profiles.consent): a public source's opt-in awaiting the customer
    pending_consents: dict[str, Stamped] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description="'<channel>.<topic>' → a public source's assertion, granting nothing until confirmed",
    )

    views: dict[str, ProductViews] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description="product id → its recent views (Segment Product Viewed); at most "
        f"{MAX_VIEWED_PRODUCTS} products, {MAX_VIEWS_PER_PRODUCT} views each",
    )

    cart: dict[str, CartLine] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        description=f"product id → its latest cart event; at most {MAX_CART_LINES} products",
    )
    cart_listed_at: datetime | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="the latest Cart Viewed / Checkout Started that listed the whole cart: a line "
        "older than it and not in that list has left the cart",
    )

    def join(self, other: ProfileState) -> ProfileState:
        orders = dict(self.orders)
        for order_id, order in other.orders.items():
            mine = orders.get(order_id)
            orders[order_id] = order if mine is None or order.stamp() > mine.stamp() else mine
        return ProfileState(
            traits=_join_maps(self.traits, other.traits),
            subscriptions=_join_maps(self.subscriptions, other.subscriptions),
            context_locale=later(self.context_locale, other.context_locale),
            context_timezone=later(self.context_timezone, other.context_timezone),
            context_utc_offset=later(self.context_utc_offset, other.context_utc_offset),
            source_timezone=later(self.source_timezone, other.source_timezone),
            first_seen=_min(self.first_seen, other.first_seen),
            last_seen=_max(self.last_seen, other.last_seen),
            channels=self.channels | other.channels,
            active_days=_join_days(self.active_days, other.active_days),
            identifiers=self.identifiers | other.identifiers,
            orders=dict(sorted(orders.items())),
            anonymous_ties=_join_ties(self.anonymous_ties, other.anonymous_ties),
            pending_consents=_join_maps(self.pending_consents, other.pending_consents),
            views=_join_views(self.views, other.views),
            cart=_join_cart(self.cart, other.cart),
            cart_listed_at=_max(self.cart_listed_at, other.cart_listed_at),
        )

    def without_identifiers(self, removed: frozenset[Identifier]) -> ProfileState:
        return self.model_copy(update={"identifiers": self.identifiers - removed})


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """firstName → first_name; already snake_case names are unchanged."""
    return _CAMEL.sub("_", name).lower() if not name.islower() else name
