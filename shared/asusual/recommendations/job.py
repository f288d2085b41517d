"""The recommendations job (hourly, EventBridge): folds the baskets logged since its watermark into
the stored model, one hour bucket at a time, reading only those buckets (docs/recommendations.md).

Exactly once, whatever crashes and overlapping runs do: each product row records the last bucket
folded into it (``through``) and is written conditionally on its version, so a row already holding
a bucket is skipped and a row another run changed meanwhile is read again and redone; the
popularity pool takes each product's total (a maximum, so a repeat changes nothing); the watermark
moves forward conditionally, after its bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from asusual.errors import Conflict, TransientError
from asusual.recommendations.cooccurrence import CoOccurrence
from asusual.recommendations.model import (
    NEIGHBOURS,
    POOL,
    ModelStore,
    Neighbours,
    Popularity,
    Watermark,
    load_rows,
    row_of,
)
from asusual.triggers.ports import BasketRecord

MAX_ATTEMPTS = 8
SETTLE = timedelta(minutes=2)  # a bucket is read once its hour ended this long ago (index lag)


def bucket_of(instant: datetime) -> str:
    """The log bucket of an instant: its UTC hour, ``yyyy-mm-ddThh``."""
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H}"


def _hour(bucket: str) -> datetime:
    return datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC)


def buckets_due(watermark: Watermark | None, now: datetime, first_lookback: timedelta) -> Iterator[str]:
    """The complete hours after the watermark (without one: those of the last ``first_lookback``)."""
    last = _hour(bucket_of(now - SETTLE)) - timedelta(hours=1)
    start = _hour(watermark.through) + timedelta(hours=1) if watermark and watermark.through else None
    hour = start if start is not None else _hour(bucket_of(now - first_lookback))
    while hour <= last:
        yield bucket_of(hour)
        hour += timedelta(hours=1)


class JobReport(BaseModel):
    buckets: int = 0
    baskets: int = 0
    rows_written: int = 0
    rows_skipped: int = 0  # already held their bucket (a repeat run)
    retries: int = 0
    through: str | None = None


def fold_bucket(
    store: ModelStore, bucket: str, baskets: list[BasketRecord], report: JobReport
) -> dict[str, int]:
    """Fold one bucket's baskets into the rows of every product they name; each product's basket
    count after it."""
    touched = {p for basket in baskets for p in (*basket.products, *basket.previous, *basket.viewed)}
    totals: dict[str, int] = {}
    pending = touched
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            report.retries += 1
        stored = store.neighbours(pending)
        rows_to_fold: dict[str, Neighbours | None] = {}
        for product in pending:
            row = stored.get(product)
            if row is not None and row.through is not None and row.through >= bucket:
                report.rows_skipped += 1
                totals[product] = row.baskets
            else:
                rows_to_fold[product] = row
        model = load_rows(
            CoOccurrence(neighbours=NEIGHBOURS, pool=POOL), [r for r in rows_to_fold.values() if r]
        )
        for basket in sorted(baskets, key=lambda b: (b.at, b.order_id)):
            model.add_basket(basket.products, basket.previous, basket.viewed)
        conflicts: set[str] = set()
        for product in sorted(rows_to_fold):
            old = rows_to_fold[product]
            row = row_of(model, product, bucket, (old.version if old else 0) + 1)
            try:
                store.save_neighbours(row, old.version if old else None)
            except Conflict:
                conflicts.add(product)
                continue
            report.rows_written += 1
            totals[product] = row.baskets
        if not conflicts:
            return totals
        pending = conflicts
    raise TransientError("recommendation rows changed concurrently too often; retry")


def merge_popularity(store: ModelStore, totals: dict[str, int]) -> None:
    """The pool keeps the POOL most bought products: each product's latest total (never less)."""
    if not totals:
        return
    for _attempt in range(MAX_ATTEMPTS):
        current = store.popularity()
        counts = dict(current.counts)
        for product, total in totals.items():
            if total:
                counts[product] = max(counts.get(product, 0), total)
        kept = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:POOL]
        updated = Popularity(counts=dict(kept), version=current.version + 1)
        try:
            store.save_popularity(updated, current.version if current.version else None)
        except Conflict:
            continue
        return
    raise TransientError("the popularity pool changed concurrently too often; retry")


def run_job(store: ModelStore, now: datetime, first_lookback: timedelta) -> JobReport:
    """Fold every complete bucket since the watermark, in order, moving the watermark after each."""
    report = JobReport()
    watermark = store.watermark()
    report.through = watermark.through if watermark else None
    for bucket in buckets_due(watermark, now, first_lookback):
        baskets = store.baskets(bucket)
        report.buckets += 1
        report.baskets += len(baskets)
        if baskets:
            merge_popularity(store, fold_bucket(store, bucket, baskets, report))
        moved = Watermark(through=bucket, version=(watermark.version if watermark else 0) + 1, updated_at=now)
        try:
            store.save_watermark(moved, watermark.version if watermark else None)
        except Conflict:
            return report  # another run moved it: it goes on from there
        watermark = moved
        report.through = bucket
    return report
