"""A campaign as the marketer posts it (the contract of issue 20), as it is kept, and as it is
shown: its status, counts and conversions."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from asusual.triggers.models import CampaignContent

CAMPAIGN_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_HOLDOUT_PERCENT = 50


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its planning to start (an hour before its first moment)
    SENDING = "sending"  # planned, or being planned; members are released at their local moment
    SENT = "sent"  # every member released
    CANCELLED = "cancelled"  # nothing more is released; what waits is skipped (cancelled)


class SendAt(BaseModel):
    """A local wall-clock moment (every member at that time in her own zone) or one instant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    local_date: date | None = None
    local_time: time | None = None
    at: datetime | None = None


class CampaignRequest(BaseModel):
    """POST /v1/campaigns (and the preview, with ``profile_id``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    campaign_id: str = Field(pattern=CAMPAIGN_ID, description="[a-z0-9][a-z0-9_-]{0,63}")
    segment_id: str = Field(min_length=1, max_length=64)
    topic: Literal["marketing"] = "marketing"
    channels: tuple[Literal["email", "sms", "push", "store", "call_center"], ...] | None = Field(
        default=None, min_length=1, description="the channels it may go on; absent: any it has words for"
    )
    send_at: SendAt
    holdout_percent: int = Field(default=0, ge=0, le=MAX_HOLDOUT_PERCENT)
    conversion_window_days: int = Field(default=7, ge=1, le=365)
    content: dict[str, CampaignContent] = Field(min_length=1, max_length=10, description="locale → words")
    messages_per_second: int | None = Field(
        default=None, ge=1, le=10_000, description="the release throttle; absent: the engine's setting"
    )


class PreviewRequest(CampaignRequest):
    profile_id: str | None = Field(default=None, max_length=200, description="whose message to show")


class Plan(BaseModel):
    """Where planning is: the membership cursor, and how many members each release moment has got
    so far (the throttle spreads the n-th of a moment by n / messages_per_second)."""

    model_config = ConfigDict(frozen=True)

    started: bool = False
    done: bool = False
    cursor: str | None = None
    pages: int = 0
    moments: dict[str, int] = Field(default_factory=dict, description="moment (UTC ISO) → members so far")
    last_release_at: datetime | None = None


class Campaign(BaseModel):
    """A campaign as kept (its counters live beside it on the item, not here)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    segment_id: str
    segment_name: str
    incarnation: str = Field(description="the segment's incarnation when the campaign was created")
    topic: str = "marketing"
    channels: tuple[str, ...] | None = None
    send_at: SendAt
    holdout_percent: int
    conversion_window_days: int
    content: dict[str, CampaignContent]
    messages_per_second: int
    status: CampaignStatus = CampaignStatus.SCHEDULED
    created_at: datetime
    cancelled_at: datetime | None = None
    plan: Plan = Field(default_factory=Plan)


class Counters(BaseModel):
    """The counters kept on the campaign item, each changed in the transaction that makes it exact."""

    model_config = ConfigDict(frozen=True)

    audience: int = 0
    holdout: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    conversions: dict[str, int | str] = Field(
        default_factory=dict, description="conv_<group>_<customers|orders|revenue> as stored"
    )


class GroupConversions(BaseModel):
    model_config = ConfigDict(frozen=True)

    customers: int = Field(default=0, description="members with at least one order in their window")
    orders: int = 0
    revenue: Decimal = Field(default=Decimal(0), description="the order totals, an exact decimal")


class Conversions(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipients: GroupConversions = GroupConversions()
    holdout: GroupConversions = GroupConversions()


class CampaignView(BaseModel):
    """GET /v1/campaigns/{id}."""

    campaign_id: str
    segment_id: str
    status: CampaignStatus
    send_at: SendAt
    holdout_percent: int
    conversion_window_days: int
    created_at: datetime
    audience: int
    holdout: int
    sent: int
    deferred: int
    failed: int
    skipped: dict[str, int]
    conversions: Conversions
    uplift: dict[str, Any] | None = Field(default=None, description="the uplift report (null until computed)")


class Member(BaseModel):
    """A segment member as its membership item holds it (planning never reads the profiles)."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    zones: tuple[str, ...] = ()
    country: str | None = None
    locale: str | None = None


class SegmentRef(BaseModel):
    """What a campaign needs of a segment's definition."""

    model_config = ConfigDict(frozen=True)

    segment_id: str
    name: str
    incarnation: str
    active: bool = True


class Exposure(BaseModel):
    """A member's place in a program (docs/data-model.md, Exposure)."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    program: str
    group: Literal["recipient", "holdout"]
    assigned_at: datetime
    window_end: datetime
    release_at: datetime | None = Field(default=None, description="recipients: the member's local moment")
    outcome: str | None = None
    campaign_id: str | None = None


class SampleMember(BaseModel):
    profile_id: str
    why: list[str]


class PreviewMessage(BaseModel):
    channel: str
    locale: str
    subject: str | None
    text: str
    local_send_at: datetime


class Preview(BaseModel):
    """POST /v1/campaigns/preview: nothing is sent or kept."""

    size: int
    sample: list[SampleMember]
    message: PreviewMessage | None = Field(description="the named (or first sampled) member's message")
