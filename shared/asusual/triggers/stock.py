"""Back in stock and price drop (issue 21): who wanted a product, and telling them when it changes.

**Interest.** The event processor records, per (profile, product), the latest time the customer
viewed the product (``Product Viewed``) or added it to the cart (``Product Added``), in the
product's interest index (:class:`InterestIndex`, gsi1 ``INTEREST#<product_id>``, sorted by time).
A view is written only when the profile has no other view of the product in the day before it
(decided from the profile after the event, leaving out views at this event's own time, so a
redelivery decides the same way): a customer browsing a product all day costs one write a day.
An add is always written (it says more than a view: the message then says "added to your cart").
The write is conditional: an older time never replaces a newer one. The index entry expires
``ASUSUAL_INTEREST_DAYS`` (30) after its time, and the fan-out reads only entries newer than that.

**Fan-out.** A catalog upload announces each restock or price drop it made
(:mod:`asusual.catalog.changes`) on the stock queue; the stock worker takes one page a message:
it checks that the catalog still shows the change, Queries the interest index (never a scan) for
up to ``ASUSUAL_STOCK_PAGE_SIZE`` entries of the window after the page's cursor, resolves each
profile to the live one it is (or was merged into, so a customer with two merged profiles is
told once: the send-once key names the live profile), skips customers without marketing consent
or who bought the product since, publishes one intent each, saves the page's progress
(conditional on the position it read) and sends the next page's message. A replayed page finds
its position passed and stops (after a crash between the progress and the next message, its
retry sends the next message again), so the chain never forks; intents published twice are sent
once (send-once keys: the restock's time, or the dropped price: a price flapping 3000 → 2400 →
3000 → 2400 tells once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.changes import ChangeKind, ProductChange
from asusual.catalog.models import CatalogProduct
from asusual.intake.models import MAX_ID_LENGTH, EventType, IntakeEvent
from asusual.localtime import local_now
from asusual.profiles.birthday import has_marketing_consent, plausible_zones
from asusual.profiles.facts import PRODUCT_VIEWED
from asusual.profiles.processor import Outcome, ProfileLoader, live_profiles
from asusual.triggers.kinds.wanted import bought_since
from asusual.triggers.models import (
    BackInStockFacts,
    Intent,
    Interest,
    Interested,
    PriceDropFacts,
    Topic,
    make_intent,
)
from asusual.triggers.ports import IntentPublisher

PRODUCT_ADDED = "Product Added"
VIEW_REFRESH = timedelta(days=1)  # a view re-recorded at most once a day per product
DONE = "done"


# -- interest ------------------------------------------------------------------------------------
def interest_of(event: IntakeEvent, outcome: Outcome, window: timedelta, now: datetime) -> Interest | None:
    """The interest the applied event records, or None: not a view or add, no product id, older
    than the window on arrival, or a view within a day after another view of the product."""
    if event.type is not EventType.TRACK or outcome.profile is None or outcome.profile_id is None:
        return None
    how: Interested
    if event.event == PRODUCT_VIEWED:
        how = "viewed"
    elif event.event == PRODUCT_ADDED:
        how = "added"
    else:
        return None
    product_id = _product_id(event)
    if product_id is None or event.timestamp + window <= now:
        return None
    at = event.timestamp
    if how == "viewed":
        views = outcome.profile.state().views.get(product_id)
        if views is not None and any(at - VIEW_REFRESH < t < at for t in views.at):
            return None
    return Interest(profile_id=outcome.profile_id, product_id=product_id, at=at, how=how)


def _product_id(event: IntakeEvent) -> str | None:
    props = event.properties
    raw = next((props[k] for k in ("product_id", "sku", "id") if props.get(k) not in (None, "")), None)
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    return str(raw)[:MAX_ID_LENGTH]


# -- fan-out -------------------------------------------------------------------------------------
class StockJob(BaseModel):
    """One page of a change's fan-out (the stock queue's message)."""

    model_config = ConfigDict(frozen=True)

    change: ProductChange
    cursor: str | None = Field(default=None, description="the interest index position after which to read")


class InterestIndex(Protocol):
    def interested(
        self, product_id: str, since: datetime, limit: int, cursor: str | None
    ) -> tuple[list[Interest], str | None]:
        """Up to ``limit`` interests in the product, at or after ``since``, after ``cursor`` (time
        order); the next cursor, None at the end."""
        ...


class FanoutProgress(Protocol):
    def position(self, change_id: str) -> tuple[str, str] | None:
        """(position, previous position) of the change's fan-out; None before its first page."""
        ...

    def advance(self, change_id: str, at: str | None, to: str, now: datetime) -> bool:
        """Move the position from ``at`` (None: no fan-out yet) to ``to``; False when it is not at
        ``at`` any more (another delivery of the page did it)."""
        ...


class StockJobs(Protocol):
    def send(self, jobs: Sequence[StockJob]) -> None: ...


class ProductReader(Protocol):
    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]: ...


@dataclass
class FanoutDeps:
    catalog: ProductReader
    interests: InterestIndex
    progress: FanoutProgress
    jobs: StockJobs
    profiles: ProfileLoader
    publisher: IntentPublisher
    window: timedelta = timedelta(days=30)
    page_size: int = 500
    default_country: str | None = None


@dataclass
class FanoutReport:
    change_id: str
    outcome: str  # page | done | stale | no_longer_holds | resent | raced
    read: int = 0
    emitted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def fanout_page(job: StockJob, deps: FanoutDeps, now: datetime, *, retried: bool = False) -> FanoutReport:
    change = job.change
    report = FanoutReport(change_id=change.change_id, outcome="stale")
    stored = deps.progress.position(change.change_id)
    if (stored[0] if stored else None) != job.cursor:
        if retried and stored is not None and stored[1] == (job.cursor or "") and stored[0] != DONE:
            deps.jobs.send(
                [job.model_copy(update={"cursor": stored[0]})]
            )  # progress saved, successor maybe not
            report.outcome = "resent"
        return report
    current = deps.catalog.get_products({change.product_id}).get(change.product_id)
    if not change.holds(current):
        deps.progress.advance(change.change_id, job.cursor, DONE, now)
        report.outcome = "no_longer_holds"
        return report
    assert current is not None
    interests, cursor = deps.interests.interested(
        change.product_id, now - deps.window, deps.page_size, job.cursor
    )
    report.read = len(interests)
    intents = _intents(change, current, interests, deps, now, report.skipped)
    if intents:
        deps.publisher.publish(intents)
    report.emitted = len(intents)
    following = cursor if cursor is not None else DONE
    if not deps.progress.advance(change.change_id, job.cursor, following, now):
        report.outcome = "raced"
        return report
    if cursor is not None:
        deps.jobs.send([job.model_copy(update={"cursor": cursor})])
        report.outcome = "page"
    else:
        report.outcome = "done"
    return report


def _intents(
    change: ProductChange,
    product: CatalogProduct,
    interests: list[Interest],
    deps: FanoutDeps,
    now: datetime,
    skipped: dict[str, int],
) -> list[Intent]:
    live = live_profiles(deps.profiles, {i.profile_id for i in interests})
    latest: dict[str, Interest] = {}  # live profile id → its latest interest
    for interest in interests:
        profile = live.get(interest.profile_id)
        if profile is None:
            skipped["unknown_profile"] = skipped.get("unknown_profile", 0) + 1
            continue
        kept = latest.get(profile.profile_id)
        if kept is None or (interest.at, interest.how == "added") > (kept.at, kept.how == "added"):
            latest[profile.profile_id] = interest
    intents = []
    profiles = {p.profile_id: p for p in live.values()}
    for profile_id, interest in sorted(latest.items()):
        state = profiles[profile_id].state()
        if not has_marketing_consent(state):
            reason = "no_consent"
        elif bought_since(state, change.product_id, interest.at):
            reason = "already_bought"
        else:
            zones = plausible_zones(state, deps.default_country)
            intents.append(_intent(change, product, profile_id, interest, local_now(interest.at, zones), now))
            continue
        skipped[reason] = skipped.get(reason, 0) + 1
    return intents


def _intent(
    change: ProductChange,
    product: CatalogProduct,
    profile_id: str,
    interest: Interest,
    local_at: datetime,
    now: datetime,
) -> Intent:
    common = {
        "product_id": change.product_id,
        "product_name": product.name,
        "interest": interest.how,
        "interested_at": interest.at,
        "interested_on": local_at.date(),
        "changed_at": change.changed_at,
    }
    if change.change is ChangeKind.BACK_IN_STOCK:
        key = f"back_in_stock:{profile_id}:{change.product_id}:{change.changed_at.isoformat()}"
        return make_intent(profile_id, Topic.MARKETING, key, BackInStockFacts(**common), now)
    facts = PriceDropFacts(
        **common, price=change.price, previous_price=change.previous_price, currency=change.currency
    )
    key = f"price_drop:{profile_id}:{change.product_id}:{change.price.normalize():f}:{change.currency}"
    return make_intent(profile_id, Topic.MARKETING, key, facts, now)
