from datetime import UTC, datetime, timedelta

from asusual.recommendations.cooccurrence import Blend, Bought, CoOccurrence, buy_again, recommend

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
RELATED_ONLY = Blend(repeat=0.0, related=1.0, popularity=0.0)


def learned(*baskets: set[str]) -> CoOccurrence:
    model = CoOccurrence()
    for basket in baskets:
        model.add_basket(basket)
    return model


def test_add_basket_with_previous_counts_together_after_and_baskets():
    model = CoOccurrence()
    model.add_basket({"a", "b"})
    model.add_basket({"c"}, previous={"a", "b"})
    assert dict(model.together["a"]) == {"b": 1} and dict(model.together["b"]) == {"a": 1}
    assert dict(model.after["a"]) == {"c": 1} and dict(model.after["b"]) == {"c": 1}
    assert "c" not in model.together and dict(model.baskets) == {"a": 1, "b": 1, "c": 1}


def test_add_basket_past_twice_the_cap_keeps_the_strongest_neighbours():
    model = CoOccurrence(neighbours=2)
    for other in ["a", "a", "a", "b", "b", "c", "d"]:
        model.add_basket({"x", other})
    assert dict(model.together["x"]) == {"a": 3, "b": 2}


def test_popular_equal_counts_rank_by_product_id_within_the_pool():
    model = learned({"b"}, {"a"}, {"c"}, {"c"})
    assert model.popular(3) == ["c", "a", "b"]
    bounded = CoOccurrence(pool=2)
    for basket in ({"b"}, {"a"}, {"c"}, {"c"}):
        bounded.add_basket(basket)
    assert bounded.popular(5) == ["c", "a"]


def test_recommend_new_customer_gets_the_most_popular():
    model = learned({"a", "b"}, {"b"}, {"c"})
    assert recommend(model, {}, NOW, 2) == ["b", "a"]


def test_recommend_recent_purchase_outranks_an_old_one():
    model = learned({"a", "x"}, {"b", "y"})
    recent_a = {"a": Bought(NOW - timedelta(days=1), 1), "b": Bought(NOW - timedelta(days=60), 1)}
    recent_b = {"a": Bought(NOW - timedelta(days=60), 1), "b": Bought(NOW - timedelta(days=1), 1)}
    assert recommend(model, recent_a, NOW, 2, blend=RELATED_ONLY) == ["x", "y"]
    assert recommend(model, recent_b, NOW, 2, blend=RELATED_ONLY) == ["y", "x"]


def test_recommend_bought_after_counts_like_bought_together():
    model = CoOccurrence()
    model.add_basket({"a"})
    model.add_basket({"z"}, previous={"a"})
    assert recommend(model, {"a": Bought(NOW, 1)}, NOW, 1, blend=RELATED_ONLY) == ["z"]


def test_recommend_excluded_products_are_left_out():
    model = learned({"a", "b"}, {"b"}, {"c"})
    history = {"a": Bought(NOW, 3)}
    assert recommend(model, history, NOW, 2) == ["a", "b"]
    assert recommend(model, history, NOW, 2, exclude=frozenset({"a"})) == ["b", "c"]


def test_buy_again_short_history_is_padded_by_popularity():
    model = learned({"c"}, {"c"}, {"a"}, {"a"}, {"a"}, {"b"})
    history = {"b": Bought(NOW, 1), "a": Bought(NOW - timedelta(days=9), 2)}
    assert buy_again(model, history, 3) == ["a", "b", "c"]
