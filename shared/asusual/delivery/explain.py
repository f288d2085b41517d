"""What a customer (or a channel system) can ask about a message: why it was sent (the
explanation record), its profile's message log, and the consent changes the customer makes on
the pages its links open (asusual.pages), as events for the processor."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.access.models import Channel
from asusual.delivery.records import Explanation, MessageRecord, MessageRepository, MessageStatus
from asusual.delivery.tokens import LinkPurpose, verify_link
from asusual.errors import Forbidden, NotFound
from asusual.identity.models import Identifier, Kind, priority
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.model import Profile

UNSUBSCRIBE_SOURCE = "unsubscribe_link"  # the link's own page and the mail client's one-click POST
PREFERENCE_CENTER_SOURCE = "preference_center"  # the preference center and an unsubscribe's undo
# the identifier the address of each channel is (the unsubscribe event resolves the profile by it)
ADDRESS_KIND = {"email": Kind.EMAIL, "sms": Kind.PHONE}


class WhyView(BaseModel):
    """GET /v1/messages/{id}/why."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    status: MessageStatus
    channel: str
    subject: str | None
    explanation: Explanation


class MessageSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    trigger: str
    topic: str
    channel: str
    status: MessageStatus
    subject: str | None
    why: str
    template: str
    variant: str
    sent_at: datetime
    local_sent_at: datetime


class MessageLog(BaseModel):
    """GET /v1/messages?profile_id=...: the latest messages of a profile, newest first."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    messages: list[MessageSummary] = Field(default_factory=list)


def explain(
    repo: MessageRepository,
    message_id: str,
    *,
    token: str | None,
    secrets: Sequence[bytes],
    now: datetime,
) -> WhyView:
    """With a token (the customer's link) it must be the link of this very message; without one
    the caller has already shown a read key."""
    if token is not None:
        claims = verify_link(token, secrets, purpose=LinkPurpose.WHY, now=now)
        if claims.message_id != message_id:
            raise Forbidden("token: not the link of this message", code="wrong_link")
    record = repo.message(message_id)
    if record is None and token is not None:
        # a genuine link to a message no longer held (erased, or past the log's retention) answers
        # like any link that does not open: it does not tell whether the person is still known
        raise Forbidden("token: the link no longer opens", code="invalid_link")
    if record is None:
        raise NotFound(f"message_id: no message {message_id!r}")
    return WhyView(
        message_id=record.message_id,
        status=record.status,
        channel=record.channel,
        subject=record.subject,
        explanation=record.explanation,
    )


def summary(record: MessageRecord) -> MessageSummary:
    explanation = record.explanation
    return MessageSummary(
        message_id=record.message_id,
        trigger=record.trigger,
        topic=record.topic,
        channel=record.channel,
        status=record.status,
        subject=record.subject,
        why=explanation.why,
        template=explanation.template,
        variant=explanation.variant,
        sent_at=explanation.sent_at,
        local_sent_at=explanation.local_sent_at,
    )


def message_log(repo: MessageRepository, profile_id: str, limit: int) -> MessageLog:
    return MessageLog(
        profile_id=profile_id, messages=[summary(r) for r in repo.messages_of(profile_id, limit)]
    )


def consent_event(
    source_id: str,
    channel: Channel,
    identifier: Identifier,
    changes: Mapping[str, Mapping[str, bool]],
    event_id: str,
    now: datetime,
) -> IntakeEvent:
    """A consent change the customer made on one of our pages (an unsubscribe link, the preference
    center), as an event for the processor (the only writer of profiles): ``changes`` is
    ``{channel: {topic: subscribed}}``, stamped with the click's time and ``source_id``, the
    customer's own action, naming the customer by ``identifier`` (the message's address, or an
    identifier of their profile). The same ``event_id`` twice is one event."""
    return IntakeEvent(
        message_id=event_id,
        type=EventType.IDENTIFY,
        source=SourceContext(source_id=source_id, channel=channel, customer=True),
        traits={"subscriptions": {c: dict(topics) for c, topics in changes.items()}},
        **_naming(identifier),
        timestamp=now,
        received_at=now,
    )


def _naming(identifier: Identifier) -> dict[str, Any]:
    """The event fields that name the customer by ``identifier``, where the processor reads them."""
    if identifier.kind == Kind.USER_ID:
        return {"user_id": identifier.value}
    if identifier.kind == Kind.ANONYMOUS_ID:
        return {"anonymous_id": identifier.value}
    if identifier.kind == Kind.DEVICE_ID:
        return {"context": {"device": {"id": identifier.value}}}
    return {
        "context": {"externalIds": [{"type": identifier.kind, "id": identifier.value, "collection": "users"}]}
    }


def address_identifier(channel: str, address: str | None) -> Identifier | None:
    """The identifier a message's address is (email, phone), or None for other channels."""
    kind = ADDRESS_KIND.get(channel)
    return Identifier(kind=kind, value=address) if kind is not None and address else None


def customer_identifier(profile: Profile) -> Identifier | None:
    """The identifier an event names ``profile`` by: its strongest (user id, email, phone, external,
    device, anonymous id), so the event resolves to this profile and links nothing new."""
    ranked = sorted(profile.identifiers(), key=lambda i: (priority(i.kind), i.kind, i.value))
    return ranked[0] if ranked else None


def event_id(prefix: str, *parts: object) -> str:
    """A stable event id for a page's consent change: the same parts, the same event."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{prefix}-{digest}"
