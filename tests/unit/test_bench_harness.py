"""The benchmarks' harness (tests/benchmarks/harness.py): every figure has a stable snake_case id,
unique in a session, and bench.json carries it."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks import harness
from tests.benchmarks.harness import Figure


def figure(figure_id: str, name: str = "write units per event") -> Figure:
    return Figure("a", name, 1.5, "WCU/event", id=figure_id, limit=2.0)


@pytest.mark.parametrize("figure_id", ["", "Cost", "cost-per-million", "2_workers", "cost__wall", "cost_"])
def test_figure_id_not_snake_case_is_refused(figure_id):
    with pytest.raises(ValueError, match="snake_case"):
        figure(figure_id)


def test_record_id_taken_twice_in_a_session_fails(monkeypatch):
    monkeypatch.setattr(harness, "FIGURES", [])
    harness.record(figure("wru_page_track"))
    with pytest.raises(AssertionError, match="'wru_page_track' recorded twice"):
        harness.record(figure("wru_page_track", name="another figure"))
    assert [f.name for f in harness.FIGURES] == ["write units per event"]


def test_write_json_carries_each_id_and_refuses_a_duplicate(tmp_path):
    path = tmp_path / "bench.json"
    harness.write_json([figure("processor_vs_raw"), figure("processor_events_per_second_8_workers")], path)
    written = json.loads(path.read_text(encoding="utf-8"))["figures"]
    assert [(f["id"], f["target"], f["ok"]) for f in written] == [
        ("processor_vs_raw", "<= 2", True),
        ("processor_events_per_second_8_workers", "<= 2", True),
    ]
    with pytest.raises(AssertionError, match=r"\['cost_per_million_wall'\]"):
        harness.write_json([figure("cost_per_million_wall"), figure("cost_per_million_wall")], path)


def test_table_shows_each_figure_id():
    lines = harness.table([figure("wru_page_track")]).splitlines()
    assert lines[2].split()[-2:] == ["ok", "wru_page_track"]
