"""What `make bench` measures and how it reports: each benchmark records figures; the session
prints one table and writes bench.json; a figure with a target that it misses fails its test.

A figure is a ratio or an amount measured in this run (never compared with a constant from
another machine, except the list prices in ../shared/docs/anchors.md)."""

from __future__ import annotations

import json
import platform
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

# list prices, us-east-1 (docs/performance.md, ../shared/docs/anchors.md)
PRICE_WRITE_UNIT = 0.625 / 1e6
PRICE_READ_UNIT = 0.125 / 1e6
PRICE_LAMBDA_REQUEST = 0.20 / 1e6
PRICE_LAMBDA_GB_SECOND_ARM = 0.0000133334
PRICE_SQS_REQUEST = 0.40 / 1e6  # per 64 KB chunk
PRICE_HTTP_API_REQUEST = 1.00 / 1e6


ID = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@dataclass
class Figure:
    # stable across runs and unique in a session (snake_case): what bench.json is compared by
    id: str = field(kw_only=True)
    section: str  # the letter: a, b, c, d, e
    name: str
    value: float
    unit: str
    limit: float | None = None  # the target, when there is one
    direction: Literal["at_most", "at_least"] = "at_most"
    note: str = ""
    detail: dict[str, object] = field(default_factory=dict)
    # a target this code does not reach yet, with where docs/performance.md says why and what would
    # reach it: reported as a miss, not failed (a target that was reached and regresses fails)
    documented_miss: str = ""

    def __post_init__(self) -> None:
        if not ID.fullmatch(self.id):
            raise ValueError(f"figure id {self.id!r} ({self.name}): snake_case, a letter first")

    @property
    def ok(self) -> bool | None:
        if self.limit is None:
            return None
        return self.value <= self.limit if self.direction == "at_most" else self.value >= self.limit

    @property
    def target(self) -> str:
        if self.limit is None:
            return ""
        return f"{'<=' if self.direction == 'at_most' else '>='} {self.limit:g}"


FIGURES: list[Figure] = []


def record(figure: Figure) -> Figure:
    """Keep ``figure`` for the table and bench.json; returns it (assert ``figure.ok`` to check).
    Its id must not be taken by a figure recorded before in this session."""
    taken = next((f for f in FIGURES if f.id == figure.id), None)
    assert taken is None, f"figure id {figure.id!r} recorded twice: {taken.name!r} and {figure.name!r}"
    FIGURES.append(figure)
    return figure


def unique_ids(figures: list[Figure]) -> None:
    """Every figure's id is its own: bench.json's figures are compared across runs by id."""
    twice = sorted(i for i, n in Counter(f.id for f in figures).items() if n > 1)
    assert not twice, f"figure ids recorded more than once: {twice}"


def check(*figures: Figure) -> None:
    """Fail on a missed target unless docs/performance.md documents the miss."""
    missed = [
        f"{f.name}: {f.value:.4g} {f.unit}, target {f.target}"
        for f in figures
        if f.ok is False and not f.documented_miss
    ]
    assert not missed, "targets missed: " + "; ".join(missed)


def table(figures: list[Figure]) -> str:
    lines = [f"{'':2}{'figure':<64} {'value':>12} {'unit':<22} {'target':<10} {'':6}{'id'}", "-" * 150]
    for section in sorted({f.section for f in figures}):
        for f in (f for f in figures if f.section == section):
            mark = {True: "ok", False: "MISS*" if f.documented_miss else "MISS", None: ""}[f.ok]
            value = f"{f.value:,.4g}" if abs(f.value) < 1e6 else f"{f.value:,.0f}"
            lines.append(
                f"{f.section:<2}{f.name:<64} {value:>12} {f.unit:<22} {f.target:<10} {mark:<6}{f.id}"
            )
    return "\n".join(lines)


def write_json(figures: list[Figure], path: Path) -> None:
    unique_ids(figures)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.machine(),
        },
        "figures": [{**asdict(f), "target": f.target, "ok": f.ok} for f in figures],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
