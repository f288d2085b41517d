"""Identifiers and the policy that guards them (Segment Unify's guards, plus shared devices)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Kind(StrEnum):
    USER_ID = "user_id"
    EMAIL = "email"
    PHONE = "phone"
    DEVICE_ID = "device_id"
    ANONYMOUS_ID = "anonymous_id"


EXTERNAL_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BUILT_IN = {k.value for k in Kind}


class Identifier(BaseModel):
    """One identifier, normalized: ``kind`` is a built-in kind or an external id type
    (``context.externalIds[].type``, e.g. ``loyalty_card``)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    value: str = Field(min_length=1, max_length=256)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in BUILT_IN and not EXTERNAL_KIND.match(value):
            raise ValueError("identifier type: lowercase letters, digits and '_' (e.g. loyalty_card)")
        return value

    def key(self) -> str:
        return f"{self.kind}#{self.value}"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


# Which identifier wins when an event's identifiers point at different profiles that may not be
# merged: lower number first. External ids (loyalty cards ...) rank between phone and device.
PRIORITY = {Kind.USER_ID: 0, Kind.EMAIL: 1, Kind.PHONE: 2, Kind.DEVICE_ID: 4, Kind.ANONYMOUS_ID: 5}
EXTERNAL_PRIORITY = 3


def priority(kind: str) -> int:
    return PRIORITY.get(Kind(kind), EXTERNAL_PRIORITY) if kind in BUILT_IN else EXTERNAL_PRIORITY


def identifying(kind: str) -> bool:
    """Whether an identifier of this kind names a person (user id, email, phone, an external id such
    as a loyalty card), not only a browser or a device (anonymous id, device id)."""
    return kind not in (Kind.ANONYMOUS_ID, Kind.DEVICE_ID)


class IdentityPolicy(BaseModel):
    """Guards against false merges. Defaults follow Segment Unify; all configurable."""

    model_config = ConfigDict(frozen=True)

    blocked_values: frozenset[str] = frozenset(
        {
            "",
            "null",
            "none",
            "nil",
            "undefined",
            "anonymous",
            "unknown",
            "0",
            "-1",
            "n/a",
            "na",
            "test",
            "guest",
        }
    )
    blocked_patterns: tuple[str, ...] = (r"^0+$", r"^(.)\1{5,}$", r"^0{8}-0{4}-0{4}-0{4}-0{12}$")
    # How many identifiers of a kind one person may have; a merge that would exceed it is refused.
    limits: dict[str, int] = Field(
        default_factory=lambda: {"user_id": 1, "email": 5, "phone": 5, "device_id": 20, "anonymous_id": 50}
    )
    external_limit: int = 5
    # How many external id types (loyalty_card, crm_id, ...) one person may have, and how many
    # profiles one event may merge: together they keep an event's write within one transaction
    external_kinds: int = 10
    merges_per_event: int = 10
    # Devices several people use (store terminals, kiosks): their ids and anonymousIds are kept on
    # the event but never join or merge profiles. Every store and call-center source is shared.
    shared_device_channels: frozenset[str] = frozenset({"store", "call_center"})
    shared_device_ids: frozenset[str] = frozenset()

    def limit(self, kind: str) -> int:
        return self.limits.get(kind, self.external_limit)

    def blocked(self, value: str) -> bool:
        lowered = value.strip().lower()
        return lowered in self.blocked_values or any(re.match(p, lowered) for p in self.blocked_patterns)
