import pytest

from asusual.purchases import BacktestInputError, read_purchases
from asusual.triggers.backtest import backtest, run_backtest

from . import day, every, write_purchases


def figures(tmp_path, rows, **kwargs):
    report = run_backtest(write_purchases(tmp_path / "purchases.csv", rows, **kwargs))
    return report, {name: f.model_dump() for name, f in report.methods.items()}


def test_backtest_every_ten_days_all_methods_on_time(tmp_path):
    report, methods = figures(tmp_path, every(10, customers=25, purchases=8))
    assert report.purchases == 200 and report.repurchases == 175 and report.customers == 25
    for name in ("asusual", "product_median", "last_interval"):
        m = methods[name]
        assert m["judged"] > 0 and m["on_time"] == 1 and m["premature"] == 0 and m["after"] == 0, name
        assert m["mae_days"] == pytest.approx(2.5, abs=0.2), name  # lead: min(3, 25 % of 10 days)
    assert methods["last_interval"]["mae_days"] == pytest.approx(2.5)
    assert methods["last_interval"]["coverage"] == pytest.approx(6 / 7)  # purchases 2..7 of 8 judged
    assert methods["last_interval"]["predictions"] == 25 * 7
    bases = {"personal", "population:product", "population:product+personal"}
    assert set(methods["asusual"]["bases"]) <= bases
    assert methods["asusual"]["bases"].get("population:product+personal")


def test_backtest_baselines_computed_as_defined(tmp_path):
    # c: days 0, 10, 40; d: days 0, 20, 25; the data ends on day 40
    rows = [("c", "q", 1, 0), ("c", "q", 1, 10), ("c", "q", 1, 40), ("d", "q", 1, 0), ("d", "q", 1, 20)]
    report, methods = figures(tmp_path, [*rows, ("d", "q", 1, 25)])
    assert report.repurchases == 4
    # last interval: c@10 → 10 d, remind day 17.5, premature (P = 40); d@20 → 20 d, remind day 37,
    # after (P = 25); d@25 → 5 d, remind day 28.75 with no repurchase; c@40 → day 67, beyond the data
    assert methods["last_interval"] == {
        "predictions": 4,
        "reminders": 2,
        "judged": 2,
        "coverage": 0.5,
        "on_time": 0.0,
        "premature": 0.5,
        "after": 0.5,
        "mae_days": pytest.approx((22.5 + 12) / 2),
        "no_repurchase": 1,
        "bases": {},
    }
    # product median: intervals seen 10, 20, then 5 → d@25 median 10, remind day 32.5, no repurchase;
    # c@40: median of 5, 10, 20, 30 = 15, beyond the data
    assert methods["product_median"] | {"mae_days": None} == {
        "predictions": 2,
        "reminders": 1,
        "judged": 0,
        "coverage": 0.0,
        "on_time": None,
        "premature": None,
        "after": None,
        "mae_days": None,
        "no_repurchase": 1,
        "bases": {},
    }
    assert methods["asusual"]["predictions"] == 0  # 4 intervals, none regular enough: no evidence


def test_backtest_population_learned_only_from_the_past(tmp_path):
    early = [("x", "milk", 1, 0, "MILK WHITE", "DAIRY"), ("x", "milk", 1, 300, "MILK WHITE", "DAIRY")]
    late = every(10, customers=25, purchases=6, stagger=0.5)
    _, methods = figures(tmp_path, early + [(c, p, q, d + 100, *rest) for c, p, q, d, *rest in late])
    # x's first purchase comes before anyone's interval: a peek at the future would remind x on
    # day ~7.5 for a repurchase on day 300 (premature)
    assert methods["asusual"]["premature"] == 0 and methods["asusual"]["on_time"] == 1


def test_backtest_same_day_purchases_merged_and_zero_quantity_ignored(tmp_path):
    rows = [("c", "p", 1, 0), ("c", "p", 2, 0.25), ("c", "p", 0, 5), ("c", "p", 1, 30)]
    report, methods = figures(tmp_path, rows, columns=("customer_id", "product_id", "quantity", "timestamp"))
    assert report.rows == 4 and report.ignored_rows == 1 and report.purchases == 2 and report.repurchases == 1
    assert methods["last_interval"]["predictions"] == 1


def test_backtest_pair_with_only_returns_counts_no_repurchase(tmp_path):
    # c: days 0, 10, 40; d: days 0, 20, 25 (as above: 4 repurchases). e only returned q, f only has
    # a zero-unit line of r: neither pair has a purchase, so neither may take a repurchase away
    bought = [("c", "q", 1, 0), ("c", "q", 1, 10), ("c", "q", 1, 40)]
    bought += [("d", "q", 1, 0), ("d", "q", 1, 20), ("d", "q", 1, 25)]
    returns = [("e", "q", -1, 12), ("e", "q", 0, 30), ("f", "r", 0, 45)]
    report, methods = figures(tmp_path, bought + returns)
    assert (report.rows, report.ignored_rows, report.purchases, report.repurchases) == (9, 3, 6, 4)
    assert (report.customers, report.products) == (2, 1)
    assert methods["last_interval"]["judged"] == 2 and methods["last_interval"]["coverage"] == 0.5
    assert report.data_end == day(40)
    clean = run_backtest(write_purchases(tmp_path / "bought.csv", bought))
    counts = {"rows", "ignored_rows"}
    assert report.model_dump(exclude=counts) == clean.model_dump(exclude=counts)


def test_backtest_optional_columns_absent_uses_product_level_only(tmp_path):
    columns = ("customer_id", "product_id", "quantity", "timestamp")
    rows = [row[:4] for row in every(7, customers=25, purchases=4)]
    report, methods = figures(tmp_path, rows, columns=columns)
    assert report.purchases == 100
    assert {basis.split("+")[0] for basis in methods["asusual"]["bases"]} <= {
        "personal",
        "population:product",
    }
    assert read_purchases(tmp_path / "purchases.csv")[0].product_category is None


def test_backtest_empty_history_reports_nothing(tmp_path):
    report, methods = figures(tmp_path, [])
    assert report.purchases == 0 and report.data_end is None
    assert methods["asusual"]["coverage"] is None and methods["asusual"]["on_time"] is None


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        ("customer_id,product_id,quantity", "c,p,1", "line 1: missing column 'timestamp'"),
        ("customer_id,product_id,timestamp", "c,p,2024-01-01T00:00:00Z", "missing column 'quantity'"),
        (
            "customer_id,product_id,quantity,timestamp",
            "c,p,two,2024-01-01T00:00:00Z",
            "line 3: quantity 'two'",
        ),
        ("customer_id,product_id,quantity,timestamp", "c,p,1,yesterday", "line 3: timestamp 'yesterday'"),
        (
            "customer_id,product_id,quantity,timestamp",
            ",p,1,2024-01-01T00:00:00Z",
            "line 3: empty customer_id",
        ),
        ("customer_id,product_id,quantity,timestamp", "c,p,1", "line 3: empty timestamp"),
        ("customer_id,product_id,quantity,timestamp", "c,p,nan,2024-01-01T00:00:00Z", "quantity 'nan'"),
    ],
)
def test_read_purchases_bad_column_or_value_names_column_and_line(tmp_path, header, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\nc0,p,1,2024-01-01T00:00:00Z\n{row}\n"[:None])
    if "missing column" in message:
        path.write_text(f"{header}\n{row}\n")
    with pytest.raises(BacktestInputError, match=message):
        read_purchases(path)


def test_read_purchases_empty_file_names_required_columns(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(BacktestInputError, match="customer_id, product_id, quantity, timestamp"):
        read_purchases(path)


def test_backtest_rows_in_any_order_give_same_report(tmp_path):
    rows = every(9, customers=22, purchases=5)
    forward = backtest(read_purchases(write_purchases(tmp_path / "a.csv", rows)))
    backward = backtest(read_purchases(write_purchases(tmp_path / "b.csv", rows[::-1])))
    assert forward.methods == backward.methods
