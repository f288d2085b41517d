"""In-memory fakes of the dispatcher's ports, faithful to the store's conditional semantics.

- FakeMessages (MessageRepository): the send-once key is taken once (a second reserve is a
  DUPLICATE); the caps ledger is written only over the version it was read at (else CONFLICT);
  deferrals are one per intent, bucketed by their UTC release hour, dropped only at the release
  time they were read with.
- FakeDecisions (DecisionRepository): the first day offer and the first price per (profile, local
  day, product) are kept; every call is logged with the simulated time, for the audit.
- FakeCatalog (CatalogReader, OfferPool): prices follow a schedule of changes in time.
- FakeProfiles (ProfileRepository): only what ``live_profiles`` and ``decide`` need.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.records import (
    CapsLedger,
    Deferred,
    MessageRecord,
    MessageStatus,
    ReserveOutcome,
    release_bucket,
)
from asusual.identity.models import Identifier
from asusual.offers.models import DayOffer
from asusual.profiles.model import Profile


@dataclass
class SimClock:
    """The simulated now, shared by the fakes that log when they were asked."""

    now: datetime = datetime(2027, 1, 1, tzinfo=UTC)


class FakeProfiles:
    """Only the reads the dispatcher and the decide API make (live_profiles: load, owners)."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.claims: dict[Identifier, str] = {}

    def put(self, profile: Profile, identifiers: Iterable[Identifier] = ()) -> None:
        self.profiles[profile.profile_id] = profile
        for identifier in identifiers:
            self.claims[identifier] = profile.profile_id

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        return {i: self.profiles[i] for i in profile_ids if i in self.profiles}

    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]:
        return {i: self.claims[i] for i in identifiers if i in self.claims}


class FakeMessages:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # send-once key -> message id
        self.records: dict[str, MessageRecord] = {}
        self.ledgers: dict[str, CapsLedger] = {}
        self.deferred: dict[str, Deferred] = {}  # intent id -> the deferral (one per intent)
        # run once, right after the next caps() read: another dispatcher acting between this
        # caller's read and its reservation
        self.after_caps_read: list[Callable[[], None]] = []
        self.conflicts = 0
        self.duplicates_at_reserve = 0

    def send_record(self, send_once_key: str) -> str | None:
        return self.keys.get(send_once_key)

    def caps(self, profile_id: str) -> CapsLedger:
        ledger = self.ledgers.get(profile_id) or CapsLedger(profile_id=profile_id)
        if self.after_caps_read:
            self.after_caps_read.pop(0)()  # the caller now holds a ledger that is out of date
        return ledger

    def reserve(self, record: MessageRecord, ledger: CapsLedger | None) -> ReserveOutcome:
        if record.send_once_key in self.keys:
            self.duplicates_at_reserve += 1
            return ReserveOutcome.DUPLICATE
        if ledger is not None:
            stored = self.ledgers.get(ledger.profile_id)
            if (stored.version if stored else 0) != ledger.version - 1:
                self.conflicts += 1
                return ReserveOutcome.CONFLICT
            self.ledgers[ledger.profile_id] = ledger
        self.keys[record.send_once_key] = record.message_id
        self.records[record.message_id] = record
        return ReserveOutcome.RESERVED

    def _finish(self, record: MessageRecord) -> None:
        assert self.keys.get(record.send_once_key) == record.message_id, "finishing a message not reserved"
        self.records[record.message_id] = record

    def mark_sent(self, record: MessageRecord, provider_id: str | None) -> None:
        self._finish(record.model_copy(update={"status": MessageStatus.SENT, "provider_id": provider_id}))

    def mark_failed(self, record: MessageRecord, error: str) -> None:
        self._finish(record.model_copy(update={"status": MessageStatus.FAILED, "error": error}))

    def release(self, record: MessageRecord) -> None:
        if self.keys.get(record.send_once_key) != record.message_id:
            return
        if self.records[record.message_id].status is not MessageStatus.SENDING:
            return
        del self.keys[record.send_once_key]
        del self.records[record.message_id]
        ledger = self.ledgers.get(record.profile_id)
        if ledger is not None and record.message_id in ledger.sends:
            self.ledgers[record.profile_id] = ledger.without(record.message_id)

    def message(self, message_id: str) -> MessageRecord | None:
        return self.records.get(message_id)

    def messages_of(self, profile_id: str, limit: int) -> list[MessageRecord]:
        mine = [r for r in self.records.values() if r.profile_id == profile_id]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)[:limit]

    def defer(self, deferred: Deferred) -> None:
        self.deferred[deferred.intent.intent_id] = deferred

    def due_deferred(self, bucket: str, until: datetime) -> list[Deferred]:
        due = [
            d
            for d in self.deferred.values()
            if release_bucket(d.release_at.astimezone(UTC)) == bucket and d.release_at <= until
        ]
        return sorted(due, key=lambda d: (d.release_at, d.intent.intent_id))

    def drop_deferred(self, deferred: Deferred) -> bool:
        stored = self.deferred.get(deferred.intent.intent_id)
        if stored is None or stored.release_at != deferred.release_at:
            return False
        del self.deferred[deferred.intent.intent_id]
        return True


@dataclass(frozen=True)
class PriceKept:
    """One keep_prices request: who, for which day the caller said, when, at what price."""

    profile_id: str
    day: date
    product_id: str
    at: datetime
    price: Decimal | None


class FakeDecisions:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.offers: dict[tuple[str, date], DayOffer] = {}
        self.prices: dict[tuple[str, date, str], PricedProduct] = {}
        self.price_log: list[PriceKept] = []

    def day_offer(self, profile_id: str, day: date) -> DayOffer | None:
        return self.offers.get((profile_id, day))

    def keep_day_offer(self, offer: DayOffer) -> DayOffer:
        return self.offers.setdefault((offer.profile_id, offer.day), offer)

    def keep_prices(self, profile_id: str, day: date, products: list[PricedProduct]) -> list[PricedProduct]:
        kept = []
        for product in products:
            self.price_log.append(
                PriceKept(profile_id, day, product.product_id, self.clock.now, product.price)
            )
            kept.append(self.prices.setdefault((profile_id, day, product.product_id), product))
        return kept


@dataclass
class PriceSchedule:
    """A product's price over time: ``prices[i]`` holds from ``starts[i]`` (sorted) on."""

    starts: list[datetime] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)

    def at(self, instant: datetime) -> Decimal:
        index = bisect.bisect_right(self.starts, instant) - 1
        return self.prices[max(index, 0)]


class FakeCatalog:
    def __init__(self, clock: SimClock, products: list[CatalogProduct], schedules: dict[str, PriceSchedule]):
        self.clock = clock
        self.products = {p.product_id: p for p in products}
        self.schedules = schedules
        self.reads = 0

    def price_at(self, product_id: str, instant: datetime) -> Decimal:
        return self.schedules[product_id].at(instant)

    def _now(self, product: CatalogProduct) -> CatalogProduct:
        return product.model_copy(update={"price": self.price_at(product.product_id, self.clock.now)})

    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        self.reads += 1
        return {i: self._now(self.products[i]) for i in sorted(product_ids) if i in self.products}

    def offer_pool(self) -> list[CatalogProduct]:
        self.reads += 1
        return [self._now(p) for p in self.products.values() if p.promoted]
