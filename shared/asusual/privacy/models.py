"""What a privacy request reads, deletes and records (pure)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.identity.models import Identifier

SUPPRESSION_CONTEXT = "asusual-suppression-v2"


def suppression_hash(identifier: Identifier, key: bytes) -> str:
    """How an erased identifier is remembered: HMAC-SHA256 of the normalized identifier under a
    secret key, so a later event naming it is recognized while the list cannot be read back. An
    unkeyed hash would not do: phone numbers and emails are few enough to try them all (a phone
    number was recovered from its SHA-256 in 15 s on one core)."""
    raw = f"{SUPPRESSION_CONTEXT}\0{identifier.kind}\0{identifier.value}".encode()
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


class SuppressionKeys:
    """The suppression secret's keys: the first hashes new suppressions, every one matches, so a
    rotation (a new key put first) leaves every suppression made before it in force."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("suppression keys: at least one is required")
        self.keys = tuple(keys)

    def current(self, identifier: Identifier) -> str:
        return suppression_hash(identifier, self.keys[0])

    def matching(self, identifier: Identifier) -> list[str]:
        """The hashes a suppression of ``identifier`` may be stored under, current key first."""
        return [suppression_hash(identifier, key) for key in self.keys]


class ErasureStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ErasureRecord(BaseModel):
    """The audit record of one erasure. It holds no personal data: which kind of identifier the
    request named, who asked (a key id), when, and how many items of each kind were deleted.
    While the erasure runs it also holds the pseudonymous profile ids it is deleting, so a retry
    after a crash finishes the job even when the identifier's claim is already gone; they are
    removed when it completes."""

    model_config = ConfigDict(frozen=True)

    erasure_id: str
    status: ErasureStatus
    requested_at: datetime
    completed_at: datetime | None = None
    requested_by: str = Field(description="the key_id of the admin key that asked")
    identifier_type: str = Field(description="the kind of identifier the request named (not its value)")
    profiles: int = Field(default=0, description="profiles erased (a merged person has several)")
    identifiers_suppressed: int = 0
    deleted: dict[str, int] = Field(default_factory=dict, description="items deleted per kind")
    rounds: int = Field(default=0, description="collect-and-delete passes until nothing was left")
    pending_profile_ids: tuple[str, ...] = Field(default=(), description="only while in progress")


class Footprint(BaseModel):
    """Everything that leads to a person's items: the keys are derived from these."""

    model_config = ConfigDict(frozen=True)

    profile_ids: frozenset[str] = frozenset()
    identifiers: frozenset[Identifier] = frozenset()
    order_ids: frozenset[str] = frozenset()
    purchases: frozenset[tuple[str, str]] = Field(
        default=frozenset(), description="(product id, purchase time ISO) of every order line"
    )
    message_ids: frozenset[str] = Field(default=frozenset(), description="events that changed the profile")

    def union(self, other: Footprint) -> Footprint:
        return Footprint(
            profile_ids=self.profile_ids | other.profile_ids,
            identifiers=self.identifiers | other.identifiers,
            order_ids=self.order_ids | other.order_ids,
            purchases=self.purchases | other.purchases,
            message_ids=self.message_ids | other.message_ids,
        )


class HeldItem(BaseModel):
    """One stored item that belongs to the person, as found (decoded) and as it must be deleted."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="the item's entity: profile, consent, identifier, order, message, ...")
    pk: str
    sk: str
    attributes: dict[str, Any] = Field(description="the item's attributes, data decoded from JSON")
    version: int | None = Field(default=None, description="deleted only while still this version")
    owner: str | None = Field(default=None, description="deleted only while still owned by this profile")


class PersonalData(BaseModel):
    """Everything held about a person (GET .../export): every item, grouped by kind."""

    exported_at: datetime
    profile_id: str
    profile_ids: list[str] = Field(description="the person's profile and the profiles merged into it")
    items: dict[str, list[dict[str, Any]]] = Field(
        description="kind → the items of that kind, each with its key and attributes"
    )
    counts: dict[str, int]
