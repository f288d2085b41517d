"""One read per dispatch: the repositories the dispatcher uses, answered from a snapshot read in
one round trip, with the day's decisions kept back and written in the reservation transaction.

A delivered message then costs three DynamoDB calls: the read (BatchGetItem), the reservation
(TransactWriteItems) and the finish (TransactWriteItems). What the snapshot does not hold is read
from the real repository (a merged profile's survivor): correct, only one call more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.records import (
    CapsLedger,
    DayWrites,
    Deferred,
    DispatchSnapshot,
    MessageRecord,
    MessageRepository,
    ReserveOutcome,
)
from asusual.offers.models import DayOffer, DayPrice
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileLoader
from asusual.triggers.reminders import CatalogReader


def price_key(day: date, product_id: str) -> str:
    return f"{day.isoformat()}#{product_id}"


@dataclass
class SnapshotProfiles:
    """ProfileRepository reads: the snapshot's profile, else the real repository."""

    inner: ProfileLoader
    snapshot: DispatchSnapshot

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        profile = self.snapshot.profile
        held = {profile.profile_id: profile} if profile is not None else {}
        wanted = {i: held[i] for i in profile_ids if i in held}
        rest = profile_ids - wanted.keys() - {self.snapshot.request.profile_id}
        return {**wanted, **(self.inner.load(rest) if rest else {})}


@dataclass
class SnapshotCatalog:
    inner: CatalogReader
    snapshot: DispatchSnapshot

    def get_products(self, product_ids: set[str]) -> dict[str, CatalogProduct]:
        asked = set(self.snapshot.request.product_ids)
        found = {p: self.snapshot.products[p] for p in product_ids if p in self.snapshot.products}
        rest = product_ids - asked
        return {**found, **(self.inner.get_products(rest) if rest else {})}


@dataclass
class PendingDecisions:
    """DecisionRepository over the snapshot: stored decisions are read from it; new ones are kept
    back and written with the reservation (conditionally, so a concurrent decision wins and the
    dispatch is decided again with it)."""

    snapshot: DispatchSnapshot
    offers: dict[date, DayOffer] = field(default_factory=dict)
    prices: dict[str, DayPrice] = field(default_factory=dict)
    unread_products: set[str] = field(default_factory=set)  # priced without having been read

    def day_offer(self, profile_id: str, day: date) -> DayOffer | None:
        return self.offers.get(day) or self.snapshot.day_offers.get(day)

    def keep_day_offer(self, offer: DayOffer) -> DayOffer:
        stored = self.day_offer(offer.profile_id, offer.day)
        if stored is not None:
            return stored
        self.offers[offer.day] = offer
        return offer

    def keep_prices(self, profile_id: str, day: date, products: list[PricedProduct]) -> list[PricedProduct]:
        kept = []
        read = set(self.snapshot.request.product_ids)
        for product in products:
            key = price_key(day, product.product_id)
            pending = self.prices.get(key)
            stored = pending.product if pending is not None else self.snapshot.day_prices.get(key)
            if stored is None:
                if product.product_id not in read or day not in self.snapshot.request.days:
                    self.unread_products.add(product.product_id)
                self.prices[key] = DayPrice(profile_id=profile_id, day=day, product=product)
                stored = product
            kept.append(stored)
        return kept

    def writes(self) -> DayWrites | None:
        if not self.offers and not self.prices:
            return None
        return DayWrites(offers=tuple(self.offers.values()), prices=tuple(self.prices.values()))


@dataclass
class SnapshotMessages:
    """MessageRepository: the send-once record and caps from the snapshot; the reservation carries
    the pending day decisions; everything else goes to the real repository."""

    inner: MessageRepository
    snapshot: DispatchSnapshot
    decisions: PendingDecisions

    def send_record(self, send_once_key: str) -> str | None:
        if send_once_key == self.snapshot.request.send_once_key:
            return self.snapshot.sent_message_id
        return self.inner.send_record(send_once_key)

    def caps(self, profile_id: str) -> CapsLedger:
        if self.snapshot.request.caps and profile_id == self.snapshot.request.profile_id:
            return self.snapshot.caps or CapsLedger(profile_id=profile_id)
        return self.inner.caps(profile_id)

    def reserve(
        self, record: MessageRecord, ledger: CapsLedger | None, days: DayWrites | None = None
    ) -> ReserveOutcome:
        return self.inner.reserve(record, ledger, days or self.decisions.writes())

    def mark_sent(self, record: MessageRecord, provider_id: str | None) -> None:
        self.inner.mark_sent(record, provider_id)

    def mark_failed(self, record: MessageRecord, error: str) -> None:
        self.inner.mark_failed(record, error)

    def release(self, record: MessageRecord) -> None:
        self.inner.release(record)

    def message(self, message_id: str) -> MessageRecord | None:
        return self.inner.message(message_id)

    def messages_of(self, profile_id: str, limit: int) -> list[MessageRecord]:
        return self.inner.messages_of(profile_id, limit)

    def defer(self, deferred: Deferred) -> None:
        self.inner.defer(deferred)

    def due_deferred(self, bucket: str, until: datetime) -> list[Deferred]:
        return self.inner.due_deferred(bucket, until)

    def drop_deferred(self, deferred: Deferred) -> bool:
        return self.inner.drop_deferred(deferred)
