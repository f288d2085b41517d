import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asusual.triggers.replenishment import (
    MAX_BUCKET,
    IntervalStats,
    Prediction,
    PurchasePoint,
    ReplenishmentPolicy,
    interval_observation,
    personal_intervals,
    predict,
    purchase_points,
)

from . import T0, day

POLICY = ReplenishmentPolicy()
ONE_BUCKET = 1.1 * 1.0001  # a value and its bucket's far edge


def points(*purchases: tuple[float, float]) -> list[PurchasePoint]:
    """(day offset, quantity) → merged purchase points."""
    return purchase_points((day(d), q) for d, q in purchases)


def regular(days: float, count: int, quantity: float = 1) -> list[PurchasePoint]:
    return points(*((k * days * quantity, quantity) for k in range(count)))


def stats(*intervals: float) -> IntervalStats:
    return IntervalStats.of(intervals)


def run(
    history: list[PurchasePoint],
    catalog: float | None = None,
    population: list[tuple[str, IntervalStats]] | None = None,
    policy: ReplenishmentPolicy = POLICY,
) -> Prediction | None:
    return predict(history, catalog_days=catalog, population=population or [], policy=policy)


# -- the histogram ---------------------------------------------------------------------------


def test_bucket_of_powers_of_ratio_is_exponent():
    assert IntervalStats.bucket(1) == 0
    assert IntervalStats.bucket(1.1**24) == 24
    assert IntervalStats.bucket(1.1**-7) == -7
    assert IntervalStats.bucket(10) == 24  # 10 days ≈ 1.1**24.2
    assert IntervalStats.bucket(1e9) == MAX_BUCKET


@pytest.mark.parametrize("days", [0, -1, math.nan, math.inf])
def test_bucket_of_non_positive_or_non_finite_raises(days):
    with pytest.raises(ValueError, match="positive"):
        IntervalStats.bucket(days)


def test_quantile_of_empty_histogram_is_none():
    assert IntervalStats().median() is None
    assert IntervalStats.from_counts({}).quantile(0.25) is None
    assert IntervalStats().dispersion() is None


def test_quantile_of_one_value_is_its_bucket_centre():
    assert stats(10).median() == pytest.approx(1.1**24)
    assert stats(10).quantile(0) == pytest.approx(1.1**23.5)
    assert stats(10).quantile(1) == pytest.approx(1.1**24.5)


def test_quantiles_of_known_sample_within_five_percent():
    sample = stats(*([7.0] * 25 + [14.0] * 50 + [28.0] * 25))
    assert sample.median() == pytest.approx(14, rel=0.05)
    assert sample.quantile(0.1) == pytest.approx(7, rel=0.05)
    assert sample.quantile(0.9) == pytest.approx(28, rel=0.05)
    assert sample.count == 100


def test_quantile_outside_unit_interval_raises():
    with pytest.raises(ValueError, match="quantile"):
        stats(3).quantile(1.5)


@given(st.lists(st.floats(min_value=0.01, max_value=1000), min_size=1, max_size=60), st.floats(0, 1))
def test_quantile_property_within_a_bucket_of_order_statistics(values, q):
    ordered = sorted(values)
    rank = q * len(ordered)
    low = ordered[max(0, math.floor(rank) - 1)]
    high = ordered[min(len(ordered) - 1, max(0, math.ceil(rank) - 1))]
    estimate = IntervalStats.of(values).quantile(q)
    assert estimate is not None
    assert low / ONE_BUCKET <= estimate <= high * ONE_BUCKET


@given(st.lists(st.floats(min_value=0.01, max_value=1000), max_size=40), st.lists(st.floats(0.01, 1000)))
def test_merge_property_equals_adding_all_and_round_trips_counts(a, b):
    merged = IntervalStats.of(a).merge(IntervalStats.of(b))
    assert merged == IntervalStats.of(a + b)
    assert IntervalStats.from_counts(merged.counts) == merged
    assert merged.count == len(a) + len(b)
    quantiles = [merged.quantile(q) for q in (0, 0.25, 0.5, 0.75, 1)]
    if merged.count:
        assert quantiles == sorted(quantiles)


def test_add_mutates_in_place_and_returns_none():
    histogram = IntervalStats()
    assert histogram.add(10) is None
    histogram.add(10)
    assert histogram.counts == {24: 2} and histogram.count == 2


def test_from_counts_negative_or_fractional_count_raises():
    with pytest.raises(ValueError, match="bucket 3"):
        IntervalStats.from_counts({3: -1})
    with pytest.raises(ValueError, match="bucket 3"):
        IntervalStats.from_counts({3: 1.5})  # type: ignore[dict-item]
    assert IntervalStats.from_counts({3: 0, 4: 2}).counts == {4: 2}


# -- purchase points and observations --------------------------------------------------------


def test_purchase_points_same_day_merge_sums_quantities_at_first_time():
    merged = purchase_points([(T0 + timedelta(hours=9), 2), (T0, 1), (T0 + timedelta(hours=30), 1)])
    assert merged == [
        PurchasePoint(at=T0, quantity=3),
        PurchasePoint(at=T0 + timedelta(hours=30), quantity=1),
    ]


def test_purchase_points_window_anchored_at_first_purchase_splits_chain():
    merged = purchase_points([(T0, 1), (T0 + timedelta(hours=8), 1), (T0 + timedelta(hours=16), 1)])
    assert [(p.at, p.quantity) for p in merged] == [(T0, 2), (T0 + timedelta(hours=16), 1)]


def test_purchase_points_non_positive_quantity_dropped_and_times_in_utc():
    moscow = datetime(2024, 1, 1, 11, 0).astimezone(UTC).replace(tzinfo=None)
    zone = datetime.fromisoformat("2024-01-01T11:00:00+03:00")
    merged = purchase_points([(zone, 1), (T0 + timedelta(days=3), 0), (T0 + timedelta(days=4), -2)])
    assert len(merged) == 1 and merged[0].at == zone and merged[0].at.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone"):
        purchase_points([(moscow, 1)])
    with pytest.raises(ValueError, match="finite"):
        purchase_points([(T0, math.nan)])


def test_interval_observation_is_per_unit_days_since_previous_purchase():
    history = points((0, 2), (20, 1), (20.2, 3), (50, 1))
    assert interval_observation(history, day(0)) is None  # no previous purchase
    assert interval_observation(history, day(20)) == pytest.approx(10)  # 20 days / 2 units
    assert interval_observation(history, day(20.2)) is None  # merged into day 20: counted once
    assert interval_observation(history, day(50)) == pytest.approx(30 / 4)


def test_interval_observation_under_a_day_is_none():
    history = points((0, 1), (0.7, 1))
    assert len(history) == 2 and interval_observation(history, day(0.7)) is None
    assert personal_intervals(history) == []


# -- the prediction --------------------------------------------------------------------------


def test_predict_catalog_times_quantity_sets_runout():
    prediction = run(points((0, 3)), catalog=10)
    assert prediction is not None and prediction.basis == "catalog"
    assert prediction.per_unit_days == 10 and prediction.quantity == 3
    assert prediction.runout_at == day(30) and prediction.remind_at == day(27)
    assert prediction.personal_intervals == 0 and prediction.interval_days == 30


def test_predict_personal_intervals_move_catalog_toward_habit():
    estimates = []
    for count in (2, 3, 5, 9):
        prediction = run(regular(20, count), catalog=10)
        assert prediction is not None and prediction.basis == "catalog+personal"
        assert prediction.personal_intervals == count - 1
        estimates.append(prediction.per_unit_days)
    assert 10 < estimates[0] < estimates[1] < estimates[2] < estimates[3] < 20
    # k = 2: one own interval weighs one third in log space
    assert estimates[0] == pytest.approx(10 ** (2 / 3) * 20 ** (1 / 3))


def test_predict_personal_intervals_are_per_unit():
    prediction = run(regular(20, 4, quantity=2), catalog=20)  # 2 units every 40 days
    assert prediction is not None and prediction.per_unit_days == pytest.approx(20)
    assert prediction.runout_at == prediction.last_purchase_at + timedelta(days=40)


def test_predict_population_below_min_observations_gives_none():
    assert run(points((0, 1)), population=[("product", stats(*[10.0] * 19))]) is None
    prediction = run(points((0, 1)), population=[("product", stats(*[10.0] * 20))])
    assert prediction is not None and prediction.basis == "population:product"
    assert prediction.per_unit_days == pytest.approx(10, rel=0.05)


def test_predict_dispersed_product_falls_back_to_regular_category():
    wild = stats(*[2.0, 5.0, 15.0, 40.0, 100.0] * 10)  # q75/q25 ≈ 8: no better than random
    assert (wild.dispersion() or 0) > POLICY.max_dispersion
    category = stats(*[7.0, 8.0, 9.0, 10.0] * 10)
    assert run(points((0, 1)), population=[("product", wild)]) is None
    prediction = run(points((0, 1)), population=[("product", wild), ("category", category)])
    assert prediction is not None and prediction.basis == "population:category"


def test_predict_specific_level_wins_when_sufficient():
    product, category = stats(*[14.0] * 30), stats(*[7.0] * 500)
    prediction = run(regular(14, 2), population=[("product", product), ("category", category)])
    assert prediction is not None and prediction.basis == "population:product+personal"
    assert prediction.per_unit_days == pytest.approx(14, rel=0.05)


def test_predict_catalog_wins_over_population():
    prediction = run(points((0, 1)), catalog=30, population=[("product", stats(*[7.0] * 100))])
    assert prediction is not None and prediction.basis == "catalog" and prediction.per_unit_days == 30


def test_predict_personal_only_needs_enough_regular_intervals():
    assert run(regular(12, 3)) is None  # two intervals: not yet
    prediction = run(regular(12, 4))
    assert prediction is not None and prediction.basis == "personal"
    assert prediction.per_unit_days == pytest.approx(12) and prediction.personal_intervals == 3
    assert run(points((0, 1), (3, 1), (40, 1), (45, 1))) is None  # 3, 37, 5 days: irregular


def test_predict_skipped_months_outlier_barely_moves_estimate():
    history = points((0, 1), (10, 1), (20, 1), (30, 1), (150, 1), (160, 1))  # skipped 4 months
    for prediction in (
        run(history, catalog=10),
        run(history, population=[("product", stats(*[10.0] * 40))]),
        run(history),
    ):
        assert prediction is not None
        assert prediction.per_unit_days == pytest.approx(10, rel=0.06)
    one_outlier = run(points((0, 1), (120, 1)), catalog=10)  # only the skipped interval: clipped at 4x
    assert one_outlier is not None and one_outlier.per_unit_days == pytest.approx(
        40 ** (1 / 3) * 10 ** (2 / 3)
    )


def test_predict_outside_interval_bounds_gives_none():
    assert run(points((0, 1)), catalog=181) is None  # lasts half a year: not replenishment
    assert run(points((0, 1)), catalog=2) is None  # runs out faster than we could usefully message
    assert run(points((0, 1)), catalog=2, policy=ReplenishmentPolicy(min_interval_days=1)) is not None
    assert run(points((0, 10)), catalog=30) is None  # 10 units x 30 days


def test_predict_lead_capped_to_fraction_of_short_interval():
    prediction = run(points((0, 1)), catalog=4)
    assert prediction is not None and prediction.remind_at == day(3)  # lead 1 day, not 3


def test_predict_no_points_gives_none_and_bad_catalog_raises():
    assert run([], catalog=10) is None
    with pytest.raises(ValueError, match="catalog_days"):
        run(points((0, 1)), catalog=0)


def test_policy_bounds_inverted_raises():
    with pytest.raises(ValueError, match="min_interval_days"):
        ReplenishmentPolicy(min_interval_days=200)


@given(
    gaps=st.lists(st.floats(min_value=0.5, max_value=200), max_size=8),
    quantities=st.lists(st.floats(min_value=0.1, max_value=12), min_size=9, max_size=9),
    catalog=st.none() | st.floats(min_value=0.05, max_value=400),
    lead=st.floats(min_value=0, max_value=30),
    population=st.lists(st.floats(min_value=0.05, max_value=400), max_size=60),
)
def test_predict_property_remind_after_purchase_and_not_after_runout(
    gaps, quantities, catalog, lead, population
):
    offsets = [sum(gaps[:i]) for i in range(len(gaps) + 1)]
    history = points(*zip(offsets, quantities, strict=False))
    policy = ReplenishmentPolicy(lead_days=lead)
    prediction = run(history, catalog=catalog, population=[("product", stats(*population))], policy=policy)
    if prediction is None:
        return
    assert prediction.last_purchase_at == history[-1].at and prediction.quantity == history[-1].quantity
    assert prediction.last_purchase_at < prediction.remind_at <= prediction.runout_at
    assert prediction.runout_at - prediction.remind_at <= timedelta(days=lead, microseconds=1)
    assert policy.min_interval_days <= prediction.interval_days <= policy.max_interval_days
