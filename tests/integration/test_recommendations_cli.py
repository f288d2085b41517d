import json

from asusual import cli

PURCHASES = """customer_id,basket_id,product_id,quantity,timestamp
u1,1,a,1,2017-01-01T01:00:00Z
u1,1,b,2,2017-01-01T01:05:00Z
u2,2,a,1,2017-01-01T02:00:00Z
u1,3,c,1,2017-01-01T03:00:00Z
u1,3,a,-1,2017-01-01T03:00:00Z
u2,4,a,1,2017-01-01T04:00:00Z
"""


def run(capsys, *argv):
    capsys.readouterr()
    code = cli.main(list(argv))
    return code, *capsys.readouterr()


def test_recommendations_backtest_json_small_history_prints_the_contract(tmp_path, capsys, no_aws):
    path = tmp_path / "purchases.csv"
    path.write_text(PURCHASES)
    argv = ("recommendations", "backtest", "--purchases", str(path), "--k", "1", "--json")
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "k": 1,
        "methods": {
            "asusual": {"hit_rate": 0.5, "cases": 2},
            "popularity": {"hit_rate": 0.5, "cases": 2},
            "buy_again": {"hit_rate": 0.5, "cases": 2},
        },
    }


def test_recommendations_backtest_bad_timestamp_exits_2_naming_field_and_line(tmp_path, capsys, no_aws):
    path = tmp_path / "purchases.csv"
    path.write_text(PURCHASES + "u3,5,a,1,yesterday\n")
    code, out, err = run(capsys, "recommendations", "backtest", "--purchases", str(path))
    assert (code, out) == (2, "")
    assert err == f"asusual: {path}, line 8: timestamp 'yesterday' is not an ISO-8601 time\n"
