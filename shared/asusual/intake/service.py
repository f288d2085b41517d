"""The intake use case: authenticate, throttle, validate item by item, enqueue durably."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from asusual.access.identity import SIGNATURE_FIELD, IdentityVerifier
from asusual.access.keys import key_from_authorization
from asusual.access.models import KeyScope, Principal
from asusual.access.origins import check_origin
from asusual.access.service import KeyLookup, authenticate
from asusual.access.throttle import RateLimiter
from asusual.intake.models import EventType, IntakeEvent, IntakeResponse, SourceContext
from asusual.intake.parsing import decode_body, parse_request, write_key_in_body
from asusual.iplocation import Locator, languages_for, lookup_address
from asusual.observability import MetricUnit, logger, metrics


class EventPublisher(Protocol):
    def publish(self, events: Sequence[IntakeEvent]) -> None:
        """Durably enqueue all events or raise (TransientError / Throttled)."""
        ...


@dataclass(frozen=True)
class IntakeRequest:
    kind: EventType | None  # None for /v1/batch
    body: bytes
    content_encoding: str | None
    authorization: str | None
    query_key: str | None = None  # ?writeKey= (RudderStack's beacon: sendBeacon cannot set headers)
    origin: str | None = None  # a browser's Origin: the key's source must be public and allow it
    # the address the request came from (API Gateway's sourceIp): a public source's visitor, whose
    # browser SDK sends no context.ip (Segment's servers fill it the same way); never read for a
    # server-side source, whose requests come from the retailer's own servers
    client_ip: str | None = None


@dataclass(frozen=True)
class Limits:
    rate: float
    burst: int


def ingest(
    request: IntakeRequest,
    *,
    keys: KeyLookup,
    publisher: EventPublisher,
    limiter: RateLimiter,
    default_limits: Limits,
    identities: IdentityVerifier,
    now: datetime,
    locator: Locator | None = None,
) -> IntakeResponse:
    header_key = key_from_authorization(request.authorization) or request.query_key
    principal = _authenticate(header_key, keys, now) if header_key else None
    body = decode_body(request.body, request.content_encoding)
    if principal is None:
        principal = _authenticate(write_key_in_body(body), keys, now)
    source = principal.source
    assert source is not None  # write keys always belong to a source
    check_origin(request.origin, source)
    limiter.take(
        principal.key_id,
        rate=source.rate_limit or default_limits.rate,
        burst=source.burst or default_limits.burst,
        now=now,
    )
    parsed = parse_request(
        body,
        kind=request.kind,
        source=SourceContext(
            source_id=source.source_id,
            channel=source.channel,
            timezone=source.timezone,
            country=source.country,
            store_id=source.store_id,
            public=source.public,
        ),
        received_at=now,
    )
    parsed.events = [
        located(signed_identity(event, identities), locator, request.client_ip) for event in parsed.events
    ]
    if parsed.events:
        publisher.publish(parsed.events)
    metrics.add_metric(name="MessagesAccepted", unit=MetricUnit.Count, value=len(parsed.events))
    if corrected := parsed.corrected_times:
        # a client's clock ahead of ours (or a forged time): the event time was clamped to arrival
        metrics.add_metric(name="EventTimesCorrected", unit=MetricUnit.Count, value=corrected)
        logger.info("event times corrected", source_id=source.source_id, corrected=corrected)
    if parsed.rejections:
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=len(parsed.rejections))
        logger.warning(
            "rejected messages",
            source_id=source.source_id,
            rejected=len(parsed.rejections),
            accepted=len(parsed.events),
            reasons=[r.reason for r in parsed.rejections[:20]],
        )
        return IntakeResponse(rejected=parsed.rejections)
    return IntakeResponse()


def signed_identity(event: IntakeEvent, identities: IdentityVerifier) -> IntakeEvent:
    """The event with ``context.identity_signature`` taken out (it goes no further: not on the queue,
    not in a profile) and, for a public source's event whose userId it signs, ``identity_signed``.

    A signature that does not match (a shop's server on a dropped link secret, a forgery) is not a
    reason to lose the event: it is kept as unsigned — exactly what the public key could send
    without any signature — and counted (``IdentitySignaturesInvalid``) and logged with the source."""
    signature = event.context.get(SIGNATURE_FIELD)
    if signature is None:
        return event
    context = {k: v for k, v in event.context.items() if k != SIGNATURE_FIELD}
    if not event.source.public or not event.user_id:
        return event.model_copy(update={"context": context})
    signed = identities.valid(signature, event.user_id, event.source.source_id)
    if not signed:
        metrics.add_metric(name="IdentitySignaturesInvalid", unit=MetricUnit.Count, value=1)
        logger.warning(
            "identity signature does not match: the event is kept as unsigned",
            source_id=event.source.source_id,
            message_id=event.message_id,
        )
    return event.model_copy(update={"context": context, "identity_signed": signed})


def located(event: IntakeEvent, locator: Locator | None, client_ip: str | None) -> IntakeEvent:
    """The event with ``context.ip`` taken out (the address goes no further: not on the queue, not
    in a profile, not in a log) and, when the database places the address, ``ip_location`` with
    the city's name in the visitor's language and English only (``asusual.iplocation``).

    The address is the message's ``context.ip``; a public source's message without one is placed by
    the address its request came from. A message that sends ``context.ip`` is taken at its word,
    whatever it sends ("0.0.0.0", as Segment's clients send to opt out, places nobody)."""
    context = event.context
    sent = "ip" in context
    raw = context.get("ip") if sent else (client_ip if event.source.public else None)
    address = lookup_address(raw)
    place = locator.locate(address) if locator is not None and address is not None else None
    update: dict[str, object] = {}
    if sent:
        update["context"] = {k: v for k, v in context.items() if k != "ip"}
    if place is not None:
        update["ip_location"] = place.in_languages(languages_for(context.get("locale")))
    return event.model_copy(update=update) if update else event


def _authenticate(raw_key: str | None, keys: KeyLookup, now: datetime) -> Principal:
    return authenticate(raw_key, keys, now=now, allowed=(KeyScope.WRITE,))
