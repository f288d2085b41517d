"""The message as the dispatcher hands it to a channel sender, and what a sender answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class DeliveryChannel(StrEnum):
    """Channels a message can be *sent* on. Web and app placements are answered by the decide API."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    STORE = "store"  # signed webhook to the store POS system
    CALL_CENTER = "call_center"  # signed webhook to the call-center system


# design.md 3.2: what a delivered message record holds (the local outbox lists these, in this order)
RECORD_FIELDS = (
    "id",
    "profile_id",
    "channel",
    "to",
    "subject",
    "body",
    "trigger",
    "template",
    "locale",
    "sent_at",
    "local_sent_at",
    "why_url",
)


class OutgoingMessage(BaseModel):
    """One rendered message, ready for its channel (also the local outbox's record)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="message id, derived from the send-once key (stable across retries)")
    profile_id: str
    channel: DeliveryChannel
    to: str = Field(description="email address, E.164 phone, SNS endpoint ARN / push token, or profile id")
    subject: str | None = Field(default=None, description="email subject or push title; none for SMS")
    body: str = Field(description="plain text (email text part, SMS, push body, webhook script)")
    html: str | None = Field(default=None, description="email HTML part")
    trigger: str
    template: str = Field(description="template id and variant, e.g. birthday.email.ru#warm")
    locale: str
    topic: str = Field(description="marketing or transactional")
    sent_at: datetime
    local_sent_at: datetime = Field(description="sent_at in the customer's (first plausible) zone")
    why_url: str
    unsubscribe_url: str | None = Field(default=None, description="one-click link (marketing email, SMS)")
    preferences_url: str | None = Field(
        default=None, description="the preference center: every channel and topic"
    )
    send_once_key: str
    campaign_id: str | None = Field(default=None, description="the campaign the message belongs to")


class SendReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider_id: str | None = Field(description="SES MessageId, SNS MessageId, webhook response id")


class PermanentFailure(Exception):
    """The channel refused the message for good (bad address, endpoint disabled): do not retry."""


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> SendReceipt:
        """Deliver or raise: TransientError/Throttled (retry later) or PermanentFailure."""
        ...
