"""The event processor's whole use case, a batch at a time (asusual.profiles.batch): apply the
events to their profiles, then run the triggers that react to each event (order status,
replenishment scheduling, abandonment timers, interest, baskets), count a completed order for the
holdout groups the customer was in (campaigns, trigger kinds), then mark the events processed.

Each trigger is idempotent, and the event's marker is written only after they ran: an event
redelivered after a crash runs them again and changes nothing, while its intents may be emitted
again (the dispatcher sends each send-once key at most once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from asusual.errors import Conflict, TransientError
from asusual.identity.models import IdentityPolicy
from asusual.intake.models import MAX_ID_LENGTH, EventType, IntakeEvent
from asusual.localtime import local_now
from asusual.observability import logger, tracer
from asusual.profiles.batch import BatchOptions, BatchProfileRepository
from asusual.profiles.batch import process_batch as apply_batch
from asusual.profiles.birthday import has_marketing_consent, plausible_zones
from asusual.profiles.consent import address_to_ask, awaiting_confirmation
from asusual.profiles.derived import SegmentHook
from asusual.profiles.facts import ORDER_PLACED, number
from asusual.profiles.processor import Outcome
from asusual.profiles.state import ProfileState
from asusual.triggers.abandonment import AbandonmentPolicy, TimerRepository, arm_timers, arms_timers
from asusual.triggers.baskets import basket_record
from asusual.triggers.models import ConsentConfirmationFacts, Intent, Topic, WelcomeFacts, make_intent
from asusual.triggers.orders import (
    OrderRepository,
    StatusChange,
    advance,
    intent_for,
    order_lines,
    status_change,
)
from asusual.triggers.ports import (
    BasketLog,
    ConversionRecorder,
    IntentPublisher,
    InterestRecorder,
    OrderConversion,
)
from asusual.triggers.reminders import CatalogReader, Reminder, ReminderRepository, schedule_purchase
from asusual.triggers.replenishment import ReplenishmentPolicy
from asusual.triggers.stock import interest_of

MAX_ATTEMPTS = 8
MAX_ORDER_REVENUE = 10**12  # above: a unit mix-up, counted as an order without revenue


@dataclass
class TriggerServices:
    orders: OrderRepository
    reminders: ReminderRepository
    catalog: CatalogReader
    publisher: IntentPublisher
    replenishment: ReplenishmentPolicy = field(default_factory=ReplenishmentPolicy)
    # an order status or a subscription older than this when it arrives (a history import, a
    # backlog of days) changes the order or the profile but tells the customer nothing: "your order
    # is paid" about last year's order, or "welcome" to a subscriber of 2024, is noise
    news_max_age: timedelta = timedelta(hours=72)
    # counts completed orders for the customer's exposures (campaign and trigger holdout groups)
    conversions: ConversionRecorder | None = None
    # the products a customer viewed or added, for back-in-stock and price-drop news (triggers.stock)
    interests: InterestRecorder | None = None
    interest_window: timedelta = timedelta(days=30)
    # cart and browse abandonment timers (asusual.triggers.abandonment); None: not armed
    timers: TimerRepository | None = None
    abandonment: AbandonmentPolicy = field(default_factory=AbandonmentPolicy)
    # the recommendations' basket log (docs/recommendations.md), and how far back a view counts
    baskets: BasketLog | None = None
    basket_view_window: timedelta = timedelta(days=7)


@dataclass
class Processed:
    outcome: Outcome
    intents: list[Intent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # why a status produced nothing
    reminders: list[Reminder] = field(default_factory=list)
    conversions: int = 0  # exposures this event's order was counted for now
    interest: bool = False  # a view or add was written to the product's interest index
    basket_logged: bool = False  # the order's basket was added to the recommendations' log now


@dataclass
class BatchItem:
    """One message of a batch: what it did, or the error that returns it to the queue."""

    event: IntakeEvent
    processed: Processed | None = None
    error: BaseException | None = None


def process_batch(
    events: Sequence[IntakeEvent],
    profiles: BatchProfileRepository,
    identity: IdentityPolicy,
    services: TriggerServices,
    *,
    now: datetime,
    dedupe_window: timedelta,
    default_country: str | None,
    segments: SegmentHook | None = None,
    run: Callable[[list[Callable[[], None]]], None] | None = None,
) -> list[BatchItem]:
    """The event processor's use case for one SQS batch (asusual.profiles.batch): each touched
    profile written once, then each event's triggers, in the order the events arrived. ``run``
    runs the independent groups (a thread pool in the handler; one after another by default)."""
    results: dict[int, Processed] = {}  # id(event) → its triggers' result

    def react(event: IntakeEvent, outcome: Outcome) -> None:
        result = Processed(outcome=outcome)
        evaluate_triggers(result, event, outcome, services, now, default_country)
        results[id(event)] = result

    options = BatchOptions(
        now=now,
        dedupe_window=dedupe_window,
        default_country=default_country,
        segments=segments,
        remembered=remembered,
        **({"run": run} if run is not None else {}),
    )
    applied = apply_batch(events, profiles, identity, options, on_applied=react)
    return [
        BatchItem(
            event=a.event,
            processed=results.get(id(a.event)) or (Processed(outcome=a.outcome) if a.outcome else None),
            error=a.error,
        )
        for a in applied
    ]


def remembered(event: IntakeEvent) -> bool:
    """An event whose marker is kept, so that its redelivery is skipped: an identify, alias or
    group, an order or an order status, anything carrying traits. A page, a screen or another
    track (a product viewed, added...) keeps none: applied again it changes nothing (the profile
    join is idempotent, its interest and timer writes are conditional), so a marker would cost a
    read and a write per event for nothing."""
    if event.type not in (EventType.PAGE, EventType.SCREEN, EventType.TRACK):
        return True
    if event.traits or event.context.get("traits"):
        return True
    return event.type is EventType.TRACK and (status_change(event) is not None or _is_purchase(event))


@tracer.capture_method(capture_response=False, capture_error=False)  # intents carry the facts
def evaluate_triggers(
    result: Processed,
    event: IntakeEvent,
    outcome: Outcome,
    services: TriggerServices,
    now: datetime,
    default_country: str | None = None,
) -> None:
    """The triggers that react to an event applied to its profile: order status and welcome intents
    (published together), then the replenishment plan of a purchase, and a view or add kept in the
    product's interest index; what they did goes in ``result``."""
    result.outcome = outcome
    change = status_change(event)
    if change is not None:
        news_max_age = services.news_max_age
        intent, ignored = order_status(event, change, outcome.profile_id, services.orders, now, news_max_age)
        if intent is not None:
            result.intents.append(intent)
        if ignored:
            result.ignored.append(ignored)
    welcome = welcome_intent(event, outcome, now, services.news_max_age)
    if welcome is not None:
        result.intents.append(welcome)
    result.intents += confirmation_intents(event, outcome, now, services.news_max_age, default_country)
    if result.intents:
        services.publisher.publish(result.intents)
    if (
        services.timers is not None
        and outcome.profile is not None
        and outcome.profile_id is not None
        and arms_timers(event)
        and now - event.timestamp <= services.news_max_age  # an imported history reminds nobody
    ):
        state = outcome.profile.state()
        arm_timers(event, outcome.profile_id, state, services.timers, services.abandonment)
    if outcome.profile is not None and _is_purchase(event) and services.conversions is not None:
        order = order_conversion(event, tuple(sorted(outcome.profile.parts)))
        if order is not None:
            result.conversions = services.conversions.record_order(order)
    if outcome.profile is not None and _is_purchase(event):
        products = _product_ids(event)
        if products:
            result.reminders = schedule_purchase(
                event.timestamp,
                outcome.profile,
                products,
                services.reminders,
                services.catalog,
                services.replenishment,
                now,
            )
    if services.interests is not None:
        interest = interest_of(event, outcome, services.interest_window, now)
        if interest is not None:
            expires_at = interest.at + services.interest_window
            result.interest = services.interests.record_interest(interest, expires_at)
    # recommendations: the order's basket, logged once per order id for the hourly job to learn
    if outcome.profile is not None and _is_purchase(event) and services.baskets is not None:
        log_basket(result, event, outcome.profile.state(), services, now)


def log_basket(
    result: Processed, event: IntakeEvent, state: ProfileState, services: TriggerServices, now: datetime
) -> None:
    change = status_change(event)
    if change is None or services.baskets is None:
        return
    basket = basket_record(
        change.order_id[:MAX_ID_LENGTH],
        _product_ids(event),
        event.timestamp,
        state,
        now,
        services.basket_view_window,
    )
    if basket is not None:
        result.basket_logged = services.baskets.record_basket(basket)


def order_status(
    event: IntakeEvent,
    change: StatusChange,
    profile_id: str | None,
    orders: OrderRepository,
    now: datetime,
    max_age: timedelta | None = None,
) -> tuple[Intent | None, str | None]:
    """Move the order's state machine; the intent to emit (at most one per order and status).
    A status whose event time is more than ``max_age`` before ``now`` is recorded but not told."""
    for _attempt in range(MAX_ATTEMPTS):
        current = orders.load_order(change.order_id)
        step = advance(current, change, event, profile_id)
        if step.record is not None:
            try:
                orders.save_order(step.record, current.version if current is not None else None)
            except Conflict:
                continue
        if step.emit is None:
            logger.info(
                "order status produced nothing",
                order_id=change.order_id,
                status=change.status.value,
                reason=step.ignored,
            )
            return None, step.ignored
        recipient = profile_id or step.emit.profile_id
        if max_age is not None and now - event.timestamp > max_age:
            logger.info(
                "order status too old to tell the customer",
                order_id=change.order_id,
                status=change.status.value,
                event_time=event.timestamp.isoformat(),
            )
            return None, "historical"
        if recipient is None:
            logger.info("order status for an unknown customer", order_id=change.order_id)
            return None, "unknown_customer"
        return intent_for(step.emit, change.status, recipient, now), None
    raise TransientError("order changed concurrently too often; retry")


def welcome_intent(
    event: IntakeEvent, outcome: Outcome, now: datetime, max_age: timedelta | None = None
) -> Intent | None:
    """A customer who had no marketing consent anywhere and now has it is welcomed, once per profile
    (not when the subscription is more than ``max_age`` old on arrival: an import of old consents)."""
    if outcome.profile is None or outcome.profile_id is None:
        return None
    if max_age is not None and now - event.timestamp > max_age:
        return None
    after = outcome.profile.state()
    if not has_marketing_consent(after):
        return None
    if outcome.previous is not None and _consented_before(outcome.previous.state(), event.message_id):
        return None
    channels = tuple(
        sorted(
            key.split(".", 1)[0]
            for key, stamped in after.subscriptions.items()
            if key.endswith(".marketing")
            and stamped.value.get("subscribed")
            and stamped.msg == event.message_id
        )
    )
    if not channels:
        return None  # consent came with a merge, not from this event: nobody subscribed just now
    facts = WelcomeFacts(channels=channels, subscribed_at=event.timestamp, source_id=event.source.source_id)
    return make_intent(outcome.profile_id, Topic.MARKETING, f"welcome:{outcome.profile_id}", facts, now)


def confirmation_intents(
    event: IntakeEvent,
    outcome: Outcome,
    now: datetime,
    max_age: timedelta | None = None,
    default_country: str | None = None,
) -> list[Intent]:
    """An opt-in this event asserted from a public source, still waiting after it was applied, asks
    the address to confirm it (asusual.profiles.consent): transactional, at most once per address
    and the customer's local day (the send-once key), whatever the number of assertions. An
    assertion more than ``max_age`` old on arrival (an import) asks nothing."""
    if outcome.profile is None or outcome.profile_id is None:
        return []
    if max_age is not None and now - event.timestamp > max_age:
        return []
    after = outcome.profile.state()
    today = local_now(now, plausible_zones(after, default_country)).date()
    intents = []
    for key, asserted in awaiting_confirmation(after).items():
        if asserted.msg != event.message_id:
            continue  # asserted by another event (that one asked), or it came with a merge
        address = address_to_ask(after, key, asserted)
        if address is None:
            continue  # no address to ask: the assertion stays pending until one is given
        channel, topic = key.split(".", 1)
        value = asserted.value if isinstance(asserted.value, dict) else {}
        version = value.get("consent_version")
        facts = ConsentConfirmationFacts(
            channel=channel,
            topic=topic,
            asserted_at=asserted.at,
            source_id=str(value.get("source_id")),
            message_id=asserted.msg,
            consent_version=str(version) if version is not None else None,
        )
        digest = hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()[:24]
        key_once = f"consent_confirmation:{channel}:{digest}:{today.isoformat()}"
        intents.append(make_intent(outcome.profile_id, Topic.TRANSACTIONAL, key_once, facts, now))
    return intents


def order_conversion(event: IntakeEvent, profile_ids: tuple[str, ...]) -> OrderConversion | None:
    """The conversion an ``Order Completed`` reports: its id, its total (``total``, else
    ``revenue``; none, negative or above a trillion: 0) and its event time. None without an order id."""
    props = event.properties
    order_id = props.get("order_id") or props.get("orderId")
    if order_id in (None, "") or not isinstance(order_id, str | int) or not profile_ids:
        return None
    total = number(props.get("total"))
    if total is None:
        total = number(props.get("revenue"))
    plausible = total is not None and 0 < total < MAX_ORDER_REVENUE
    revenue = Decimal(str(total)).quantize(Decimal("0.01")) if plausible else Decimal(0)
    order = str(order_id)[:MAX_ID_LENGTH]
    return OrderConversion(profile_ids=profile_ids, order_id=order, revenue=revenue, at=event.timestamp)


def _consented_before(state: ProfileState, message_id: str) -> bool:
    """Marketing consent the profile had from another event than this one. Consent from this very
    event means a redelivery after its profile write (the intent publish failed): welcome again,
    the send-once key keeps it to one message."""
    return any(
        key.endswith(".marketing") and stamped.value.get("subscribed") and stamped.msg != message_id
        for key, stamped in state.subscriptions.items()
    )


def _is_purchase(event: IntakeEvent) -> bool:
    return event.type is EventType.TRACK and event.event == ORDER_PLACED


def _product_ids(event: IntakeEvent) -> list[str]:
    return list(dict.fromkeys(line.product_id for line in order_lines(event.properties)))
