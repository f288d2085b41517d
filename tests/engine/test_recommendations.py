"""The recommendations' items on DynamoDB Local: an order's basket is logged once whatever the
redeliveries, the job reads only its hours of the log (never a scan) and its versioned writes
refuse a stale version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asusual.errors import Conflict
from asusual.recommendations.job import run_job
from asusual.recommendations.model import Neighbours
from asusual.store.recommendations import DynamoRecommendationRepository
from asusual.triggers.ports import BasketRecord


def test_basket_logged_twice_is_stored_once_and_the_job_folds_it_once(ddb, table, engine, calls):
    repo = DynamoRecommendationRepository(ddb, table)
    now = engine.clock.now()
    basket = BasketRecord(order_id="o-1", at=now, recorded_at=now, products=("a", "b"), previous=("x",))
    assert repo.record_basket(basket) is True
    assert repo.record_basket(basket) is False  # a redelivered order
    calls.clear()
    report = run_job(repo, now + timedelta(hours=2), timedelta(hours=3))
    assert not [c for c in calls if c["op"] == "Scan"]
    assert [c["params"]["IndexName"] for c in calls if c["op"] == "Query"] == ["gsi1"] * report.buckets
    rows = repo.neighbours({"a", "b", "x"})
    assert (rows["a"].baskets, rows["a"].together, rows["x"].after) == (1, {"b": 1}, {"a": 1, "b": 1})
    assert repo.popularity().counts == {"a": 1, "b": 1}
    again = run_job(repo, now + timedelta(hours=2), timedelta(hours=3))
    assert again.buckets == 0 and repo.neighbours({"a"})["a"].baskets == 1


def test_recommendation_row_put_with_a_stale_version_conflicts(ddb, table):
    repo = DynamoRecommendationRepository(ddb, table)
    repo.save_neighbours(Neighbours(product_id="a", baskets=1, version=1), None)
    with pytest.raises(Conflict):
        repo.save_neighbours(Neighbours(product_id="a", baskets=9, version=1), None)
    repo.save_neighbours(Neighbours(product_id="a", baskets=2, version=2), 1)
    with pytest.raises(Conflict):
        repo.save_neighbours(Neighbours(product_id="a", baskets=9, version=2), 1)
    assert repo.neighbours({"a"})["a"].baskets == 2
