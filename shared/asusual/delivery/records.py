"""What the dispatcher and the decide API remember: the message log with each message's
explanation record, the caps ledger, deferred intents, and the day's sticky decisions — and the
small repository interface store/ implements (docs/data-model.md)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.policy import CapState, ConsentBasis
from asusual.offers.models import DayOffer, DayPrice
from asusual.profiles.model import Profile
from asusual.triggers.models import Intent


def message_id_for(send_once_key: str) -> str:
    """Stable per send-once key: a retried intent gets the same message id (and link)."""
    return "m_" + hashlib.sha256(send_once_key.encode()).hexdigest()[:24]


class MessageStatus(StrEnum):
    SENDING = "sending"  # reserved; a crash here leaves it so, and it is never sent twice
    SENT = "sent"
    FAILED = "failed"  # the channel refused it for good


class Explanation(BaseModel):
    """GET /v1/messages/{id}/why: everything that made this message what it is."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    profile_id: str
    why: str = Field(description="the one-line reason printed in the message")
    trigger: str
    topic: str
    facts: dict[str, Any] = Field(description="what the trigger saw")
    channel: str
    channel_reason: str = Field(description="preferred_channel, order_channel, most_engaged, ...")
    channels_considered: dict[str, str]
    consent: ConsentBasis | None
    caps: CapState
    quiet_hours: dict[str, Any] = Field(description="window, zones, local time, deferrals")
    template: str
    variant: str
    locale: str
    context: dict[str, Any] = Field(description="daypart, season, holiday, tenure, salutation basis")
    offer: PricedProduct | None = None
    products: list[PricedProduct] = Field(default_factory=list)
    sent_at: datetime
    local_sent_at: datetime


class MessageRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    profile_id: str
    intent_id: str
    send_once_key: str
    trigger: str
    topic: str
    channel: str
    to: str
    subject: str | None
    body: str
    status: MessageStatus
    provider_id: str | None = None
    error: str | None = None
    created_at: datetime
    explanation: Explanation
    preferences_url: str | None = Field(default=None, description="the message's preference center link")
    campaign_id: str | None = Field(default=None, description="the campaign the message belongs to")


class CapsLedger(BaseModel):
    """The marketing messages a profile got recently (per profile, versioned: races are conditional)."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    version: int = 0
    sends: dict[str, datetime] = Field(default_factory=dict, description="message id → sent at")

    def with_send(self, message_id: str, at: datetime, keep_after: datetime) -> CapsLedger:
        kept = {m: t for m, t in self.sends.items() if t >= keep_after}
        kept[message_id] = at
        return CapsLedger(profile_id=self.profile_id, version=self.version + 1, sends=kept)

    def without(self, message_id: str) -> CapsLedger:
        sends = {m: t for m, t in self.sends.items() if m != message_id}
        return CapsLedger(profile_id=self.profile_id, version=self.version + 1, sends=sends)


class Deferred(BaseModel):
    model_config = ConfigDict(frozen=True)

    intent: Intent
    release_at: datetime
    reason: str = Field(description="quiet_hours or frequency_cap")
    deferred_at: datetime


class DayWrites(BaseModel):
    """The day's decisions a message took (offer, prices), stored in its reservation transaction:
    an offer only if none is stored, a price only if none or the same is stored."""

    model_config = ConfigDict(frozen=True)

    offers: tuple[DayOffer, ...] = ()
    prices: tuple[DayPrice, ...] = ()


class DispatchReadRequest(BaseModel):
    """Everything one dispatch may read, asked for in one round trip."""

    model_config = ConfigDict(frozen=True)

    send_once_key: str
    profile_id: str
    caps: bool = Field(description="marketing: the caps ledger too")
    product_ids: tuple[str, ...] = ()
    days: tuple[date, ...] = Field(default=(), description="local dates whose offer and prices to read")


class DispatchSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    request: DispatchReadRequest
    sent_message_id: str | None = None
    profile: Profile | None = None
    caps: CapsLedger | None = None
    products: dict[str, CatalogProduct] = Field(default_factory=dict)
    day_offers: dict[date, DayOffer] = Field(default_factory=dict)
    day_prices: dict[str, PricedProduct] = Field(default_factory=dict, description="<date>#<product_id>")


class DispatchReader(Protocol):
    def read_for_dispatch(self, request: DispatchReadRequest) -> DispatchSnapshot:
        """One strongly consistent read of the send-once record, the profile, the caps ledger,
        the products and the day items the request names (absent items are simply absent)."""
        ...


class ReserveOutcome(StrEnum):
    RESERVED = "reserved"
    DUPLICATE = "duplicate"  # the send-once key was taken: sent (or being sent) already
    CONFLICT = "conflict"  # the caps ledger or a day decision moved: re-read and decide again


class MessageReader(Protocol):
    """What a page opened by a message's link reads: the message's record."""

    def message(self, message_id: str) -> MessageRecord | None: ...


class MessageRepository(MessageReader, Protocol):
    def send_record(self, send_once_key: str) -> str | None:
        """The message id that took this key, or None."""
        ...

    def caps(self, profile_id: str) -> CapsLedger: ...

    def reserve(
        self, record: MessageRecord, ledger: CapsLedger | None, days: DayWrites | None = None
    ) -> ReserveOutcome:
        """One transaction: take the send-once key, write the message (sending), for marketing
        the ledger (conditional on its version), and the day's decisions the message took."""
        ...

    def mark_sent(self, record: MessageRecord, provider_id: str | None) -> None: ...

    def mark_failed(self, record: MessageRecord, error: str) -> None: ...

    def release(self, record: MessageRecord) -> None:
        """Undo a reservation whose send failed in a way a retry may fix (nothing went out)."""
        ...

    def messages_of(self, profile_id: str, limit: int) -> list[MessageRecord]: ...

    def defer(self, deferred: Deferred) -> None: ...

    def due_deferred(self, bucket: str, until: datetime) -> list[Deferred]: ...

    def drop_deferred(self, deferred: Deferred) -> bool:
        """Remove a deferral once re-published; False when another sweep already did."""
        ...


# no deferral is released later than this after it was made (an erasure reads the release
# partitions up to here to find a person's deferred intents): a day more than the longest useful
# life of a trigger kind (asusual.triggers.kinds; tests/unit/triggers/test_kinds.py keeps it so)
DEFERRAL_HORIZON = timedelta(days=8)


def release_bucket(instant: datetime) -> str:
    return f"DEFER#{instant:%Y-%m-%dT%H}"
