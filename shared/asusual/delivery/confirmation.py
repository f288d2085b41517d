"""Confirmed opt-in, the customer's side: the link of a ``consent_confirmation`` message
(asusual.profiles.consent has the rules).

Opening the link (GET, or a mail scanner's HEAD) only shows a page that asks; the page's POST
confirms. The confirmation is an event for the processor, the only writer of profiles: the
message's channel and topic granted, from the source ``consent_confirmation`` as the customer's
own action, naming the customer by the address the message went to (read from the message's
record: the link carries ids only), with the assertion it confirms. The same link confirmed twice
is the same event; a link whose message is no longer held (its person erased) confirms nothing and
answers like any other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from asusual.access.models import Channel
from asusual.delivery.explain import ADDRESS_KIND
from asusual.delivery.records import MessageReader
from asusual.delivery.tokens import LinkClaims, LinkPurpose, verify_link
from asusual.errors import Forbidden
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.consent import CONFIRMATION_SOURCE, Assertion, confirmation_context
from asusual.triggers.models import ConsentConfirmationFacts

CONFIRMATION_TRIGGER = "consent_confirmation"


@dataclass(frozen=True)
class Confirmation:
    claims: LinkClaims
    locale: str | None  # the message's: its page speaks it
    event: IntakeEvent | None  # the consent it grants; None when the message is no longer held


def open_confirmation(
    repo: MessageReader, token: str, secrets: Sequence[bytes], now: datetime
) -> Confirmation:
    """The confirmation a genuine, unexpired link makes (Forbidden otherwise: ``invalid_link``,
    ``wrong_link``, ``link_expired``). Nothing is changed here: the caller publishes the event."""
    claims = verify_link(token, secrets, purpose=LinkPurpose.CONFIRM_CONSENT, now=now)
    record = repo.message(claims.message_id)
    if record is None:
        return Confirmation(claims=claims, locale=None, event=None)
    if record.trigger != CONFIRMATION_TRIGGER or record.profile_id != claims.profile_id:
        raise Forbidden("token: not the link of a confirmation", code="wrong_link")
    try:
        facts = ConsentConfirmationFacts.model_validate(record.explanation.facts)
    except ValidationError as exc:
        raise Forbidden("token: the link no longer opens", code="invalid_link") from exc
    kind = ADDRESS_KIND.get(facts.channel)
    if kind is None or (facts.channel, facts.topic) != (claims.channel, claims.topic):
        raise Forbidden("token: not the link of this confirmation", code="wrong_link")
    event = confirmation_event(record.message_id, facts, kind, record.to, now)
    return Confirmation(claims=claims, locale=record.explanation.locale, event=event)


def confirmation_event(
    message_id: str, facts: ConsentConfirmationFacts, kind: str, address: str, now: datetime
) -> IntakeEvent:
    """The consent the confirmation grants, stamped with the click's time and naming the assertion
    it confirms (the processor stamps the consent right after that assertion)."""
    digest = hashlib.sha256(f"{message_id}|{facts.channel}|{facts.topic}".encode()).hexdigest()[:32]
    subscription: dict[str, object] = {facts.topic: True}
    if facts.consent_version is not None:
        subscription["consent_version"] = facts.consent_version
    assertion = Assertion(at=facts.asserted_at, message_id=facts.message_id, source_id=facts.source_id)
    return IntakeEvent(
        message_id=f"consent-confirmation-{digest}",
        type=EventType.IDENTIFY,
        source=SourceContext(source_id=CONFIRMATION_SOURCE, channel=Channel(facts.channel), customer=True),
        traits={"subscriptions": {facts.channel: subscription}},
        context={
            "externalIds": [{"type": kind, "id": address, "collection": "users"}],
            **confirmation_context(assertion),
        },
        timestamp=now,
        received_at=now,
    )
