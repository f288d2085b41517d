"""What a customer (or a channel system) can ask about a message: why it was sent (the
explanation record), and the one-click unsubscribe its links carry (RFC 8058)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from asusual.access.models import Channel
from asusual.delivery.records import Explanation, MessageRecord, MessageRepository, MessageStatus
from asusual.delivery.tokens import LinkClaims, LinkPurpose, verify_link
from asusual.errors import Forbidden, NotFound
from asusual.intake.models import EventType, IntakeEvent, SourceContext

UNSUBSCRIBE_SOURCE = "unsubscribe_link"
# the identifier the address of each channel is (the unsubscribe event resolves the profile by it)
ADDRESS_KIND = {"email": "email", "sms": "phone"}


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


def unsubscribe_claims(token: str, secrets: Sequence[bytes], now: datetime) -> LinkClaims:
    return verify_link(token, secrets, purpose=LinkPurpose.UNSUBSCRIBE, now=now)


def unsubscribe_event(
    repo: MessageRepository, token: str, secrets: Sequence[bytes], now: datetime
) -> tuple[LinkClaims, IntakeEvent | None]:
    """The claims of a genuine unsubscribe link and the consent change it makes; None when the
    message is no longer held (its person erased, or the log past retention): there is nobody
    left to unsubscribe, and the answer does not say so."""
    claims = unsubscribe_claims(token, secrets, now)
    kind = ADDRESS_KIND.get(claims.channel)
    if kind is None:
        raise Forbidden(f"token: {claims.channel} messages have no unsubscribe link", code="wrong_link")
    address = claims.to
    if address is None:
        record = repo.message(claims.message_id)
        address = record.to if record is not None else None
    return claims, consent_event(claims, kind, address, now) if address else None


def consent_event(claims: LinkClaims, kind: str, address: str, now: datetime) -> IntakeEvent:
    """The consent change an unsubscribe link makes, as an event for the processor (the only
    writer of profiles): the channel and topic of the message, off, stamped with the click's time
    and the source ``unsubscribe_link``, naming the customer by ``address`` (an identifier of
    ``kind``). The same link clicked twice is the same event."""
    digest = hashlib.sha256(f"{claims.message_id}|{claims.channel}|{claims.topic}".encode()).hexdigest()[:32]
    return IntakeEvent(
        message_id=f"unsubscribe-{digest}",
        type=EventType.IDENTIFY,
        source=SourceContext(source_id=UNSUBSCRIBE_SOURCE, channel=Channel(claims.channel), customer=True),
        traits={"subscriptions": {claims.channel: {claims.topic: False}}},
        context={"externalIds": [{"type": kind, "id": address, "collection": "users"}]},
        timestamp=now,
        received_at=now,
    )
