"""Sources and API keys."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from asusual.access.origins import origin_pattern


class Channel(StrEnum):
    """The channel a source speaks for."""

    WEB = "web"
    APP = "app"
    EMAIL = "email"
    STORE = "store"
    CALL_CENTER = "call_center"
    SMS = "sms"


class KeyScope(StrEnum):
    """write: intake only; read: profiles, decide, why; admin: catalog, sources, privacy, local."""

    WRITE = "write"
    READ = "read"
    ADMIN = "admin"


class Status(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SOURCE_ID_DESCRIPTION = "stable id: lowercase letters, digits, '_' or '-', ≤ 64 chars"
COUNTRY = re.compile(r"^[A-Z]{2}$")
KEY_ID = re.compile(r"^[0-9a-f]{12}(?:[0-9a-f]{52})?$")  # ApiKey.key_id, or a whole key_hash


class SourceFields(BaseModel):
    """The fields of a source its operator chooses: a :class:`Source` adds its status, creation time
    and the checks of source_id, timezone and country; the admin API's request to create a source
    is these fields alone (the checks run when the Source is built)."""

    model_config = ConfigDict(extra="forbid")

    source_id: str = Field(description=SOURCE_ID_DESCRIPTION)
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    timezone: str | None = Field(default=None, description="IANA zone used when an event has none")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, region for phone numbers")
    store_id: str | None = Field(default=None, max_length=100)
    rate_limit: float | None = Field(default=None, gt=0, description="requests per second; default if null")
    burst: int | None = Field(default=None, gt=0)
    public: bool = Field(
        default=False,
        description="a browser or app source: its key is in every page, known to everyone (see the "
        "README, 'On your web shop'); false: a server-side source whose backend vouches for what it sends",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="a public source's web origins, allowed to call from a browser (CORS): "
        "scheme://host[:port], a port '*' or a leading '*.' for subdomains",
    )


class Source(SourceFields):
    """One channel system of the retailer (the web shop, the POS of a store chain, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status = Status.ACTIVE
    created_at: AwareDatetime

    @property
    def active(self) -> bool:
        return self.status is Status.ACTIVE

    @field_validator("source_id")
    @classmethod
    def _source_id(cls, value: str) -> str:
        if not SOURCE_ID.match(value):
            raise ValueError("lowercase letters, digits, '_' or '-', starting with a letter or digit, ≤ 64")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _allowed_origins(cls, value: list[str]) -> list[str]:
        return sorted({origin_pattern(pattern) for pattern in value})

    @model_validator(mode="after")
    def _origins_of_public_sources(self) -> Self:
        if self.allowed_origins and not self.public:
            raise ValueError("allowed_origins: only a public source is called from browsers (public: true)")
        return self

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if not COUNTRY.match(value):
                raise ValueError("ISO 3166-1 alpha-2 code such as RU or DE")
        return value


class ApiKey(BaseModel):
    """What we store about a key: never the key itself, only its SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    scope: KeyScope
    source: Source | None = Field(default=None, description="the source of a write key")
    status: Status = Status.ACTIVE
    created_at: AwareDatetime
    not_after: AwareDatetime | None = Field(default=None, description="end of a rotated key's overlap")
    label: str | None = Field(default=None, max_length=200)

    @property
    def key_id(self) -> str:
        """A short public handle, safe to print and log."""
        return self.key_hash[:12]

    def usable_at(self, now: datetime) -> bool:
        if self.status is not Status.ACTIVE:
            return False
        if self.source is not None and not self.source.active:
            return False
        return self.not_after is None or now < self.not_after


class Principal(BaseModel):
    """The authenticated caller."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    scope: KeyScope
    source: Source | None = None
