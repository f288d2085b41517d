from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from asusual.catalog.models import CatalogProduct, Season
from asusual.profiles.state import OrderFact, ProductLine, ProductViews, ProfileState
from asusual.recommendations.cooccurrence import CoOccurrence
from asusual.recommendations.serve import Recommended, recommend_products, why_text
from asusual.triggers.baskets import basket_record

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
DAY = date(2026, 12, 6)


def product(product_id, **fields):
    base = {"name": product_id.title(), "price": Decimal("10.00"), "currency": "RUB"}
    return CatalogProduct(product_id=product_id, **{**base, **fields})


def bought(*orders):
    """(order id, days ago, products) → a profile state."""
    facts = {
        oid: OrderFact(
            order_id=oid,
            at=NOW - timedelta(days=days),
            msg=f"m-{oid}",
            products=tuple(ProductLine(product_id=p, category="Cats") for p in products),
        )
        for oid, days, products in orders
    }
    return ProfileState(orders=facts)


def model(*baskets):
    learned = CoOccurrence()
    for products in baskets:
        learned.add_basket(products)
    return learned


CATALOG = {
    p.product_id: p
    for p in (
        product("food", category="Cats"),
        product("bowl", category="Dishes"),
        product("ointment", sensitive=True),
        product("pool", seasons=frozenset({Season.SUMMER})),
        product("sold_out", in_stock=False),
        product("litter", category="Cats"),
    )
}
TOGETHER = ({"food", "bowl", "ointment", "pool", "sold_out", "litter"},) * 3


def ids(picks):
    return [p.product.product_id for p in picks]


def test_recommend_products_leaves_out_sensitive_out_of_stock_out_of_season_and_bought_this_month():
    state = bought(("o1", 40, ["food"]), ("o2", 3, ["litter"]))
    picks = recommend_products(state, model(*TOGETHER), CATALOG, [], Season.WINTER, NOW, DAY, "p1", 10)
    assert ids(picks) == ["food", "bowl"]  # food last bought 40 days ago: again; litter 3 days ago: not
    assert [(p.reason, p.via.product_id if p.via else None) for p in picks] == [
        ("bought_before", None),
        ("bought_together", "litter"),  # the fresher of her two products bought with it
    ]


def test_recommend_products_in_summer_the_summer_product_is_back():
    state = bought(("o1", 40, ["food"]))
    picks = recommend_products(state, model(*TOGETHER), CATALOG, [], Season.SUMMER, NOW, DAY, "p1", 10)
    assert ids(picks) == ["food", "bowl", "litter", "pool"]


def test_recommend_products_unknown_season_only_all_year_products():
    state = bought(("o1", 40, ["food"]))
    picks = recommend_products(state, model(*TOGETHER), CATALOG, [], None, NOW, DAY, "p1", 10)
    assert "pool" not in ids(picks)


def test_recommend_products_new_customer_gets_the_current_ranking_first_then_popular():
    pool = [CATALOG["litter"], CATALOG["bowl"], CATALOG["ointment"]]
    learned = model({"food"}, {"food"}, {"bowl"})
    picks = recommend_products(ProfileState(), learned, CATALOG, pool, Season.WINTER, NOW, DAY, "p1", 3)
    assert sorted(ids(picks)[:2]) == ["bowl", "litter"] and ids(picks)[2] == "food"
    assert {p.reason for p in picks} == {"popular"}


def test_recommend_products_thin_data_pads_with_the_pools_categories_she_bought_from_first():
    state = bought(("o1", 40, ["food"]))
    pool = [CATALOG["bowl"], CATALOG["litter"]]
    picks = recommend_products(state, CoOccurrence(), CATALOG, pool, Season.WINTER, NOW, DAY, "p1", 3)
    assert [(p.product.product_id, p.reason) for p in picks] == [
        ("food", "bought_before"),
        ("litter", "popular_in_category"),
        ("bowl", "popular"),
    ]


def test_recommend_products_viewed_then_bought_names_the_viewed_product():
    learned = CoOccurrence()
    learned.add_basket({"bowl"}, viewed={"food"})
    state = ProfileState(views={"food": ProductViews(at=(NOW - timedelta(days=1),))})
    [pick] = recommend_products(state, learned, CATALOG, [], Season.WINTER, NOW, DAY, "p1", 1)
    assert (pick.product.product_id, pick.reason, pick.via.product_id) == (
        "bowl",
        "viewed_then_bought",
        "food",
    )
    assert why_text(pick, "en") == "Often bought after viewing Food"
    assert why_text(pick, "ru") == "Часто покупают, посмотрев «Food»"


def test_recommend_products_a_sensitive_product_of_hers_is_never_named_in_the_why():
    learned = model({"ointment", "bowl"}, {"ointment", "bowl"})
    state = bought(("o1", 40, ["ointment"]))
    [pick] = recommend_products(state, learned, CATALOG, [], Season.WINTER, NOW, DAY, "p1", 1)
    assert (pick.product.product_id, pick.via) == ("bowl", None)
    assert why_text(pick, "en") == "Often bought together with what you bought"


def test_recommend_products_zero_asked_none_given():
    assert recommend_products(bought(), model(*TOGETHER), CATALOG, [], None, NOW, DAY, "p1", 0) == []


def test_why_text_popular_in_category_names_the_category():
    pick = Recommended(product=CATALOG["litter"].priced(), reason="popular_in_category")
    assert why_text(pick, "en") == "Popular in Cats"


def test_basket_record_holds_the_previous_order_and_recent_views_not_bought_now():
    state = bought(("o1", 20, ["food"]), ("o2", 10, ["bowl"]), ("o3", 0, ["litter", "bowl"]))
    state = state.model_copy(
        update={
            "views": {
                "pool": ProductViews(at=(NOW - timedelta(days=2),)),
                "bowl": ProductViews(at=(NOW - timedelta(days=1),)),  # bought now: not "viewed then bought"
                "old": ProductViews(at=(NOW - timedelta(days=9),)),  # before the window
            }
        }
    )
    record = basket_record("o3", ["litter", "bowl", "litter"], NOW, state, NOW, timedelta(days=7))
    assert (record.products, record.previous, record.viewed) == (("bowl", "litter"), ("bowl",), ("pool",))
    assert basket_record("o4", [], NOW, state, NOW, timedelta(days=7)) is None
