"""Replenishment reminders: scheduling on purchase, and the sweep that fires the due ones.

On every purchase (any channel) the processor recomputes, for each product of the order, the
prediction after the customer's latest purchase of it (asusual.triggers.replenishment) and keeps
one reminder per (profile, product): a repurchase reschedules it, or cancels it when the
evidence no longer suffices. A pending reminder sits in the due-time index (gsi1
`DUE#<yyyy-mm-dd>`, sorted by due time), which the hourly sweep reads for the last few days up to
now only (a missed sweep is caught up by the next one): its cost grows with
the reminders due, not with the number of customers (docs/architecture.md says why an index and
not EventBridge Scheduler one-time schedules).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import CatalogProduct
from asusual.errors import Conflict, TransientError
from asusual.localtime import own_zone
from asusual.profiles.birthday import has_marketing_consent, plausible_zones
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileRepository, live_profiles
from asusual.profiles.state import ProfileState
from asusual.triggers.models import Intent, ReplenishmentFacts, SweepReport, Topic, make_intent
from asusual.triggers.ports import IntentPublisher
from asusual.triggers.replenishment import (
    IntervalStats,
    Prediction,
    PurchasePoint,
    ReplenishmentPolicy,
    interval_observation,
    predict,
    purchase_points,
)

MAX_ATTEMPTS = 8
OBSERVATION_TTL = timedelta(days=400)  # longer than any replay: a counted interval never counts twice


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Reminder(BaseModel):
    """pk=PROFILE#<profile_id>, sk=REMIND#<product_id>; in the due index while pending."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    product_id: str
    version: int = 0
    status: ReminderStatus
    last_purchase_at: datetime
    quantity: float
    channel: str | None = None
    product_name: str | None = None
    per_unit_days: float | None = None
    runout_at: datetime | None = None
    remind_at: datetime | None = None
    basis: str | None = None
    reason: str | None = Field(default=None, description="why it was cancelled or skipped")
    updated_at: datetime


def observation_id(profile_id: str, product_id: str, purchased_at: str) -> str:
    """The once-only key of one repeat-purchase interval: a hash, so the marker that outlives the
    purchase by 400 days names neither the customer nor the product."""
    return hashlib.sha256(f"{profile_id}#{product_id}#{purchased_at}".encode()).hexdigest()[:32]


def due_bucket(instant: datetime) -> str:
    """The due-time index partition of an instant: one per UTC day."""
    return f"DUE#{instant:%Y-%m-%d}"


class ReminderRepository(Protocol):
    def reminder(self, profile_id: str, product_id: str) -> Reminder | None:
        """Strongly consistent read."""
        ...

    def save_reminder(self, reminder: Reminder, expected_version: int | None) -> None:
        """Conditional on the version read (None: must not exist); raises Conflict. A pending
        reminder is written into the due index, any other status out of it."""
        ...

    def due_reminders(self, bucket: str, until: datetime) -> list[Reminder]:
        """Pending reminders of one due-index partition with remind_at ≤ until (the index is
        eventually consistent: callers re-read)."""
        ...

    def population(self, keys: Sequence[str]) -> dict[str, IntervalStats]:
        """Interval statistics of population levels (``product#<id>``, ``category#<name>``)."""
        ...

    def record_interval(
        self, observation_id: str, keys: Sequence[str], days: float, expires_at: datetime
    ) -> bool:
        """Count one repeat-purchase interval into each level, once per observation id (a
        conditional marker, kept until ``expires_at``, and the counters in one transaction);
        False if already counted."""
        ...


class CatalogReader(Protocol):
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]: ...


def population_levels(product_id: str, category: str | None) -> list[tuple[str, str]]:
    """(level, key) most specific first: the product, then its category."""
    levels = [("product", f"product#{product_id}")]
    if category:
        levels.append(("category", f"category#{category.strip().lower()}"))
    return levels


def _history(state: ProfileState, product_id: str) -> tuple[list[PurchasePoint], str | None, str | None]:
    """The customer's purchases of a product (any channel), the channel and name of the last."""
    raw: list[tuple[datetime, float]] = []
    last: tuple[datetime, str | None, str | None] | None = None
    for order in state.orders.values():
        for line in order.products:
            if line.product_id != product_id:
                continue
            raw.append((order.at, line.quantity))
            if last is None or order.at >= last[0]:
                last = (order.at, order.channel, line.name)
    return purchase_points(raw), (last[1] if last else None), (last[2] if last else None)


def plan(
    existing: Reminder | None,
    prediction: Prediction | None,
    latest: PurchasePoint,
    *,
    profile_id: str,
    product_id: str,
    channel: str | None,
    name: str | None,
    now: datetime,
) -> Reminder | None:
    """The reminder to store after a purchase, or None when nothing changes."""
    if existing is not None:
        if existing.last_purchase_at > latest.at:
            return None  # a newer purchase is already planned for
        if existing.last_purchase_at == latest.at and existing.status is not ReminderStatus.PENDING:
            return None  # this purchase's reminder already went out (or was dropped): never again
    if prediction is None:
        if existing is not None and existing.status is ReminderStatus.PENDING:
            return existing.model_copy(
                update={
                    "status": ReminderStatus.CANCELLED,
                    "reason": "repurchased; not enough evidence to predict the next run-out",
                    "last_purchase_at": latest.at,
                    "quantity": latest.quantity,
                    "updated_at": now,
                }
            )
        return None
    reminder = Reminder(
        profile_id=profile_id,
        product_id=product_id,
        version=existing.version if existing else 0,
        status=ReminderStatus.PENDING,
        last_purchase_at=prediction.last_purchase_at,
        quantity=prediction.quantity,
        channel=channel,
        product_name=name,
        per_unit_days=round(prediction.per_unit_days, 3),
        runout_at=prediction.runout_at,
        remind_at=prediction.remind_at,
        basis=prediction.basis,
        updated_at=now,
    )
    if existing is not None and existing.model_copy(update={"updated_at": now}) == reminder:
        return None
    return reminder


def schedule_purchase(
    event_time: datetime,
    profile: Profile,
    product_ids: Sequence[str],
    repo: ReminderRepository,
    catalog: CatalogReader,
    policy: ReplenishmentPolicy,
    now: datetime,
) -> list[Reminder]:
    """After a purchase at ``event_time``: count its intervals into the population, then
    (re)schedule or cancel the reminder of each product. Idempotent: run it again and nothing
    changes. Returns the reminders written."""
    state = profile.state()
    products = catalog.get_products(set(product_ids))
    histories = {pid: _history(state, pid) for pid in product_ids}
    levels: dict[str, list[tuple[str, str]]] = {}
    for pid in product_ids:
        category = products[pid].category if pid in products else _line_category(state, pid)
        levels[pid] = population_levels(pid, category)
        days = interval_observation(histories[pid][0], event_time)
        if days is not None:
            repo.record_interval(
                observation_id(profile.profile_id, pid, event_time.isoformat()),
                [k for _, k in levels[pid]],
                days,
                now + OBSERVATION_TTL,
            )
    stats = repo.population(sorted({k for lv in levels.values() for _, k in lv}))
    written = []
    for pid in product_ids:
        points, channel, line_name = histories[pid]
        if not points:
            continue
        catalog_item = products.get(pid)
        prediction = predict(
            points,
            catalog_days=catalog_item.replenish_days if catalog_item else None,
            population=[
                (level, stats.get(key) or IntervalStats.from_counts({})) for level, key in levels[pid]
            ],
            policy=policy,
        )
        name = catalog_item.name if catalog_item else line_name
        saved = _save_plan(repo, profile.profile_id, pid, prediction, points[-1], channel, name, now)
        if saved is not None:
            written.append(saved)
    return written


def _line_category(state: ProfileState, product_id: str) -> str | None:
    categories = [
        (order.at, line.category)
        for order in state.orders.values()
        for line in order.products
        if line.product_id == product_id and line.category
    ]
    return max(categories)[1] if categories else None


def _save_plan(
    repo: ReminderRepository,
    profile_id: str,
    product_id: str,
    prediction: Prediction | None,
    latest: PurchasePoint,
    channel: str | None,
    name: str | None,
    now: datetime,
) -> Reminder | None:
    for _attempt in range(MAX_ATTEMPTS):
        existing = repo.reminder(profile_id, product_id)
        planned = plan(
            existing,
            prediction,
            latest,
            profile_id=profile_id,
            product_id=product_id,
            channel=channel,
            name=name,
            now=now,
        )
        if planned is None:
            return None
        try:
            expected = existing.version if existing is not None else None
            repo.save_reminder(planned.model_copy(update={"version": planned.version + 1}), expected)
        except Conflict:
            continue
        return planned
    raise TransientError("reminder changed concurrently too often; retry")


def sweep(
    repo: ReminderRepository,
    profiles: ProfileRepository,
    catalog: CatalogReader,
    publisher: IntentPublisher,
    now: datetime,
    lookback: timedelta,
) -> SweepReport:
    """Emit an intent for every pending reminder that is due, once."""
    days = lookback.days
    buckets = [due_bucket(now - timedelta(days=d)) for d in range(days, -1, -1)]
    candidates = [r for bucket in buckets for r in repo.due_reminders(bucket, now)]
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    due: list[Reminder] = []
    for candidate in candidates:
        current = repo.reminder(candidate.profile_id, candidate.product_id)  # the index may lag
        if (
            current is None
            or current.status is not ReminderStatus.PENDING
            or current.remind_at is None
            or current.remind_at > now
        ):
            skip("changed_since_indexed")
            continue
        due.append(current)
    live = live_profiles(profiles, {r.profile_id for r in due})
    names = catalog.get_products({r.product_id for r in due})
    ready: list[tuple[Reminder, Intent]] = []
    for reminder in due:
        profile = live.get(reminder.profile_id)
        if profile is None:
            _close(repo, reminder, ReminderStatus.CANCELLED, "the profile no longer exists", now)
            skip("no_profile")
            continue
        state = profile.state()
        if not has_marketing_consent(state):
            _close(repo, reminder, ReminderStatus.SKIPPED, "no marketing consent when due", now)
            skip("no_marketing_consent")
            continue
        product = names.get(reminder.product_id)
        zones = plausible_zones(state, None)
        local = own_zone(zones)
        ready.append((reminder, _intent(reminder, profile.profile_id, product, now, local)))
    if ready:
        publisher.publish([intent for _, intent in ready])
    for reminder, _intent_sent in ready:
        _close(repo, reminder, ReminderStatus.SENT, None, now)
    return SweepReport(
        sweep="replenishment",
        now=now,
        partitions=buckets,
        read=len(candidates),
        emitted=len(ready),
        skipped=skipped,
    )


def _close(
    repo: ReminderRepository, reminder: Reminder, status: ReminderStatus, reason: str | None, now: datetime
) -> None:
    closed = reminder.model_copy(
        update={"status": status, "reason": reason, "updated_at": now, "version": reminder.version + 1}
    )
    with contextlib.suppress(Conflict):  # a repurchase rescheduled it meanwhile: the new plan stands
        repo.save_reminder(closed, reminder.version)


def days_between(earlier: datetime, later: datetime, local: tzinfo | None) -> int:
    """Whole calendar days between two instants in the customer's zone (UTC when unknown):
    bought on the 1st, reminded on the 27th → 26, whatever the hour or a DST change between."""
    tz = local or UTC
    return (later.astimezone(tz).date() - earlier.astimezone(tz).date()).days


def _intent(
    reminder: Reminder, profile_id: str, product: CatalogProduct | None, now: datetime, local: tzinfo | None
) -> Intent:
    assert reminder.runout_at is not None
    facts = ReplenishmentFacts(
        product_id=reminder.product_id,
        product_name=product.name if product else reminder.product_name,
        last_purchase_at=reminder.last_purchase_at,
        last_purchase_channel=reminder.channel,
        quantity=reminder.quantity,
        days_since=days_between(reminder.last_purchase_at, now, local),
        expected_runout_at=reminder.runout_at,
        basis=reminder.basis or "",
    )
    key = f"replenishment:{reminder.profile_id}:{reminder.product_id}:{reminder.last_purchase_at.isoformat()}"
    return make_intent(profile_id, Topic.MARKETING, key, facts, now)
