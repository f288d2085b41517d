"""A retailer's purchase history as a CSV, read and checked once for every backtest (replenishment
timing, recommendations): stdlib csv, UTF-8 (a BOM is fine); the columns customer_id, product_id,
quantity and timestamp (ISO-8601; without an offset it is read as UTC), and optionally basket_id,
product_type and product_category. A bad file is refused naming the line and the column."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REQUIRED = ("customer_id", "product_id", "quantity", "timestamp")


class BacktestInputError(ValueError):
    """The purchases file cannot be used; the message names the column and the line."""


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    line: int
    customer_id: str
    product_id: str
    quantity: float
    at: datetime
    product_type: str | None = None
    product_category: str | None = None
    basket_id: str | None = None


def read_purchases(path: Path) -> list[PurchaseRow]:
    """The rows of a purchases CSV, validated (BacktestInputError names the column and line)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            return list(_rows(reader, path))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BacktestInputError(f"{path}, line {reader.line_num + 1}: {exc}") from None


def _rows(reader: csv.DictReader[str], path: Path) -> Iterator[PurchaseRow]:
    if reader.fieldnames is None:
        raise BacktestInputError(f"{path}: empty file; expected the columns {', '.join(REQUIRED)}")
    reader.fieldnames = [name.strip() for name in reader.fieldnames]
    for column in REQUIRED:
        if column not in reader.fieldnames:
            raise BacktestInputError(f"{path}, line 1: missing column {column!r}")
    for record in reader:
        line = reader.line_num

        def value(column: str, record: dict[str, str | None] = record, line: int = line) -> str:
            text = (record.get(column) or "").strip()
            if not text:
                raise BacktestInputError(f"{path}, line {line}: empty {column}")
            return text

        yield PurchaseRow(
            line=line,
            customer_id=value("customer_id"),
            product_id=value("product_id"),
            quantity=_quantity(value("quantity"), f"{path}, line {line}"),
            at=_timestamp(value("timestamp"), f"{path}, line {line}"),
            product_type=(record.get("product_type") or "").strip() or None,
            product_category=(record.get("product_category") or "").strip() or None,
            basket_id=(record.get("basket_id") or "").strip() or None,
        )


def _quantity(text: str, where: str) -> float:
    try:
        quantity = float(text)
    except ValueError:
        quantity = math.nan
    if not math.isfinite(quantity):
        raise BacktestInputError(f"{where}: quantity {text!r} is not a number")
    return quantity


def _timestamp(text: str, where: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestInputError(f"{where}: timestamp {text!r} is not an ISO-8601 time") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
