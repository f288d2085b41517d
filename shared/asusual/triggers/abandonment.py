"""Cart and browse abandonment: what a customer left behind, when to remind them, and the sweep
that does (docs/behaviour.md).

**The cart** is the profile's cart lines (asusual.profiles.state.CartLine: the latest Product
Added / Product Removed of each product, and the whole cart as a Cart Viewed or Checkout Started
listed it). A product is *left in the cart* when its latest cart event put it in, no listing of the
cart since left it out, it was put in within ``cart_max_age``, and no order on any channel bought it
since. Once nothing has happened in the cart for ``cart_delay``, the customer gets one reminder
naming the products left (at most ``max_products``), once per cart: the cart's id is the time its
oldest product left in it was put in, so adding a product to a reminded cart reminds nobody again.

**Browsing**: a product viewed ``browse_views`` times within ``browse_window`` (Product Viewed),
never put in the cart nor bought since the first of those views, gets a softer reminder once
``browse_delay`` passed without a view of it; a product is named in one such reminder at most every
``browse_memory``, never when it is sensitive.

**The timers** (one item per profile and kind, in a due-time index): the event processor arms the
cart timer on a Product Added or a listed cart, unless the cart was already busy less than
``quiet_gap`` before (the sweep then finds the later activity in the profile and waits for it), and
the browse timer on the view that makes a product qualify. So a Product Viewed costs nothing more,
and a burst of cart events one write. The sweep reads only the timers that are due, re-reads the
profile, and reminds, waits longer, or closes the timer.

Under every rule of the dispatcher: consent, caps, quiet hours and the customer's local time; a
purchase of the products while the message waits (quiet hours) cancels it (the kinds' ``obsolete``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from asusual.catalog.models import CatalogProduct
from asusual.errors import Conflict
from asusual.intake.models import EventType, IntakeEvent
from asusual.profiles.birthday import has_marketing_consent
from asusual.profiles.facts import CART_LISTS, PRODUCT_ADDED, PRODUCT_VIEWED, product_id_of
from asusual.profiles.processor import ProfileRepository, live_profiles
from asusual.profiles.state import CartLine, ProfileState
from asusual.settings import Settings
from asusual.triggers.models import (
    AbandonedProduct,
    BrowseAbandonmentFacts,
    CartAbandonmentFacts,
    Intent,
    SweepReport,
    Topic,
    make_intent,
)
from asusual.triggers.ports import IntentPublisher

MAX_ATTEMPTS = 8


class TimerKind(StrEnum):
    CART = "cart"
    BROWSE = "browse"


@dataclass(frozen=True)
class AbandonmentPolicy:
    """The defaults (docs/behaviour.md): a cart reminder 4 hours after the cart's last activity,
    a browse reminder a day after the last view of a product viewed 3 times in 7 days."""

    cart_delay: timedelta = timedelta(hours=4)
    cart_max_age: timedelta = timedelta(days=14)
    browse_delay: timedelta = timedelta(hours=24)
    browse_views: int = 3
    browse_window: timedelta = timedelta(days=7)
    browse_memory: timedelta = timedelta(days=30)
    max_products: int = 3
    quiet_gap: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> AbandonmentPolicy:
        return cls(
            cart_delay=timedelta(minutes=settings.cart_abandonment_minutes),
            cart_max_age=timedelta(days=settings.cart_max_age_days),
            browse_delay=timedelta(minutes=settings.browse_abandonment_minutes),
            browse_views=settings.browse_abandonment_views,
            browse_window=timedelta(days=settings.browse_abandonment_window_days),
        )


@dataclass(frozen=True)
class Timer:
    """pk=PROFILE#<profile_id>, sk=ABANDON#<kind>; in the due index while ``due`` is set."""

    profile_id: str
    kind: TimerKind
    version: int
    due: datetime | None
    armed_at: datetime  # the event time that armed it last (a cart's activity, a qualifying view)
    reminded: Mapping[str, datetime] = field(default_factory=dict)  # cart id or product → when


class TimerRepository(Protocol):
    def arm(self, profile_id: str, kind: TimerKind, at: datetime, due: datetime) -> bool:
        """Set the timer to ``due`` for the activity at ``at``, unless an activity as late is
        recorded already (cart) or an earlier due is pending (browse): conditional, so neither an
        older event nor a redelivery moves it. False when it did not."""
        ...

    def timer(self, profile_id: str, kind: TimerKind) -> Timer | None:
        """Strongly consistent read."""
        ...

    def due_timers(self, bucket: str, until: datetime) -> list[Timer]:
        """The timers of one due-index partition due at or before ``until`` (the index lags:
        callers re-read)."""
        ...

    def settle(self, timer: Timer, due: datetime | None, reminded: Mapping[str, datetime]) -> None:
        """Conditional on the version read: wait until ``due`` (None: out of the index) and keep
        ``reminded``; raises Conflict when the timer changed since it was read."""
        ...


class CatalogReader(Protocol):
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]: ...


def due_bucket(instant: datetime) -> str:
    """The due index partition of an instant: one per UTC day."""
    return f"ABANDON#{instant:%Y-%m-%d}"


# -- the cart --------------------------------------------------------------------------------


def bought_since(state: ProfileState, product_id: str, since: datetime) -> bool:
    """An order on any channel, at or after ``since``, that bought the product."""
    return any(
        order.at >= since
        and any(line.product_id == product_id and line.quantity > 0 for line in order.products)
        for order in state.orders.values()
    )


def in_cart(state: ProfileState) -> dict[str, CartLine]:
    """The products in the cart now: last put in, and not left out of a later listing."""
    listed = state.cart_listed_at
    return {
        pid: line for pid, line in state.cart.items() if line.added and (listed is None or line.at >= listed)
    }


def last_cart_activity(state: ProfileState) -> datetime | None:
    """The latest cart event (a product put in or taken out, the cart listed)."""
    times = [line.at for line in state.cart.values()]
    if state.cart_listed_at is not None:
        times.append(state.cart_listed_at)
    return max(times, default=None)


@dataclass(frozen=True)
class LeftCart:
    cart_id: str
    lines: dict[str, CartLine]  # product → its line, oldest first
    last_activity: datetime


def left_in_cart(state: ProfileState, now: datetime, policy: AbandonmentPolicy) -> LeftCart | None:
    """The products left in the cart at ``now``: in it, put in within ``cart_max_age``, not bought
    since. None when there are none."""
    lines = {
        pid: line
        for pid, line in sorted(in_cart(state).items(), key=lambda item: (item[1].stamp(), item[0]))
        if now - line.at <= policy.cart_max_age and not bought_since(state, pid, line.at)
    }
    last = last_cart_activity(state)
    if not lines or last is None:
        return None
    first = next(iter(lines.values()))
    return LeftCart(cart_id=f"{first.at:%Y-%m-%dT%H:%M:%S.%fZ}", lines=lines, last_activity=last)


def cart_still_left(state: ProfileState, products: Iterable[AbandonedProduct]) -> str | None:
    """Why a cart reminder is no longer wanted when it is about to go: a product of it bought
    since (any channel), or none of them left in the cart; None while it still stands."""
    products = list(products)
    if any(bought_since(state, p.product_id, p.at) for p in products):
        return "purchased"
    cart = in_cart(state)
    if not any(p.product_id in cart for p in products):
        return "cart_emptied"
    return None


# -- browsing --------------------------------------------------------------------------------


def qualified_at(times: Sequence[datetime], policy: AbandonmentPolicy) -> datetime | None:
    """The view that made a product qualify: the first whose ``browse_views`` latest views (it
    included) fall within ``browse_window``. ``times`` latest first, as the profile keeps them."""
    ordered = sorted(times)
    n = policy.browse_views
    for i in range(n - 1, len(ordered)):
        if ordered[i] - ordered[i - n + 1] <= policy.browse_window:
            return ordered[i]
    return None


@dataclass(frozen=True)
class Browsed:
    product_id: str
    views: int
    first_at: datetime  # the first of the views that made it qualify
    qualified: datetime
    last_at: datetime


def browsed(
    state: ProfileState, now: datetime, policy: AbandonmentPolicy, reminded: Mapping[str, datetime]
) -> list[Browsed]:
    """Products viewed often enough, lately, without being put in the cart or bought since, and
    not named in a browse reminder within ``browse_memory``; most viewed first."""
    out = []
    for pid, entry in state.views.items():
        qualified = qualified_at(entry.at, policy)
        if qualified is None:
            continue
        last = max(entry.at)
        if now - last > policy.browse_window:
            continue  # an old interest: reminding now would be strange
        window = [t for t in entry.at if qualified - policy.browse_window <= t <= qualified]
        first = min(window)
        line = state.cart.get(pid)
        if line is not None and line.added and line.at >= first:
            continue  # put in the cart: the cart reminder's business
        if bought_since(state, pid, first):
            continue
        if (at := reminded.get(pid)) is not None and now - at < policy.browse_memory:
            continue
        views = sum(1 for t in entry.at if t >= first)
        out.append(Browsed(product_id=pid, views=views, first_at=first, qualified=qualified, last_at=last))
    return sorted(out, key=lambda b: (-b.views, -b.last_at.timestamp(), b.product_id))


def browse_still_wanted(state: ProfileState, products: Iterable[AbandonedProduct]) -> str | None:
    """Why a browse reminder is no longer wanted when it is about to go: a product of it bought or
    put in the cart since."""
    for product in products:
        if bought_since(state, product.product_id, product.at):
            return "purchased"
        line = state.cart.get(product.product_id)
        if line is not None and line.added and line.at >= product.at:
            return "added_to_cart"
    return None


# -- arming the timers (the event processor) -------------------------------------------------


@dataclass(frozen=True)
class Arming:
    kind: TimerKind
    at: datetime
    due: datetime


ARMING_EVENTS = frozenset({PRODUCT_ADDED, PRODUCT_VIEWED, *CART_LISTS})


def arms_timers(event: IntakeEvent) -> bool:
    """Whether the event may arm a timer (only then is the profile's state worked out for it)."""
    return event.type is EventType.TRACK and event.event in ARMING_EVENTS


def armings(event: IntakeEvent, state: ProfileState, policy: AbandonmentPolicy) -> list[Arming]:
    """The timers an applied event arms, from the profile after it (``state``). Decided from the
    event and the other events the profile holds, so a redelivery decides the same."""
    if event.type is not EventType.TRACK:
        return []
    t = event.timestamp
    if event.event == PRODUCT_ADDED or (event.event in CART_LISTS and state.cart_listed_at == t):
        others = [line.at for line in state.cart.values() if line.msg != event.message_id and line.at < t]
        if state.cart_listed_at is not None and state.cart_listed_at < t:
            others.append(state.cart_listed_at)
        before = max(others, default=None)
        if before is not None and t - before < policy.quiet_gap and in_cart(state):
            return []  # a busy cart's timer is armed already: the sweep waits for the latest activity
        if not in_cart(state):
            return []
        return [Arming(TimerKind.CART, t, t + policy.cart_delay)]
    if event.event == PRODUCT_VIEWED:
        entry = state.views.get(product_id_of(event.properties) or "")
        if entry is not None and qualified_at(entry.at, policy) == t:
            return [Arming(TimerKind.BROWSE, t, t + policy.browse_delay)]
    return []


def arm_timers(
    event: IntakeEvent,
    profile_id: str,
    state: ProfileState,
    timers: TimerRepository,
    policy: AbandonmentPolicy,
) -> list[Arming]:
    """Arm what the event arms; returns the timers it moved."""
    return [a for a in armings(event, state, policy) if timers.arm(profile_id, a.kind, a.at, a.due)]


# -- the sweep -------------------------------------------------------------------------------


@dataclass
class _Tally:
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def sweep(
    timers: TimerRepository,
    profiles: ProfileRepository,
    catalog: CatalogReader,
    publisher: IntentPublisher,
    now: datetime,
    policy: AbandonmentPolicy,
    lookback: timedelta,
) -> SweepReport:
    """Remind every customer whose timer is due and who still left something behind; wait longer
    for those still shopping; close the rest. Every intent's send-once key makes a rerun harmless."""
    buckets = [due_bucket(now - timedelta(days=d)) for d in range(lookback.days, -1, -1)]
    candidates = [t for bucket in buckets for t in timers.due_timers(bucket, now)]
    tally = _Tally()
    due: list[Timer] = []
    for candidate in candidates:
        current = timers.timer(candidate.profile_id, candidate.kind)  # the index may lag
        if current is None or current.due is None or current.due > now:
            tally.skip("changed_since_indexed")
            continue
        due.append(current)
    live = live_profiles(profiles, {t.profile_id for t in due})
    states = {pid: profile.state() for pid, profile in live.items()}
    wanted: set[str] = set()
    for timer in due:
        state = states.get(timer.profile_id)
        if state is not None:
            wanted |= _products_of(timer, state, now, policy)
    products = catalog.get_products(wanted) if wanted else {}
    ready: list[tuple[Timer, Intent | None, datetime | None, dict[str, datetime]]] = []
    for timer in due:
        profile = live.get(timer.profile_id)
        if profile is None:
            ready.append((timer, None, None, dict(timer.reminded)))
            tally.skip("no_profile")
            continue
        state = states[timer.profile_id]
        step = (_cart_step if timer.kind is TimerKind.CART else _browse_step)(
            timer, profile.profile_id, state, products, now, policy, tally
        )
        ready.append((timer, *step))
    intents = [intent for _, intent, _, _ in ready if intent is not None]
    if intents:
        publisher.publish(intents)  # before the timers close: a crash between them reminds again, once
    for timer, _, next_due, reminded in ready:
        _settle(timers, timer, next_due, reminded)
    return SweepReport(
        sweep="abandonment",
        now=now,
        partitions=buckets,
        read=len(candidates),
        emitted=len(intents),
        skipped=tally.skipped,
    )


def _products_of(timer: Timer, state: ProfileState, now: datetime, policy: AbandonmentPolicy) -> set[str]:
    if timer.kind is TimerKind.CART:
        cart = left_in_cart(state, now, policy)
        return set(cart.lines) if cart is not None else set()
    return {b.product_id for b in browsed(state, now, policy, timer.reminded)}


Step = tuple[Intent | None, datetime | None, dict[str, datetime]]


def _cart_step(
    timer: Timer,
    profile_id: str,
    state: ProfileState,
    catalog: Mapping[str, CatalogProduct],
    now: datetime,
    policy: AbandonmentPolicy,
    tally: _Tally,
) -> Step:
    reminded = dict(timer.reminded)
    cart = left_in_cart(state, now, policy)
    if cart is None:
        tally.skip("nothing_left")
        return None, None, reminded
    if cart.last_activity + policy.cart_delay > now:
        tally.skip("still_shopping")
        return None, cart.last_activity + policy.cart_delay, reminded
    if cart.cart_id in reminded:
        tally.skip("reminded_before")
        return None, None, reminded
    if not has_marketing_consent(state):
        tally.skip("no_marketing_consent")
        return None, None, reminded
    lines = [
        _abandoned(pid, line.at, catalog[pid], line.quantity)
        for pid, line in cart.lines.items()
        if pid in catalog and catalog[pid].in_stock
    ]
    if not lines:
        tally.skip("out_of_stock")
        return None, None, reminded
    named = lines[-policy.max_products :]  # the latest put in first to mind
    facts = CartAbandonmentFacts(
        cart_id=cart.cart_id,
        products=tuple(reversed(named)),
        more=len(lines) - len(named),
        last_activity_at=cart.last_activity,
    )
    key = f"cart_abandonment:{profile_id}:{cart.cart_id}"
    reminded = _recent(reminded, now, policy) | {cart.cart_id: now}
    return make_intent(profile_id, Topic.MARKETING, key, facts, now), None, reminded


def _browse_step(
    timer: Timer,
    profile_id: str,
    state: ProfileState,
    catalog: Mapping[str, CatalogProduct],
    now: datetime,
    policy: AbandonmentPolicy,
    tally: _Tally,
) -> Step:
    reminded = _recent(dict(timer.reminded), now, policy)
    candidates = [
        b
        for b in browsed(state, now, policy, reminded)
        if b.product_id in catalog and catalog[b.product_id].in_stock and not catalog[b.product_id].sensitive
    ]
    ripe = [b for b in candidates if b.last_at + policy.browse_delay <= now]
    waiting = [b.last_at + policy.browse_delay for b in candidates if b not in ripe]
    next_due = min(waiting, default=None)
    if not ripe:
        tally.skip("still_browsing" if waiting else "nothing_left")
        return None, next_due, reminded
    if not has_marketing_consent(state):
        tally.skip("no_marketing_consent")
        return None, next_due, reminded
    named = ripe[: policy.max_products]
    facts = BrowseAbandonmentFacts(
        products=tuple(_abandoned(b.product_id, b.first_at, catalog[b.product_id], None) for b in named),
        views=sum(b.views for b in named),
        last_viewed_at=max(b.last_at for b in named),
    )
    episode = "|".join(
        f"{b.product_id}@{b.first_at.isoformat()}" for b in sorted(named, key=lambda b: b.product_id)
    )
    digest = hashlib.sha256(episode.encode()).hexdigest()[:24]
    key = f"browse_abandonment:{profile_id}:{digest}"
    reminded |= {b.product_id: now for b in named}
    return make_intent(profile_id, Topic.MARKETING, key, facts, now), next_due, reminded


def _abandoned(
    product_id: str, at: datetime, product: CatalogProduct, quantity: float | None
) -> AbandonedProduct:
    return AbandonedProduct(
        product_id=product_id, name=product.name, at=at, quantity=quantity, sensitive=product.sensitive
    )


def _recent(reminded: dict[str, datetime], now: datetime, policy: AbandonmentPolicy) -> dict[str, datetime]:
    """What the timer remembers: reminders within the longer of the two memories."""
    keep = max(policy.browse_memory, policy.cart_max_age)
    return {key: at for key, at in reminded.items() if now - at < keep}


def _settle(
    timers: TimerRepository, timer: Timer, due: datetime | None, reminded: dict[str, datetime]
) -> None:
    with contextlib.suppress(Conflict):  # an event re-armed it meanwhile: the next sweep decides anew
        timers.settle(timer, due, reminded)
