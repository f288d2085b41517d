import json

import pytest

from asusual import cli
from tests.unit.triggers import every, write_purchases


def backtest(capsys, *argv):
    capsys.readouterr()
    code = cli.main(list(argv))
    return code, *capsys.readouterr()


def test_backtest_cli_json_prints_three_methods(tmp_path, capsys, no_aws):
    path = write_purchases(tmp_path / "purchases.csv", every(10, customers=25, purchases=6))
    code, out, err = backtest(capsys, "replenishment", "backtest", "--purchases", str(path), "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert set(report["methods"]) == {"asusual", "product_median", "last_interval"}
    assert report["purchases"] == 150 and report["repurchases"] == 125
    for figures in report["methods"].values():
        assert figures["on_time"] == 1 and figures["premature"] == 0 and figures["after"] == 0
        assert 0 < figures["coverage"] <= 1 and figures["mae_days"] == pytest.approx(2.5, abs=0.2)
    assert report["policy"]["max_interval_days"] == 180


def test_backtest_cli_global_json_flag_before_group_is_kept(tmp_path, capsys, no_aws):
    path = write_purchases(tmp_path / "purchases.csv", every(10, customers=3, purchases=3))
    code, out, _ = backtest(capsys, "--json", "replenishment", "backtest", "--purchases", str(path))
    assert code == 0 and json.loads(out)["customers"] == 3


def test_backtest_cli_table_has_one_row_per_method(tmp_path, capsys, no_aws):
    path = write_purchases(tmp_path / "purchases.csv", every(10, customers=25, purchases=6))
    code, out, _ = backtest(capsys, "replenishment", "backtest", "--purchases", str(path))
    lines = out.splitlines()
    assert code == 0 and "on time <=7d" in out and "MAE days" in out
    for method in ("asusual", "product_median", "last_interval"):
        assert sum(line.startswith(method + " ") for line in lines) == 1


def test_backtest_cli_bad_column_exits_2_naming_it(tmp_path, capsys, no_aws):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,product_id,qty,timestamp\nc,p,1,2024-01-01T00:00:00Z\n")
    code, out, err = backtest(capsys, "replenishment", "backtest", "--purchases", str(path), "--json")
    assert code == 2 and out == "" and "missing column 'quantity'" in err


def test_backtest_cli_missing_file_exits_2(tmp_path, capsys, no_aws):
    code, _, err = backtest(capsys, "replenishment", "backtest", "--purchases", str(tmp_path / "none.csv"))
    assert code == 2 and "none.csv" in err
