from datetime import UTC, datetime, timedelta

import pytest

from asusual.errors import Conflict
from asusual.recommendations.job import buckets_due, run_job
from asusual.recommendations.model import Neighbours, Popularity, Watermark
from asusual.triggers.ports import BasketRecord

NOW = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
HOUR = datetime(2026, 12, 6, 10, 15, tzinfo=UTC)  # bucket 2026-12-06T10


class MemoryStore:
    """The job's store in memory, with the same conditional writes."""

    def __init__(self) -> None:
        self.log: dict[str, dict[str, BasketRecord]] = {}
        self.rows: dict[str, Neighbours] = {}
        self.pool = Popularity()
        self.mark: Watermark | None = None
        self.reads: list[str] = []
        self.before_save: list = []  # callables run before a row save (a concurrent run's write)

    def log_basket(self, basket: BasketRecord) -> None:
        self.log.setdefault(f"{basket.recorded_at:%Y-%m-%dT%H}", {})[basket.order_id] = basket

    def baskets(self, bucket):
        self.reads.append(bucket)
        return list(self.log.get(bucket, {}).values())

    def neighbours(self, product_ids):
        return {p: self.rows[p] for p in product_ids if p in self.rows}

    def save_neighbours(self, row, expected_version):
        while self.before_save:
            self.before_save.pop(0)()
        current = self.rows.get(row.product_id)
        if (current.version if current else None) != expected_version:
            raise Conflict("changed")
        self.rows[row.product_id] = row

    def popularity(self):
        return self.pool

    def save_popularity(self, popularity, expected_version):
        if (self.pool.version or None) != expected_version:
            raise Conflict("changed")
        self.pool = popularity

    def watermark(self):
        return self.mark

    def save_watermark(self, watermark, expected_version):
        if (self.mark.version if self.mark else None) != expected_version:
            raise Conflict("changed")
        self.mark = watermark


def basket(order_id, products, previous=(), viewed=(), recorded_at=HOUR):
    return BasketRecord(
        order_id=order_id,
        at=recorded_at,
        recorded_at=recorded_at,
        products=tuple(sorted(products)),
        previous=tuple(previous),
        viewed=tuple(viewed),
    )


def test_buckets_due_first_run_reads_the_lookback_hours_up_to_the_last_complete_one():
    assert list(buckets_due(None, NOW, timedelta(hours=3))) == [
        "2026-12-06T09",
        "2026-12-06T10",
        "2026-12-06T11",
    ]


def test_buckets_due_after_a_watermark_reads_only_the_hours_since():
    mark = Watermark(through="2026-12-06T10", version=3)
    assert list(buckets_due(mark, NOW, timedelta(hours=48))) == ["2026-12-06T11"]
    # 12:01: the 11 o'clock hour ended a minute ago, the index may lag: not yet
    assert list(buckets_due(mark, NOW.replace(hour=12, minute=1), timedelta(hours=48))) == []


def test_run_job_folds_together_after_viewed_and_popularity():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a", "b"}))
    store.log_basket(basket("o2", {"a", "c"}, previous=("x",), viewed=("v",)))
    report = run_job(store, NOW, timedelta(hours=3))
    assert store.reads == ["2026-12-06T09", "2026-12-06T10", "2026-12-06T11"]
    a = store.rows["a"]
    assert (a.baskets, a.together, a.after, a.viewed, a.through) == (
        2,
        {"b": 1, "c": 1},
        {},
        {},
        "2026-12-06T10",
    )
    assert store.rows["x"].after == {"a": 1, "c": 1} and store.rows["x"].baskets == 0
    assert store.rows["v"].viewed == {"a": 1, "c": 1} and store.rows["v"].viewers == 1
    assert store.pool.counts == {"a": 2, "b": 1, "c": 1}
    assert store.mark.through == "2026-12-06T11"
    assert (report.buckets, report.baskets, report.rows_written) == (3, 2, 5)


def test_run_job_again_reads_nothing_old_and_changes_nothing():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a", "b"}))
    run_job(store, NOW, timedelta(hours=3))
    rows, pool = dict(store.rows), store.pool
    store.reads.clear()
    report = run_job(store, NOW, timedelta(hours=3))
    assert store.reads == [] and report.buckets == 0
    assert store.rows == rows and store.pool == pool


def test_run_job_crashed_before_its_watermark_refolds_the_bucket_without_counting_twice():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a", "b"}))
    run_job(store, NOW, timedelta(hours=3))
    store.mark = None  # as if the run died before moving the watermark
    report = run_job(store, NOW, timedelta(hours=3))
    assert store.rows["a"].baskets == 1 and store.rows["a"].together == {"b": 1}
    assert store.pool.counts == {"a": 1, "b": 1}
    assert report.rows_skipped == 2 and report.rows_written == 0


def test_run_job_a_row_changed_by_a_concurrent_run_is_read_again_and_not_lost():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a", "b"}, recorded_at=HOUR - timedelta(hours=1)))
    store.log_basket(basket("o2", {"a", "c"}))
    mark = Watermark(through="2026-12-06T08", version=1)
    store.mark = mark
    # another run folded hour 09 into row a just before this run's first save
    store.rows["a"] = Neighbours(
        product_id="a", baskets=1, together={"b": 1}, through="2026-12-06T09", version=1
    )
    store.rows["b"] = Neighbours(
        product_id="b", baskets=1, together={"a": 1}, through="2026-12-06T09", version=1
    )
    racing = Neighbours(product_id="c", baskets=5, through="2026-12-06T09", version=1)
    store.before_save.append(lambda: store.rows.__setitem__("c", racing))
    report = run_job(store, NOW, timedelta(hours=3))
    assert store.rows["a"].together == {"b": 1, "c": 1} and store.rows["a"].baskets == 2
    assert store.rows["c"].baskets == 6 and store.rows["c"].version == 2
    assert report.retries == 1


def test_run_job_same_order_logged_twice_counts_once():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a", "b"}))
    store.log_basket(basket("o1", {"a", "b"}))  # a redelivered order: the log is keyed by order id
    run_job(store, NOW, timedelta(hours=3))
    assert store.rows["a"].baskets == 1


def test_run_job_rows_stay_bounded_to_the_strongest_neighbours():
    store = MemoryStore()
    for n in range(120):
        store.log_basket(basket(f"o{n}", {"hub", f"p{n:03d}"}))
    for n in range(5):
        store.log_basket(basket(f"again{n}", {"hub", "p007"}))
    run_job(store, NOW, timedelta(hours=3))
    together = store.rows["hub"].together
    assert len(together) < 100 and together["p007"] == 6


def test_run_job_a_watermark_moved_by_another_run_stops_this_one():
    store = MemoryStore()
    store.log_basket(basket("o1", {"a"}))

    class Overtaken(MemoryStore):
        def save_watermark(self, watermark, expected_version):
            raise Conflict("moved")

    overtaken = Overtaken()
    overtaken.log = store.log
    report = run_job(overtaken, NOW, timedelta(hours=3))
    assert report.buckets == 1 and overtaken.mark is None


@pytest.mark.parametrize("hours", [1, 2])
def test_run_job_popularity_pool_keeps_each_products_total(hours):
    store = MemoryStore()
    for n in range(hours):
        store.log_basket(basket(f"o{n}", {"a"}, recorded_at=HOUR - timedelta(hours=n)))
    run_job(store, NOW, timedelta(hours=4))
    assert store.pool.counts == {"a": hours}
