"""Tests of the triggers; ``write_purchases`` writes a purchases CSV for the backtest tests."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
COLUMNS = ("customer_id", "product_id", "quantity", "timestamp", "product_type", "product_category")


def day(days: float) -> datetime:
    return T0 + timedelta(days=days)


def write_purchases(path: Path, rows: list[tuple[object, ...]], columns: tuple[str, ...] = COLUMNS) -> Path:
    """Rows as (customer, product, quantity, day offset or datetime, [product_type, product_category])."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            at = row[3]
            stamp = (at if isinstance(at, datetime) else day(float(at))).isoformat()
            writer.writerow([*row[:3], stamp.replace("+00:00", "Z"), *row[4:]])
    return path


def every(days: float, customers: int, purchases: int, product: str = "milk", stagger: float = 1) -> list:
    """``customers`` buying ``product`` every ``days`` days exactly, customer c starting on day c*stagger."""
    return [
        (f"c{c}", product, 1, c * stagger + k * days, "MILK WHITE", "DAIRY")
        for c in range(customers)
        for k in range(purchases)
    ]
