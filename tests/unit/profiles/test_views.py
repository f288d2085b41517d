"""The view history (Segment Product Viewed): a bounded join, so profiles stay order-independent."""

from datetime import timedelta
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.identity.models import Identifier
from asusual.profiles.facts import contribution
from asusual.profiles.state import (
    MAX_VIEWED_PRODUCTS,
    MAX_VIEWS_PER_PRODUCT,
    ProductViews,
    ProfileState,
)

from ..events import T0, event

U = frozenset({Identifier(kind="user_id", value="u1")})


def viewed(minutes, **properties):
    return event("track", user_id="u1", minutes=minutes, event="Product Viewed", properties=properties)


def one(product, minute, category=None):
    at = T0 + timedelta(minutes=minute)
    return ProfileState(
        views={product: ProductViews(at=(at,), category=category, category_at=at if category else None)}
    )


def fold(views):
    return reduce(ProfileState.join, (one(*v) for v in views), ProfileState())


# 130 products, few distinct minutes: both bounds and ties are reached often
VIEW = st.tuples(
    st.integers(0, 129).map(lambda i: f"p{i}"),
    st.integers(0, 40),
    st.sampled_from([None, "корм", "игрушки"]),
)
HISTORIES = st.lists(VIEW, max_size=400).map(fold)


def test_contribution_product_viewed_keeps_product_time_and_category():
    state = contribution(viewed(5, product_id="sku-1", category="корм", name="Корм"), U)
    at = T0 + timedelta(minutes=5)
    assert state.views == {"sku-1": ProductViews(at=(at,), category="корм", category_at=at)}


def test_contribution_product_viewed_falls_back_to_sku_then_id():
    assert list(contribution(viewed(0, sku="s-2"), U).views) == ["s-2"]
    assert list(contribution(viewed(0, id=42), U).views) == ["42"]
    assert contribution(viewed(0, id=42), U).views["42"].category is None


def test_contribution_product_viewed_without_product_keeps_nothing():
    assert contribution(viewed(0, name="Корм"), U).views == {}
    assert contribution(viewed(0, product_id=""), U).views == {}
    assert contribution(viewed(0, product_id={"x": 1}), U).views == {}


def test_contribution_other_events_keep_no_views():
    other = event("track", user_id="u1", event="Product Added", properties={"product_id": "sku-1"})
    assert contribution(other, U).views == {}


def test_serialization_no_views_adds_nothing():
    assert "views" not in ProfileState().model_dump()
    assert "category" not in one("sku-1", 0).model_dump(mode="json")["views"]["sku-1"]


def test_serialization_views_round_trip():
    state = fold([("sku-1", 3, "корм"), ("sku-1", 1, None), ("sku-2", 2, None)])
    assert ProfileState.model_validate_json(state.model_dump_json()) == state


def test_join_views_latest_first_and_category_of_the_latest_view_naming_one():
    state = fold([("sku-1", 1, "игрушки"), ("sku-1", 3, None), ("sku-1", 2, "корм")])
    assert state.views["sku-1"] == ProductViews(
        at=(T0 + timedelta(minutes=3), T0 + timedelta(minutes=2), T0 + timedelta(minutes=1)),
        category="корм",
        category_at=T0 + timedelta(minutes=2),
    )


def test_join_views_per_product_keeps_the_latest_twenty():
    state = fold([("sku-1", m, None) for m in range(30)])
    assert state.views["sku-1"].at == tuple(T0 + timedelta(minutes=m) for m in range(29, 9, -1))


def test_join_views_keeps_the_latest_hundred_products():
    state = fold([(f"p{i}", i, None) for i in range(150)])
    assert sorted(state.views) == sorted(f"p{i}" for i in range(50, 150))


def test_join_views_older_views_than_the_hundredth_product_are_dropped():
    # p0 seen at minute 0 and 200; 99 others and then p100 at 1..100: p0's view at 0 is older
    # than p100's (the hundredth product) latest, so it goes
    state = fold([("p0", 0, None), ("p0", 200, None), *[(f"p{i}", i, None) for i in range(1, 101)]])
    assert state.views["p0"].at == (T0 + timedelta(minutes=200),)
    assert len(state.views) == MAX_VIEWED_PRODUCTS and "p1" not in state.views


def test_join_views_category_goes_with_its_view():
    state = fold([("sku-1", m, "корм" if m == 0 else None) for m in range(21)])
    assert state.views["sku-1"].category is None and state.views["sku-1"].category_at is None


@settings(max_examples=60, deadline=None)
@given(HISTORIES, HISTORIES)
def test_join_views_commutative(a, b):
    assert a.join(b) == b.join(a)


@settings(max_examples=60, deadline=None)
@given(HISTORIES, HISTORIES, HISTORIES)
def test_join_views_associative(a, b, c):
    assert a.join(b).join(c) == a.join(b.join(c))


@settings(max_examples=60, deadline=None)
@given(HISTORIES)
def test_join_views_idempotent(a):
    assert a.join(a) == a


@settings(max_examples=60, deadline=None)
@given(st.lists(VIEW, max_size=400), st.randoms(use_true_random=False))
def test_join_views_any_order_bounded(views, rnd):
    shuffled = list(views)
    rnd.shuffle(shuffled)
    state = fold(views)
    assert fold(shuffled) == state
    assert len(state.views) <= MAX_VIEWED_PRODUCTS
    assert all(0 < len(v.at) <= MAX_VIEWS_PER_PRODUCT for v in state.views.values())


def test_fit_views_past_the_profile_limit_oldest_views_give_way_before_orders():
    from asusual.profiles.limits import MAX_PROFILE_BYTES, fit
    from asusual.profiles.model import Profile
    from asusual.profiles.state import OrderFact

    def part(n):
        views = {
            f"{n}-{'x' * 200}-{i}": ProductViews(
                at=tuple(T0 + timedelta(minutes=n * 10_000 + i * 20 + j) for j in range(20)),
                category="к" * 200,
                category_at=T0 + timedelta(minutes=n * 10_000 + i * 20 + 19),
            )
            for i in range(100)
        }
        order = OrderFact(order_id=f"o{n}", at=T0, msg=f"m{n}", total=10)
        return ProfileState(views=views, orders={order.order_id: order})

    profile = Profile(profile_id="p", created_at=T0, parts={f"part{n}": part(n) for n in range(4)})
    assert len(profile.model_dump_json().encode()) > MAX_PROFILE_BYTES
    fitted, trimmed = fit(profile)
    assert len(fitted.model_dump_json().encode()) <= MAX_PROFILE_BYTES
    assert (trimmed.orders, trimmed.order_lines) == (0, 0) and trimmed.views > 0
    assert all(len(p.orders) == 1 for p in fitted.parts.values())
    assert fitted.parts["part3"].views == profile.parts["part3"].views  # the latest part: untouched
    assert fitted.parts["part0"].views == {}  # the oldest views went first
