"""What the admin API reads and answers about sources and keys. A new key is in the answer that
creates it, once; every other view shows key ids, never a key or its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from asusual.access.identity import SIGNATURE_ALGORITHM, SIGNATURE_FIELD
from asusual.access.models import (
    SOURCE_ID,
    SOURCE_ID_DESCRIPTION,
    ApiKey,
    KeyScope,
    Source,
    SourceFields,
    Status,
)
from asusual.access.service import MAX_OVERLAP_HOURS, IssuedKey

__all__ = [
    "MAX_OVERLAP_HOURS",
    "IdentitySecretView",
    "IssuedKeyView",
    "KeyList",
    "KeyRequest",
    "KeyRotated",
    "KeyView",
    "RotateRequest",
    "SourceCreated",
    "SourceList",
    "SourceRequest",
]


class SourceRequest(SourceFields):
    """A new source: the fields of a Source its operator chooses."""

    # Source checks the id with a validator; the request documents it as a pattern too.
    source_id: str = Field(pattern=SOURCE_ID.pattern, description=SOURCE_ID_DESCRIPTION)


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float | None = Field(
        default=None,
        ge=0,
        le=MAX_OVERLAP_HOURS,
        description="how long the source's current keys keep working; default ASUSUAL_ROTATION_OVERLAP_HOURS",
    )


class KeyRequest(BaseModel):
    """A read or admin key (a write key is created with its source)."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["read", "admin"] = Field(description="write keys come with their source: POST /v1/sources")
    label: str = Field(min_length=1, max_length=200, description="who holds the key, e.g. 'POS greeting'")

    @field_validator("scope", mode="before")
    @classmethod
    def _not_write(cls, value: object) -> object:
        if value == KeyScope.WRITE.value:
            raise ValueError("write keys are created with their source (POST /v1/sources)")
        return value


class IssuedKeyView(BaseModel):
    """A new key: the only time it is shown. Only its SHA-256 is stored."""

    key: str = Field(description="the key itself: store it now, it cannot be shown again")
    key_id: str = Field(description="its public handle (first 12 hex of the hash), safe to log")
    scope: KeyScope
    source_id: str | None
    label: str | None
    created_at: datetime

    @classmethod
    def of(cls, issued: IssuedKey, **more: Any) -> Self:
        """The view of ``issued``; ``more``: the fields a subclass adds."""
        record = issued.record
        return cls(
            key=issued.key,
            key_id=record.key_id,
            scope=record.scope,
            source_id=record.source.source_id if record.source else None,
            label=record.label,
            created_at=record.created_at,
            **more,
        )


class SourceCreated(IssuedKeyView):
    source: Source


class KeyRotated(IssuedKeyView):
    old_keys_expire_at: datetime = Field(description="the source's previous keys are refused from then on")


class KeyView(BaseModel):
    """A key as listed: its id, never the key or its hash."""

    key_id: str
    scope: KeyScope
    status: Status
    usable: bool = Field(description="active, its source active, and not past not_after")
    label: str | None
    source_id: str | None
    created_at: datetime
    not_after: datetime | None

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> KeyView:
        return cls(
            key_id=key.key_id,
            scope=key.scope,
            status=key.status,
            usable=key.usable_at(now),
            label=key.label,
            source_id=key.source.source_id if key.source else None,
            created_at=key.created_at,
            not_after=key.not_after,
        )


class SourceList(BaseModel):
    sources: list[Source]


class KeyList(BaseModel):
    keys: list[KeyView]


class IdentitySecretView(BaseModel):
    """A public source's identity secret: the shop's server signs a logged-in customer's user id with
    it, and the page passes the signature with its identify (README, "On your web shop"). Keep it
    on the server, like a password: whoever holds it can make any user id's browser greeting."""

    source_id: str
    identity_secret: str = Field(description="64 hex characters; changes when the link secrets rotate")
    signature: str = Field(default=SIGNATURE_ALGORITHM, description="how to compute the signature")
    signature_field: str = Field(
        default=f"context.{SIGNATURE_FIELD}", description="where the page puts it in the identify call"
    )
