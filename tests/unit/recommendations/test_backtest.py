from datetime import UTC, datetime
from pathlib import Path

import pytest

from asusual.purchases import BacktestInputError
from asusual.recommendations.backtest import Line, backtest, baskets, read_lines


def at(hour: int) -> datetime:
    return datetime(2017, 1, 1, hour, tzinfo=UTC)


def line(customer: str, product: str, hour: int, basket: str | None = None, quantity: float = 1) -> Line:
    return Line(customer, product, quantity, at(hour), basket)


def rates(lines: list[Line], k: int) -> dict[str, tuple[float | None, int]]:
    report = backtest(lines, k)
    return {method: (figures.hit_rate, figures.cases) for method, figures in report.methods.items()}


def test_baskets_without_basket_id_group_by_customer_and_time_without_returns():
    grouped = baskets(
        [
            line("u1", "a", 1),
            line("u1", "b", 1),
            line("u1", "r", 1, quantity=-1),
            line("u2", "a", 1),
            line("u1", "c", 2, basket="9"),
            line("u1", "d", 3, basket="9"),
        ]
    )
    assert [(b.customer_id, b.at.hour, sorted(b.products)) for b in grouped] == [
        ("u1", 1, ["a", "b"]),
        ("u2", 1, ["a"]),
        ("u1", 2, ["c", "d"]),
    ]


def test_backtest_first_baskets_are_not_cases_and_hits_are_counted():
    lines = [
        line("u1", "a", 1),
        line("u1", "b", 1),
        line("u2", "a", 2),
        line("u1", "c", 3),
        line("u2", "a", 4),
    ]
    assert rates(lines, 1) == {"asusual": (0.5, 2), "popularity": (0.5, 2), "buy_again": (0.5, 2)}


def test_backtest_baskets_at_the_same_instant_do_not_see_each_other():
    lines = [line("u1", "a", 1), line("u2", "z", 1), line("p", "b", 2), line("q", "b", 2), line("u1", "b", 2)]
    assert rates(lines, 1)["popularity"] == (0.0, 1)


def test_backtest_no_second_basket_has_no_hit_rate():
    assert rates([line("u1", "a", 1)], 10) == {
        method: (None, 0) for method in ("asusual", "popularity", "buy_again")
    }


def test_read_lines_missing_column_names_it_and_line_one(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("customer_id,product_id,timestamp\n1,2,2017-01-01T00:00:00Z\n")
    with pytest.raises(BacktestInputError, match=r"line 1: missing column 'quantity'"):
        read_lines(path)


def test_read_lines_bad_quantity_names_the_field_and_line(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("customer_id,product_id,quantity,timestamp\n1,2,1,2017-01-01\n1,3,lots,2017-01-02\n")
    with pytest.raises(BacktestInputError, match=r"line 3: quantity 'lots' is not a number"):
        read_lines(path)
