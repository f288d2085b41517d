"""The Segment message as received, and the event as we put it on the events queue."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from asusual.access.models import Channel
from asusual.iplocation import IpLocation


class EventType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


MAX_ID_LENGTH = 256


def _identifier(value: object) -> object:
    """Segment ids are strings; clients also send numbers. Blank means absent."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


Identifier = Annotated[Annotated[str, Field(max_length=MAX_ID_LENGTH)] | None, BeforeValidator(_identifier)]
JsonObject = dict[str, Any]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # a timestamp without offset is read as UTC
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 or 0001-01-01T00:00+03:00: past the calendar's ends
        return (datetime.max if value.year > 1 else datetime.min).replace(tzinfo=UTC)


class TimeCorrection(StrEnum):
    """Why an event's time is not the one its client sent (asusual.intake.parsing.event_time)."""

    FUTURE = "future"  # later than its arrival: clamped to the arrival
    IMPLAUSIBLE = "implausible"  # before 1970 or out of range: the arrival is used


class SegmentMessage(BaseModel):
    """One message of the Segment spec, as a channel system sends it (camelCase on the wire)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: EventType
    user_id: Identifier = Field(default=None, alias="userId")
    anonymous_id: Identifier = Field(default=None, alias="anonymousId")
    message_id: str | None = Field(default=None, alias="messageId", min_length=1, max_length=100)
    timestamp: datetime | None = None
    # RudderStack's SDKs send the event's time as originalTimestamp, never timestamp (their server
    # derives timestamp from it and sentAt): read when timestamp is absent (:attr:`client_time`)
    original_timestamp: datetime | None = Field(default=None, alias="originalTimestamp")
    sent_at: datetime | None = Field(default=None, alias="sentAt")
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)
    traits: JsonObject = Field(default_factory=dict)
    properties: JsonObject = Field(default_factory=dict)
    event: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    group_id: Identifier = Field(default=None, alias="groupId")
    previous_id: Identifier = Field(default=None, alias="previousId")

    @field_validator("timestamp", "original_timestamp", "sent_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @property
    def client_time(self) -> datetime | None:
        """When the client says the event happened: ``timestamp``, else ``originalTimestamp``."""
        return self.timestamp if self.timestamp is not None else self.original_timestamp

    @field_validator("context", "integrations", "traits", "properties", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return {} if value is None else value

    @model_validator(mode="after")
    def _required_by_type(self) -> SegmentMessage:
        if self.type is EventType.ALIAS:
            if not self.user_id:
                raise ValueError("userId: required for alias")
            if not self.previous_id:
                raise ValueError("previousId: required for alias")
        elif not self.user_id and not self.anonymous_id:
            raise ValueError("userId or anonymousId: one of them is required")
        if self.type is EventType.TRACK and not self.event:
            raise ValueError("event: required for track")
        if self.type is EventType.GROUP and not self.group_id:
            raise ValueError("groupId: required for group")
        return self


class SourceContext(BaseModel):
    """What the event inherits from the source that sent it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_id: str
    channel: Channel
    timezone: str | None = None
    country: str | None = None
    store_id: str | None = None
    customer: bool = Field(
        default=False,
        description="the customer's own action (a link they clicked), never a channel system's "
        "report: it wins over anything stamped at the same instant",
    )
    public: bool = Field(
        default=False,
        description="sent with a public source's key (a browser or app: known to everyone), so its "
        "claims are the visitor's word, not the retailer's backend vouching for them",
    )


class IntakeEvent(BaseModel):
    """A validated event on the events queue: the contract between intake and the processor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    message_id: str = Field(description="the client's messageId, or one derived from the content")
    message_id_generated: bool = False
    type: EventType
    source: SourceContext
    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    name: str | None = None
    group_id: str | None = None
    previous_id: str | None = None
    traits: JsonObject = Field(default_factory=dict)
    properties: JsonObject = Field(default_factory=dict)
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)
    timestamp: datetime = Field(description="event time, corrected for client clock skew")
    time_corrected: TimeCorrection | None = Field(
        default=None, description="set when the client's time could not be used as it was"
    )
    original_timestamp: datetime | None = Field(default=None, description="timestamp as the client sent it")
    sent_at: datetime | None = None
    received_at: datetime
    identity_signed: bool = Field(
        default=False,
        exclude_if=lambda v: not v,
        description="set by the intake, never read from a message: a public source's event whose "
        "userId came with a valid context.identity_signature (asusual.access.identity)",
    )
    ip_location: IpLocation | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="set by the intake, never read from a message: where the database of "
        "ASUSUAL_GEOIP_DATABASE places context.ip (or, for a public source, the request's address); "
        "the address itself is taken out of context and goes no further (asusual.intake.service.located)",
    )

    @property
    def vouched(self) -> bool:
        """Whether the event's identifiers are vouched for: a server-side source's (the retailer's
        backend) or a public source's with a signed userId. A public source's unsigned event is the
        visitor's word only: it never ties a browser's anonymous id to a customer."""
        return not self.source.public or self.identity_signed


class Rejection(BaseModel):
    """One message of a request that was not accepted, and why."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    index: int = Field(description="position in the batch (0 for a single-message call)")
    message_id: str | None = Field(default=None, alias="messageId")
    reason: str = Field(description="names the field at fault")


class IntakeResponse(BaseModel):
    """200 answer. ``success`` means: every valid message is durably enqueued. Messages that were
    not valid are listed in ``rejected`` (absent when there are none)."""

    model_config = ConfigDict(frozen=True)

    success: bool = True
    rejected: list[Rejection] | None = None


class SegmentBatch(BaseModel):
    """Body of POST /v1/batch. Items are validated one by one (a bad item is rejected alone)."""

    model_config = ConfigDict(populate_by_name=True)

    batch: list[SegmentMessage] = Field(max_length=2500)
    context: JsonObject | None = Field(default=None, description="merged into every item's context")
    integrations: JsonObject | None = Field(default=None, description="merged into every item")
    sent_at: datetime | None = Field(default=None, alias="sentAt", description="for items without sentAt")
    write_key: str | None = Field(default=None, alias="writeKey", description="instead of Authorization")
