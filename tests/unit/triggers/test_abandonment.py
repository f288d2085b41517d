"""Cart and browse abandonment: what was left, when the timers arm, and what the sweep does."""

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from asusual.catalog.models import CatalogProduct
from asusual.errors import Conflict
from asusual.identity.models import Identifier
from asusual.profiles.facts import contribution
from asusual.profiles.model import Profile
from asusual.profiles.state import CartLine, OrderFact, ProductLine, ProductViews, ProfileState, Stamped
from asusual.triggers.abandonment import (
    AbandonmentPolicy,
    Timer,
    TimerKind,
    armings,
    browsed,
    left_in_cart,
    qualified_at,
    sweep,
)
from asusual.triggers.kinds import kind_of
from asusual.triggers.models import CartAbandonmentFacts

from ..events import T0, event

POLICY = AbandonmentPolicy()
U = frozenset({Identifier(kind="user_id", value="u1")})
CONSENT = {
    "email.marketing": Stamped(value={"subscribed": True}, at=T0 - timedelta(days=30), msg="c"),
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def cart(*lines: tuple[str, float, bool], listed: float | None = None, **extra) -> ProfileState:
    return ProfileState(
        cart={p: CartLine(at=at(m), msg=f"m-{p}-{m}", added=added, name=p) for p, m, added in lines},
        cart_listed_at=at(listed) if listed is not None else None,
        **extra,
    )


def order(minutes: float, *products: str, order_id: str = "o-1") -> dict[str, OrderFact]:
    lines = tuple(ProductLine(product_id=p) for p in products)
    return {order_id: OrderFact(order_id=order_id, at=at(minutes), msg=f"o{minutes}", products=lines)}


def product(pid: str, **fields) -> CatalogProduct:
    return CatalogProduct.model_validate(
        {"product_id": pid, "name": f"Товар {pid}", "price": Decimal("3000"), "currency": "RUB", **fields}
    )


# -- what is left in the cart -----------------------------------------------------------------


def test_left_in_cart_added_not_bought_is_left_oldest_first():
    left = left_in_cart(cart(("b", 10, True), ("a", 5, True)), at(300), POLICY)
    assert left is not None and list(left.lines) == ["a", "b"]
    assert left.cart_id == "2026-11-01T09:05:00.000000Z" and left.last_activity == at(10)


def test_left_in_cart_bought_in_the_store_after_adding_is_not_left():
    state = cart(("a", 5, True), ("b", 6, True), orders=order(60, "a"))
    left = left_in_cart(state, at(300), POLICY)
    assert left is not None and list(left.lines) == ["b"]


def test_left_in_cart_bought_before_adding_again_is_left():
    state = cart(("a", 120, True), orders=order(60, "a"))
    assert left_in_cart(state, at(400), POLICY) is not None


def test_left_in_cart_removed_or_left_out_of_a_listing_is_not_left():
    assert left_in_cart(cart(("a", 5, False)), at(300), POLICY) is None
    state = cart(("a", 5, True), ("b", 20, True), listed=20)  # the listing at 20 named only b
    left = left_in_cart(state, at(300), POLICY)
    assert left is not None and list(left.lines) == ["b"]


def test_left_in_cart_older_than_max_age_is_not_a_cart():
    assert left_in_cart(cart(("a", 0, True)), T0 + POLICY.cart_max_age + timedelta(seconds=1), POLICY) is None


# -- browsing -----------------------------------------------------------------------------------


def viewed(pid: str, *minutes: float, **extra) -> ProfileState:
    return ProfileState(
        views={pid: ProductViews(at=tuple(sorted((at(m) for m in minutes), reverse=True)))}, **extra
    )


def test_qualified_at_third_view_within_the_window():
    days = [
        T0,
        T0 + timedelta(days=8),
        T0 + timedelta(days=9),
        T0 + timedelta(days=10),
        T0 + timedelta(days=11),
    ]
    assert qualified_at(days, POLICY) == T0 + timedelta(days=10)
    assert qualified_at(days[:2], POLICY) is None


def test_browsed_viewed_three_times_not_added_not_bought_is_browsed():
    found = browsed(viewed("a", 0, 10, 20), at(60), POLICY, {})
    assert [(b.product_id, b.views, b.first_at, b.qualified) for b in found] == [("a", 3, at(0), at(20))]


def test_browsed_twice_only_is_not_browsed():
    assert browsed(viewed("a", 0, 10), at(60), POLICY, {}) == []


def test_browsed_then_added_or_bought_or_reminded_lately_is_not_browsed():
    base = viewed("a", 0, 10, 20)
    added = base.join(cart(("a", 30, True)))
    bought = base.model_copy(update={"orders": order(30, "a")})
    assert browsed(added, at(60), POLICY, {}) == []
    assert browsed(bought, at(60), POLICY, {}) == []
    assert browsed(base, at(60), POLICY, {"a": at(-60)}) == []
    assert browsed(base, at(60), POLICY, {"a": at(60) - POLICY.browse_memory}) != []


def test_browsed_long_ago_is_not_browsed():
    assert (
        browsed(viewed("a", 0, 10, 20), at(20) + POLICY.browse_window + timedelta(minutes=1), POLICY, {})
        == []
    )


# -- arming ------------------------------------------------------------------------------------


def applied(ev, before: ProfileState | None = None) -> ProfileState:
    return (before or ProfileState()).join(contribution(ev, U))


def added(minutes: float, pid: str = "a"):
    return event(
        "track", user_id="u1", minutes=minutes, event="Product Added", properties={"product_id": pid}
    )


def test_armings_product_added_arms_the_cart_timer_delay_later():
    ev = added(0)
    assert [(a.kind, a.at, a.due) for a in armings(ev, applied(ev), POLICY)] == [
        (TimerKind.CART, T0, T0 + POLICY.cart_delay)
    ]


def test_armings_second_add_within_the_quiet_gap_arms_nothing_but_after_it_does():
    first = applied(added(0))
    assert armings(added(5, "b"), applied(added(5, "b"), first), POLICY) == []
    assert len(armings(added(20, "b"), applied(added(20, "b"), first), POLICY)) == 1


def test_armings_redelivered_add_decides_the_same():
    ev = added(0)
    state = applied(ev)
    assert armings(ev, applied(ev, state), POLICY) == armings(ev, state, POLICY)


def test_armings_third_view_arms_browse_and_fourth_does_not():
    state = ProfileState()
    results = []
    for m in (0, 10, 20, 30):
        ev = event("track", user_id="u1", minutes=m, event="Product Viewed", properties={"product_id": "a"})
        state = applied(ev, state)
        results.append([(a.kind, a.due) for a in armings(ev, state, POLICY)])
    assert results == [[], [], [(TimerKind.BROWSE, at(20) + POLICY.browse_delay)], []]


def test_armings_identify_or_page_arms_nothing():
    ev = event("identify", user_id="u1", traits={"email": "a@example.com"})
    assert armings(ev, applied(ev), POLICY) == []


# -- the sweep -----------------------------------------------------------------------------------


class Timers:
    def __init__(self, *timers: Timer) -> None:
        self.items = {(t.profile_id, t.kind): t for t in timers}
        self.settled: list[tuple[str, TimerKind, datetime | None]] = []

    def arm(self, profile_id, kind, at, due):  # pragma: no cover - the processor's
        raise AssertionError

    def timer(self, profile_id, kind):
        return self.items.get((profile_id, kind))

    def due_timers(self, bucket, until):
        return [
            t
            for t in self.items.values()
            if t.due and t.due <= until and bucket == f"ABANDON#{t.due:%Y-%m-%d}"
        ]

    def settle(self, timer, due, reminded):
        current = self.items[(timer.profile_id, timer.kind)]
        if current.version != timer.version:
            raise Conflict("moved")
        self.items[(timer.profile_id, timer.kind)] = replace(
            timer, version=timer.version + 1, due=due, reminded=dict(reminded)
        )
        self.settled.append((timer.profile_id, timer.kind, due))


class Profiles:
    def __init__(self, **states: ProfileState) -> None:
        self.profiles = {
            pid: Profile(profile_id=pid, created_at=T0 - timedelta(days=40), parts={pid: s})
            for pid, s in states.items()
        }

    def load(self, ids):
        return {i: self.profiles[i] for i in ids if i in self.profiles}


class Catalog:
    def __init__(self, *products: CatalogProduct) -> None:
        self.products = {p.product_id: p for p in products}

    def get_products(self, ids):
        return {i: self.products[i] for i in ids if i in self.products}


class Publisher:
    def __init__(self) -> None:
        self.intents = []

    def publish(self, intents):
        self.intents += intents


def timer(kind=TimerKind.CART, due_minutes: float = 240, armed: float = 0, pid: str = "p1", **extra) -> Timer:
    return Timer(profile_id=pid, kind=kind, version=1, due=at(due_minutes), armed_at=at(armed), **extra)


def run(timers, profiles, catalog, now_minutes):
    publisher = Publisher()
    report = sweep(timers, profiles, catalog, publisher, at(now_minutes), POLICY, timedelta(days=2))
    return report, publisher.intents


def test_sweep_cart_left_reminds_once_naming_the_products_latest_first():
    timers = Timers(timer())
    profiles = Profiles(p1=cart(("a", 0, True), ("b", 2, True), subscriptions=CONSENT))
    report, intents = run(timers, profiles, Catalog(product("a"), product("b")), 245)
    assert report.emitted == 1
    facts = intents[0].facts
    assert isinstance(facts, CartAbandonmentFacts)
    assert [p.product_id for p in facts.products] == ["b", "a"] and facts.more == 0
    assert intents[0].send_once_key == "cart_abandonment:p1:2026-11-01T09:00:00.000000Z"
    assert timers.items[("p1", TimerKind.CART)].due is None
    # the sweep runs again (a crash before the timer closed, a re-armed timer): nothing more
    timers.items[("p1", TimerKind.CART)] = replace(timers.items[("p1", TimerKind.CART)], due=at(250))
    report, intents = run(timers, profiles, Catalog(product("a"), product("b")), 255)
    assert (report.emitted, report.skipped) == (0, {"reminded_before": 1})


def test_sweep_cart_still_busy_waits_for_the_latest_activity():
    timers = Timers(timer())
    profiles = Profiles(p1=cart(("a", 0, True), ("b", 100, True), subscriptions=CONSENT))
    report, _intents = run(timers, profiles, Catalog(product("a"), product("b")), 245)
    assert (report.emitted, report.skipped) == (0, {"still_shopping": 1})
    assert timers.items[("p1", TimerKind.CART)].due == at(100) + POLICY.cart_delay


def test_sweep_cart_bought_in_the_store_closes_without_a_message():
    timers = Timers(timer())
    profiles = Profiles(p1=cart(("a", 0, True), orders=order(30, "a"), subscriptions=CONSENT))
    report, intents = run(timers, profiles, Catalog(product("a")), 245)
    assert (report.emitted, report.skipped, intents) == (0, {"nothing_left": 1}, [])
    assert timers.items[("p1", TimerKind.CART)].due is None


def test_sweep_cart_without_marketing_consent_closes_without_a_message():
    timers = Timers(timer())
    report, _intents = run(timers, Profiles(p1=cart(("a", 0, True))), Catalog(product("a")), 245)
    assert (report.emitted, report.skipped) == (0, {"no_marketing_consent": 1})


def test_sweep_cart_sold_out_or_unknown_products_not_named():
    timers = Timers(timer())
    profiles = Profiles(p1=cart(("a", 0, True), ("gone", 1, True), ("x", 2, True), subscriptions=CONSENT))
    _report, intents = run(timers, profiles, Catalog(product("a"), product("x", in_stock=False)), 245)
    assert [p.product_id for p in intents[0].facts.products] == ["a"]


def test_sweep_cart_of_five_names_three_and_counts_the_rest():
    timers = Timers(timer())
    lines = [(f"p{i}", i, True) for i in range(5)]
    profiles = Profiles(p1=cart(*lines, subscriptions=CONSENT))
    _, intents = run(timers, profiles, Catalog(*(product(f"p{i}") for i in range(5))), 245)
    assert [p.product_id for p in intents[0].facts.products] == ["p4", "p3", "p2"]
    assert intents[0].facts.more == 2


def test_sweep_timer_not_due_or_moved_since_indexed_is_left_alone():
    timers = Timers(timer(due_minutes=300))
    report, _intents = run(
        timers, Profiles(p1=cart(("a", 0, True), subscriptions=CONSENT)), Catalog(product("a")), 245
    )
    assert (report.read, report.emitted, timers.settled) == (0, 0, [])


def test_sweep_browse_ripe_products_named_sensitive_never():
    state = viewed("a", 0, 10, 20, subscriptions=CONSENT).join(viewed("s", 0, 5, 15))
    timers = Timers(timer(TimerKind.BROWSE, due_minutes=20 + 24 * 60, armed=20))
    catalog = Catalog(product("a"), product("s", sensitive=True))
    report, intents = run(timers, Profiles(p1=state), catalog, 20 + 24 * 60 + 1)
    assert report.emitted == 1 and [p.product_id for p in intents[0].facts.products] == ["a"]
    assert intents[0].send_once_key.startswith("browse_abandonment:p1:")
    assert set(timers.items[("p1", TimerKind.BROWSE)].reminded) == {"a"}


def test_sweep_browse_still_viewing_waits():
    state = viewed("a", 0, 10, 20, 1400, subscriptions=CONSENT)
    timers = Timers(timer(TimerKind.BROWSE, due_minutes=20 + 24 * 60, armed=20))
    report, _intents = run(timers, Profiles(p1=state), Catalog(product("a")), 20 + 24 * 60 + 1)
    assert (report.emitted, report.skipped) == (0, {"still_browsing": 1})
    assert timers.items[("p1", TimerKind.BROWSE)].due == at(1400) + POLICY.browse_delay


# -- at dispatch (the kinds' obsolete) ------------------------------------------------------------


def cart_facts(*pids: str) -> CartAbandonmentFacts:
    from asusual.triggers.models import AbandonedProduct

    return CartAbandonmentFacts(
        cart_id="c",
        products=tuple(AbandonedProduct(product_id=p, name=p, at=at(0)) for p in pids),
        last_activity_at=at(0),
    )


def test_cart_kind_bought_in_the_store_while_waiting_is_obsolete():
    kind = kind_of(cart_facts("a"))
    catalog = {"a": product("a")}
    assert kind.obsolete(cart_facts("a"), cart(("a", 0, True)), catalog, at(600)) is None
    assert (
        kind.obsolete(cart_facts("a"), cart(("a", 0, True), orders=order(500, "a")), catalog, at(600))
        == "purchased"
    )
    assert kind.obsolete(cart_facts("a"), cart(("a", 100, False)), catalog, at(600)) == "cart_emptied"
    sold_out = {"a": product("a", in_stock=False)}
    assert kind.obsolete(cart_facts("a"), cart(("a", 0, True)), sold_out, at(600)) == "out_of_stock"


def test_cart_kind_sensitive_product_goes_by_email_only():
    from asusual.triggers.models import AbandonedProduct

    facts = cart_facts("a").model_copy(
        update={"products": (AbandonedProduct(product_id="a", name="a", at=at(0), sensitive=True),)}
    )
    assert kind_of(facts).channels(facts) == frozenset({"email"})
    assert kind_of(cart_facts("a")).channels(cart_facts("a")) is None
