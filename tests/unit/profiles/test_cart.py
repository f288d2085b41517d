"""The cart (Segment Product Added / Removed, Cart Viewed, Checkout Started): the latest event of each
product, bounded, joined like the rest of the profile so its order and duplicates do not matter."""

from datetime import timedelta
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.identity.models import Identifier
from asusual.profiles.facts import contribution
from asusual.profiles.state import MAX_CART_LINES, CartLine, ProfileState

from ..events import T0, event

U = frozenset({Identifier(kind="user_id", value="u1")})


def cart_event(kind, minutes, **properties):
    return event("track", user_id="u1", minutes=minutes, event=kind, properties=properties)


def line(product, minute, added=True):
    at = T0 + timedelta(minutes=minute)
    return ProfileState(cart={product: CartLine(at=at, msg=f"m{minute}{product}{added}", added=added)})


def test_contribution_product_added_keeps_product_quantity_name_and_category():
    state = contribution(
        cart_event("Product Added", 5, product_id="sku-1", name="Корм", quantity=2, category="Pet food"), U
    )
    cart = state.cart["sku-1"]
    assert (cart.at, cart.added, cart.quantity, cart.name, cart.category) == (
        T0 + timedelta(minutes=5), True, 2, "Корм", "Pet food",
    )  # fmt: skip
    assert state.cart_listed_at is None


def test_contribution_product_removed_is_a_line_taken_out():
    state = contribution(cart_event("Product Removed", 1, sku="sku-1", name="Корм"), U)
    assert state.cart["sku-1"].added is False and state.cart["sku-1"].name is None


def test_contribution_cart_viewed_lists_the_whole_cart():
    state = contribution(
        cart_event(
            "Cart Viewed", 3, products=[{"product_id": "a"}, {"sku": "b", "quantity": "3"}, "junk", {}]
        ),
        U,
    )
    assert sorted(state.cart) == ["a", "b"] and state.cart["b"].quantity == 3
    assert state.cart_listed_at == T0 + timedelta(minutes=3)


def test_contribution_checkout_started_without_products_lists_nothing():
    state = contribution(cart_event("Checkout Started", 3, order_id="o-1"), U)
    assert state.cart == {} and state.cart_listed_at is None


def test_contribution_bad_quantities_and_ids_kept_out():
    assert contribution(cart_event("Product Added", 0, product_id={"x": 1}), U).cart == {}
    assert contribution(cart_event("Product Added", 0, product_id=True), U).cart == {}
    assert (
        contribution(cart_event("Product Added", 0, product_id="a", quantity=-1), U).cart["a"].quantity
        is None
    )
    assert (
        contribution(cart_event("Product Added", 0, product_id="a", quantity="1e400"), U).cart["a"].quantity
        is None
    )


def test_join_cart_latest_event_of_each_product_wins():
    state = line("a", 1).join(line("a", 5, added=False)).join(line("b", 2))
    assert state.cart["a"].added is False and state.cart["b"].added is True
    again = line("a", 7).join(state)
    assert again.cart["a"].added is True


def test_join_cart_keeps_the_latest_products_only():
    state = reduce(
        ProfileState.join, (line(f"p{i:03}", i) for i in range(MAX_CART_LINES + 10)), ProfileState()
    )
    assert len(state.cart) == MAX_CART_LINES
    assert min(state.cart) == "p010"


def test_serialization_empty_cart_adds_nothing_and_round_trips():
    assert "cart" not in ProfileState().model_dump() and "cart_listed_at" not in ProfileState().model_dump()
    state = line("a", 1).join(line("b", 2, added=False))
    assert ProfileState.model_validate_json(state.model_dump_json()) == state


LINES = st.lists(
    st.tuples(st.integers(0, MAX_CART_LINES + 20).map(lambda i: f"p{i}"), st.integers(0, 30), st.booleans()),
    max_size=150,
)


@settings(max_examples=150, deadline=None)
@given(LINES, st.randoms(use_true_random=False))
def test_join_cart_any_order_and_duplicates_same_cart(lines, rnd):
    parts = [line(*x) for x in lines]
    shuffled = parts + parts[: len(parts) // 2]
    rnd.shuffle(shuffled)
    assert (
        reduce(ProfileState.join, parts, ProfileState()).cart
        == reduce(ProfileState.join, shuffled, ProfileState()).cart
    )


@settings(max_examples=100, deadline=None)
@given(LINES, LINES, LINES)
def test_join_cart_associative(a, b, c):
    x, y, z = (reduce(ProfileState.join, (line(*v) for v in vs), ProfileState()) for vs in (a, b, c))
    assert x.join(y).join(z).cart == x.join(y.join(z)).cart
