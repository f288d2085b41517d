"""The dispatcher's use case: one intent → at most one message, on the right channel, at the right
local moment, with the right words — or a logged reason why not.

1. A send-once key already taken → nothing (the same intent came again).
2. The customer's profile (following merges), their plausible zones and country.
3. Channel choice with consent (asusual.delivery.policy); none → skipped, reason logged.
4. Marketing only: the send window (quiet hours) and the caps, in local time. Not now → the
   intent is deferred to the first instant both allow, unless that is past its useful life.
   A kind with a holdout (asusual.delivery.holdouts): the message that would go now is assigned
   to its group; the holdout is sent nothing (skipped ``holdout``).
5. Content: the pack's variant for trigger, channel and locale, rendered strictly; the offer of
   the day and the prices kept for the day (the same on every channel).
6. One transaction takes the send-once key, writes the message log entry (with its explanation)
   and, for marketing, the caps ledger (conditional on its version: a concurrent send re-decides).
7. The channel sends. A retryable failure releases the reservation and raises (the queue retries);
   a permanent one marks the message failed. A crash between 6 and 7 leaves the key taken:
   at most once, never twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from asusual.catalog.models import PricedProduct
from asusual.content.context import common_season
from asusual.content.pack import ContentPack, uses_variable, with_templates
from asusual.content.render import (
    ContentInput,
    ContentUnavailable,
    Rendered,
    compose,
    resolve_locale,
)
from asusual.delivery.holdouts import ExposureRecorder, Group, HoldoutPolicy, TriggerExposure
from asusual.delivery.links import LinkSigner
from asusual.delivery.models import DeliveryChannel, OutgoingMessage, PermanentFailure, Sender
from asusual.delivery.policy import (
    CapState,
    ChannelChoice,
    DeliveryPolicy,
    addresses,
    cap_state,
    choose_channel,
    in_window,
    next_allowed,
)
from asusual.delivery.programs import (
    DEFERRED,
    FAILED,
    MEMBER_FALLBACK,
    SENT,
    ProgramOutcomes,
    SegmentWords,
    skipped,
)
from asusual.delivery.records import (
    Deferred,
    DispatchReader,
    DispatchReadRequest,
    Explanation,
    MessageRecord,
    MessageRepository,
    MessageStatus,
    ReserveOutcome,
    message_id_for,
)
from asusual.delivery.snapshot import (
    PendingDecisions,
    SnapshotCatalog,
    SnapshotMessages,
    SnapshotProfiles,
)
from asusual.errors import RetryLater, TransientError
from asusual.localtime import local_dates, local_now, zone
from asusual.observability import tracer
from asusual.offers.models import DecisionRepository
from asusual.offers.service import OfferPool, customer_day, in_season, todays_offer
from asusual.offers.weather import customer_weather
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileLoader, live_profiles
from asusual.profiles.state import ProfileState
from asusual.profiles.view import ProfileView, TenurePolicy, view
from asusual.recommendations.serve import Recommender, recommendations_for
from asusual.triggers.kinds import kind_of
from asusual.triggers.models import Intent, Topic
from asusual.triggers.reminders import CatalogReader
from asusual.weather.rules import WeatherSource

MAX_ATTEMPTS = 8
CAPS_KEPT = timedelta(days=8)  # a local week plus a day covers every zone's current week


class DispatchStatus(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class DispatchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: DispatchStatus
    reason: str
    message_id: str | None = None
    channel: str | None = None
    release_at: datetime | None = None


@dataclass
class DispatchDeps:
    profiles: ProfileLoader
    messages: MessageRepository
    decisions: DecisionRepository
    catalog: CatalogReader
    offers: OfferPool
    senders: Mapping[DeliveryChannel, Sender]
    pack: ContentPack
    links: LinkSigner
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    tenure: TenurePolicy = field(default_factory=TenurePolicy)
    default_country: str | None = None
    webhooks: Sequence[str] = ()
    # reads everything one dispatch needs in one round trip (production); without it each
    # repository is read on its own (the in-memory fakes of the unit tests)
    reader: DispatchReader | None = None
    # campaigns: cancellation and each intent's outcome (None: no program is told anything)
    programs: ProgramOutcomes | None = None
    # why a customer is in a campaign's segment, in words (None: the neutral words)
    segment_words: SegmentWords | None = None
    # trigger kinds' holdouts, and where their exposures are written (none: nobody held out)
    holdouts: HoldoutPolicy = field(default_factory=HoldoutPolicy)
    exposures: ExposureRecorder | None = None
    # the day's weather where the customer is (docs/weather.md); None: the feature is off
    weather: WeatherSource | None = None
    # the recommendations a marketing template may print (None: an empty list)
    recommender: Recommender | None = None


@dataclass(frozen=True)
class Customer:
    profile: Profile
    state: ProfileState  # the join of the profile's parts, computed once per intent
    view: ProfileView
    zones: tuple[str, ...]
    country: str | None


def template_key(intent: Intent) -> str:
    return kind_of(intent.facts).template_key(intent.facts)


def load_customer(deps: DispatchDeps, profile_id: str) -> Customer | None:
    profile = live_profiles(deps.profiles, {profile_id}).get(profile_id)
    if profile is None:
        return None
    state = profile.state()
    traits = {k: v.value for k, v in state.traits.items()}
    return Customer(
        profile=profile,
        state=state,
        view=view(profile.profile_id, state, deps.tenure),
        zones=plausible_zones(state, deps.default_country),
        country=country_of(traits, deps.default_country),
    )


def useful_until(intent: Intent, zones: Sequence[str]) -> datetime | None:
    """After this a marketing message is pointless or wrong (a birthday greeting a day late)."""
    return kind_of(intent.facts).useful_until(intent.facts, intent.created_at, zones)


def dispatch(intent: Intent, deps: DispatchDeps, now: datetime) -> DispatchResult:
    """Decide and send; a reservation that lost a race (caps ledger, a day decision) decides again
    from a fresh read. An intent of a program (a campaign) is skipped once the program is
    cancelled, and its outcome is recorded on the program (once, whatever the redeliveries)."""
    program = kind_of(intent.facts).program(intent.facts)
    if program is None or deps.programs is None:
        return _dispatch(intent, deps, now)
    if deps.programs.cancelled(program):
        result = DispatchResult(status=DispatchStatus.SKIPPED, reason="cancelled")
    else:
        result = _dispatch(intent, deps, now)
    deps.programs.record_outcome(intent.profile_id, program, outcome_of(result))
    return result


def outcome_of(result: DispatchResult) -> str:
    """An exposure's outcome for a dispatch result. A duplicate is a send-once key taken before:
    the message went (or its sending crashed, which never sends twice), so it counts as sent."""
    return {
        DispatchStatus.SENT: SENT,
        DispatchStatus.DUPLICATE: SENT,
        DispatchStatus.DEFERRED: DEFERRED,
        DispatchStatus.FAILED: FAILED,
        DispatchStatus.SKIPPED: skipped(result.reason),
    }[result.status]


def _dispatch(intent: Intent, deps: DispatchDeps, now: datetime) -> DispatchResult:
    unread: set[str] = set()
    for _attempt in range(MAX_ATTEMPTS):
        attempt, pending = _snapshot_deps(intent, deps, now, unread) if deps.reader else (deps, None)
        result = _dispatch_once(intent, attempt, now)
        if result is not None:
            return result
        if pending is not None:
            unread |= pending.unread_products  # read them too next time
    raise TransientError("the caps ledger or the day's decisions changed concurrently too often; retry")


def read_request(
    intent: Intent, now: datetime, extra_products: Set[str] = frozenset()
) -> DispatchReadRequest:
    """What one dispatch of ``intent`` may read: its products, and the day items of every local
    date that exists now when the message may show an offer or a price."""
    kind = kind_of(intent.facts)
    products = set(extra_products) | kind.product_ids(intent.facts)
    return DispatchReadRequest(
        send_once_key=intent.send_once_key,
        profile_id=intent.profile_id,
        caps=intent.topic is Topic.MARKETING,
        product_ids=tuple(sorted(products)),
        days=local_dates(now) if kind.reads_day else (),
    )


def _snapshot_deps(
    intent: Intent, deps: DispatchDeps, now: datetime, unread: set[str]
) -> tuple[DispatchDeps, PendingDecisions]:
    assert deps.reader is not None
    snapshot = deps.reader.read_for_dispatch(read_request(intent, now, unread))
    decisions = PendingDecisions(snapshot)
    views = replace(
        deps,
        profiles=SnapshotProfiles(deps.profiles, snapshot),
        messages=SnapshotMessages(deps.messages, snapshot, decisions),
        decisions=decisions,
        catalog=SnapshotCatalog(deps.catalog, snapshot),
    )
    return views, decisions


def _dispatch_once(intent: Intent, deps: DispatchDeps, now: datetime) -> DispatchResult | None:
    """One decision; None when the reservation lost a race and the caller should decide again."""
    if deps.messages.send_record(intent.send_once_key) is not None:
        return _already_sent(intent, deps, now)
    customer = load_customer(deps, intent.profile_id)
    if customer is None:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason="unknown_profile")
    state = customer.state
    kind = kind_of(intent.facts)
    wanted = kind.product_ids(intent.facts)
    catalog = deps.catalog.get_products(set(wanted)) if wanted else {}
    if (reason := kind.obsolete(intent.facts, state, catalog, now)) is not None:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason=reason)
    reachable = addresses(state, deps.webhooks)
    choice = choose_channel(intent, state, customer.view.preferred_channel, reachable)
    if choice.channel is None or choice.address is None:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason=choice.reason)
    if seasonal := kind.in_season_only(intent.facts):
        season = common_season(now, customer.zones)
        if any(not in_season(p, season) for p in deps.catalog.get_products(set(seasonal)).values()):
            # no sunscreen reminder in local winter (nor when the local season is unknown)
            return DispatchResult(status=DispatchStatus.SKIPPED, reason="out_of_season")
    caps = CapState(exempt=True)
    ledger = None  # transactional messages are neither capped nor counted: no read
    if intent.topic is Topic.MARKETING:
        ledger = deps.messages.caps(customer.profile.profile_id)
        gate = _marketing_gate(intent, customer, list(ledger.sends.values()), deps, now)
        if gate is not None:
            return gate
        caps = cap_state(now, customer.zones, ledger.sends.values(), deps.policy)
    exposure = _assign(intent, customer, deps, now)
    if exposure is not None and exposure.group is Group.HOLDOUT:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason="holdout", channel=choice.channel)
    record, outgoing = _compose(intent, customer, choice, caps, deps, now)
    if record is None or outgoing is None:
        result = DispatchResult(status=DispatchStatus.SKIPPED, reason="no_content", channel=choice.channel)
        return _recorded(result, exposure, deps)
    new_ledger = ledger.with_send(record.message_id, now, now - CAPS_KEPT) if ledger is not None else None
    reserved = deps.messages.reserve(record, new_ledger)
    if reserved is ReserveOutcome.DUPLICATE:
        return DispatchResult(status=DispatchStatus.DUPLICATE, reason="already_sent")
    if reserved is ReserveOutcome.CONFLICT:
        return None
    return _recorded(_send(record, outgoing, deps), exposure, deps)


def _assign(intent: Intent, customer: Customer, deps: DispatchDeps, now: datetime) -> TriggerExposure | None:
    """The group of a marketing message that would go now, when its kind has a holdout: written
    (once per send-once key) before anything is composed, so both groups are counted at the same
    point. A transactional message is never held out."""
    if deps.exposures is None or intent.topic is not Topic.MARKETING:
        return None
    exposure = deps.holdouts.assign(intent.trigger, customer.profile.profile_id, intent.send_once_key, now)
    if exposure is not None:
        deps.exposures.assign(exposure)
    return exposure


def _already_sent(intent: Intent, deps: DispatchDeps, now: datetime) -> DispatchResult:
    """The send-once key is taken: nothing goes out again. A recipient's exposure whose outcome a
    crash after the send left unrecorded gets it now (a no-op when it was recorded)."""
    result = DispatchResult(status=DispatchStatus.DUPLICATE, reason="already_sent")
    if deps.exposures is None or intent.topic is not Topic.MARKETING:
        return result
    exposure = deps.holdouts.assign(intent.trigger, intent.profile_id, intent.send_once_key, now)
    if exposure is not None and exposure.group is Group.RECIPIENT:
        deps.exposures.record_outcome(exposure, DispatchStatus.SENT.value)
    return result


def _recorded(result: DispatchResult, exposure: TriggerExposure | None, deps: DispatchDeps) -> DispatchResult:
    """A recipient's outcome on its exposure and its program's counters (sent, failed, skipped)."""
    if exposure is not None and deps.exposures is not None:
        outcome = (
            result.status.value if result.status is not DispatchStatus.SKIPPED else f"skipped:{result.reason}"
        )
        deps.exposures.record_outcome(exposure, outcome)
    return result


def _marketing_gate(
    intent: Intent, customer: Customer, sent: list[datetime], deps: DispatchDeps, now: datetime
) -> DispatchResult | None:
    """None when a marketing message may go now; else deferred (with its release) or skipped."""
    if not customer.zones:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason="timezone_unknown")
    opening = next_allowed(now, customer.zones, sent, deps.policy)
    if opening is not None and opening <= now:
        return None
    reason = "quiet_hours" if not in_window(now, customer.zones, deps.policy) else "frequency_cap"
    if opening is None:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason=f"{reason}_no_opening")
    limit = useful_until(intent, customer.zones)
    if limit is not None and opening >= limit:
        return DispatchResult(status=DispatchStatus.SKIPPED, reason=f"{reason}_until_expiry")
    deps.messages.defer(Deferred(intent=intent, release_at=opening, reason=reason, deferred_at=now))
    return DispatchResult(status=DispatchStatus.DEFERRED, reason=reason, release_at=opening)


def _compose(
    intent: Intent,
    customer: Customer,
    choice: ChannelChoice,
    caps: CapState,
    deps: DispatchDeps,
    now: datetime,
) -> tuple[MessageRecord | None, OutgoingMessage | None]:
    assert choice.channel is not None and choice.address is not None
    channel = choice.channel
    profile_id = customer.profile.profile_id
    message_id = message_id_for(intent.send_once_key)
    state = customer.state
    day = customer_day(now, customer.zones)
    season = common_season(now, customer.zones)
    weather = customer_weather(deps.weather, state, deps.default_country, now)
    kind = kind_of(intent.facts)
    wanted = set(kind.product_ids(intent.facts))
    catalog = deps.catalog.get_products(wanted) if wanted else {}
    products = kind.products(intent.facts, catalog)
    pack = deps.pack
    if (own := kind.templates(intent.facts)) is not None:
        pack = with_templates(pack, template_key(intent), own)
    recommended = _recommended(intent, customer, pack, channel, deps, now)
    priced_products = [p for p in products if p.price is not None]
    if priced_products or recommended:  # the price shown today stays the price shown today, on every channel
        kept = {
            p.product_id: p
            for p in deps.decisions.keep_prices(profile_id, day, priced_products + recommended)
        }
        products = [kept.get(p.product_id, p) for p in products]
        recommended = [kept.get(p.product_id, p) for p in recommended]
    offer = None
    if kind.shows_offer:
        offer = todays_offer(
            deps.decisions,
            deps.offers.offer_pool(),
            state,
            season,
            profile_id,
            day,
            now,
            f"message:{message_id}",
            weather,
        ).offer
    quantities = kind.quantities(intent.facts)
    why_url = deps.links.why_url(message_id, profile_id, channel.value, intent.topic.value, now)
    unsubscribe_url = (
        deps.links.unsubscribe_url(message_id, profile_id, channel.value, intent.topic.value, now)
        if intent.topic is Topic.MARKETING and channel in (DeliveryChannel.EMAIL, DeliveryChannel.SMS)
        else None
    )
    preferences_url = deps.links.preferences_url(
        message_id, profile_id, channel.value, intent.topic.value, now
    )
    facts = intent.facts.model_dump(mode="json")
    if (segment_id := kind.segment_id(intent.facts)) is not None:
        facts["segment_reason"] = _member_words(customer, segment_id, deps)
    confirms = kind.confirms(intent.facts)
    confirm_url = (
        deps.links.confirm_consent_url(message_id, profile_id, confirms[0], confirms[1], now)
        if confirms
        else None
    )
    request = ContentInput(
        trigger=template_key(intent),
        channel=channel.value,
        profile=customer.view,
        zones=customer.zones,
        country=customer.country,
        now=now,
        facts=facts,
        products=tuple(p.shown(quantities.get(p.product_id)) for p in products),
        offer=offer.shown() if offer is not None else None,
        why_url=why_url,
        unsubscribe_url=unsubscribe_url,
        preferences_url=preferences_url,
        message_id=message_id,
        confirm_url=confirm_url,
        weather=weather,
        recommendations=tuple(p.shown() for p in recommended),
    )
    try:
        rendered = compose(pack, request)
    except ContentUnavailable:
        return None, None
    local_sent_at = local_now(now, customer.zones)
    explained: dict[str, object] = {k: v for k, v in facts.items() if k not in kind.unexplained_facts}
    explanation = _explain(
        intent, customer, choice, caps, rendered, offer, products, message_id, now, deps, explained
    )
    record = MessageRecord(
        message_id=message_id,
        profile_id=profile_id,
        intent_id=intent.intent_id,
        send_once_key=intent.send_once_key,
        trigger=template_key(intent),
        topic=intent.topic.value,
        channel=channel.value,
        to=choice.address,
        subject=rendered.subject,
        body=rendered.body,
        status=MessageStatus.SENDING,
        created_at=now,
        explanation=explanation,
        preferences_url=preferences_url,
        campaign_id=kind.campaign_id(intent.facts),
    )
    outgoing = OutgoingMessage(
        id=message_id,
        profile_id=profile_id,
        channel=channel,
        to=choice.address,
        subject=rendered.subject,
        body=rendered.body,
        html=rendered.html,
        trigger=template_key(intent),
        template=f"{rendered.template_id}#{rendered.variant_id}",
        locale=rendered.locale,
        topic=intent.topic.value,
        sent_at=now,
        local_sent_at=local_sent_at,
        why_url=why_url,
        unsubscribe_url=unsubscribe_url,
        preferences_url=preferences_url,
        send_once_key=intent.send_once_key,
        campaign_id=kind.campaign_id(intent.facts),
    )
    return record, outgoing


MESSAGE_RECOMMENDATIONS = 3  # products a marketing message may recommend


def _recommended(
    intent: Intent,
    customer: Customer,
    pack: ContentPack,
    channel: DeliveryChannel,
    deps: DispatchDeps,
    now: datetime,
) -> list[PricedProduct]:
    """The products a marketing message recommends (docs/recommendations.md), read only when its
    template prints ``recommendations``."""
    kind = kind_of(intent.facts)
    if deps.recommender is None or not kind.shows_offer:
        return []
    if not uses_variable(pack, template_key(intent), channel.value, "recommendations"):
        return []
    picks = recommendations_for(
        customer.state,
        deps.recommender,
        deps.offers.offer_pool(),
        common_season(now, customer.zones),
        now,
        customer_day(now, customer.zones),
        customer.profile.profile_id,
        MESSAGE_RECOMMENDATIONS,
    )
    return [pick.product for pick in picks]


def _explain(
    intent: Intent,
    customer: Customer,
    choice: ChannelChoice,
    caps: CapState,
    rendered: Rendered,
    offer: PricedProduct | None,
    products: list[PricedProduct],
    message_id: str,
    now: datetime,
    deps: DispatchDeps,
    facts: dict[str, object],
) -> Explanation:
    start, end = deps.policy.send_window
    assert choice.channel is not None
    return Explanation(
        message_id=message_id,
        profile_id=customer.profile.profile_id,
        why=rendered.why,
        trigger=template_key(intent),
        topic=intent.topic.value,
        facts=facts,
        channel=choice.channel.value,
        channel_reason=choice.reason,
        channels_considered=choice.considered,
        consent=choice.consent,
        caps=caps,
        quiet_hours={
            "applies": intent.topic is Topic.MARKETING,
            "send_window": f"{start:%H:%M}-{end:%H:%M}",
            "zones": list(customer.zones),
            "local_times": [now.astimezone(tz).isoformat() for z in customer.zones if (tz := zone(z))][:3],
            "intent_created_at": intent.created_at.isoformat(),
            "deferrals": [d.model_dump(mode="json") for d in intent.deferrals],
        },
        template=rendered.template_id,
        variant=rendered.variant_id,
        locale=rendered.locale,
        context=rendered.context,
        offer=offer if rendered.shows_offer else None,  # only what the message showed
        products=products,
        sent_at=now,
        local_sent_at=local_now(now, customer.zones),
    )


def _member_words(customer: Customer, segment_id: str, deps: DispatchDeps) -> str:
    """Why the customer is in the segment, in her language's words, for the why line."""
    locale = resolve_locale(customer.view.locale, deps.pack)
    words = deps.segment_words(customer.profile, segment_id, locale) if deps.segment_words else []
    return "; ".join(words) if words else MEMBER_FALLBACK.get(locale, MEMBER_FALLBACK["en"])


@tracer.capture_method(capture_response=False, capture_error=False)  # errors may name the address
def _send(record: MessageRecord, outgoing: OutgoingMessage, deps: DispatchDeps) -> DispatchResult:
    sender = deps.senders.get(outgoing.channel)
    if sender is None:
        deps.messages.mark_failed(record, f"no sender configured for {outgoing.channel.value}")
        return DispatchResult(
            status=DispatchStatus.FAILED,
            reason="no_sender",
            message_id=record.message_id,
            channel=record.channel,
        )
    try:
        receipt = sender.send(outgoing)
    except PermanentFailure as exc:
        deps.messages.mark_failed(record, str(exc) or type(exc).__name__)
        return DispatchResult(
            status=DispatchStatus.FAILED,
            reason="channel_refused",
            message_id=record.message_id,
            channel=record.channel,
        )
    except RetryLater:
        deps.messages.release(record)  # nothing went out: the queue's retry may send it
        raise
    deps.messages.mark_sent(record, receipt.provider_id)
    return DispatchResult(
        status=DispatchStatus.SENT, reason="sent", message_id=record.message_id, channel=record.channel
    )
