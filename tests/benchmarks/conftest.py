"""`make bench`: the session prints every recorded figure and writes bench.json at the repository
root (ignored by git)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.harness import FIGURES, table, write_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once() -> Iterator[None]:
    """Off here (see tests/conftest.py): the figures include building clients as Lambda does."""
    yield


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    terminalreporter.write_sep("=", "asusual benchmarks")
    terminalreporter.write_line(table(FIGURES))
    path = ROOT / "bench.json"
    write_json(FIGURES, path)
    missed = [f for f in FIGURES if f.ok is False]
    documented = [f for f in missed if f.documented_miss]
    terminalreporter.write_line(
        f"\n{len(FIGURES)} figures, {len(missed)} target(s) missed ({len(documented)} documented, MISS*: "
        f"docs/performance.md says why and what would reach them); written to {path}"
    )
