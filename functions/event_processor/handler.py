"""event_processor: the events queue → exactly one profile per person, each messageId once, with
her segment memberships in the same write; then the event triggers (order status intents,
replenishment reminders) and, for a completed order, its conversions for the holdout groups the
customer was in.

Partial batch failures: only the messages that failed return to the queue; a poison message
reaches the DLQ after the queue's max receives."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import LoggedBatchProcessor
from asusual.identity.models import IdentityPolicy
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.segments.live import LiveMembership
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.abandonment import DynamoTimerRepository
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.interests import DynamoInterestRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsIntentPublisher, decode_event, event_ids
from asusual.store.recommendations import DynamoRecommendationRepository
from asusual.store.segments import DynamoSegmentRepository, cached_definitions, live_membership
from asusual.store.triggers import DynamoTriggerRepository
from asusual.triggers.abandonment import AbandonmentPolicy
from asusual.triggers.service import TriggerServices, process

processor = LoggedBatchProcessor(describe=event_ids)


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("intents_queue_url", "suppression_secrets_arn|suppression_secrets")
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoProfileRepository, IdentityPolicy, TriggerServices, LiveMembership]:
    settings = get_settings()
    db = clients.dynamodb()
    repo = DynamoProfileRepository(db, settings.table_name)
    triggers = DynamoTriggerRepository(db, settings.table_name)
    services = TriggerServices(
        orders=triggers,
        reminders=triggers,
        catalog=DynamoCatalogRepository(db, settings.table_name),
        publisher=SqsIntentPublisher(clients.sqs(), settings.intents_queue_url),
        news_max_age=timedelta(hours=settings.news_max_age_hours),
        conversions=DynamoConversionRepository(db, settings.table_name),
        interests=DynamoInterestRepository(db, settings.table_name),
        interest_window=timedelta(days=settings.interest_days),
        timers=DynamoTimerRepository(db, settings.table_name),
        abandonment=AbandonmentPolicy.from_settings(settings),
        baskets=DynamoRecommendationRepository(db, settings.table_name),
        basket_view_window=timedelta(days=settings.recommendations_view_days),
    )
    # the definitions are read once a minute per container, not per event
    segments = live_membership(cached_definitions(DynamoSegmentRepository(db, settings.table_name)))
    return repo, IdentityPolicy(), services, segments


def record_handler(record: SQSRecord) -> None:
    repo, policy, services, segments = dependencies()
    settings = get_settings()
    processed = process(
        decode_event(record.body),
        repo,
        policy,
        services,
        now=clock.now(),
        dedupe_window=timedelta(days=settings.dedupe_days),
        default_country=settings.default_country,
        segments=segments,
    )
    outcome = processed.outcome
    kind = (
        "Duplicate"
        if outcome.duplicate
        else "Suppressed"
        if outcome.suppressed
        else "Unattributed"
        if outcome.unattributed
        else "Applied"
    )
    metrics.add_metric(name=f"Events{kind}", unit=MetricUnit.Count, value=1)
    if outcome.merged:
        metrics.add_metric(name="ProfilesMerged", unit=MetricUnit.Count, value=len(outcome.merged))
    if trimmed := outcome.trimmed:
        for name, count in (
            ("TraitsDropped", trimmed.traits),
            ("OrderLinesDropped", trimmed.order_lines),
            ("OrdersDropped", trimmed.orders),
        ):
            if count:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        logger.info(
            "profile kept within its limits",
            profile_id=outcome.profile_id,
            traits=trimmed.traits,
            order_lines=trimmed.order_lines,
            orders=trimmed.orders,
        )
    if outcome.dropped:
        metrics.add_metric(name="IdentifiersDropped", unit=MetricUnit.Count, value=len(outcome.dropped))
        logger.info(
            "identifiers not linked",
            profile_id=outcome.profile_id,
            dropped=[{"type": d.identifier.kind, "reason": d.reason} for d in outcome.dropped],
        )
    for intent in processed.intents:
        metrics.add_metric(name="IntentsEmitted", unit=MetricUnit.Count, value=1)
        logger.info("intent emitted", trigger=intent.trigger, intent_id=intent.intent_id)
    for reason in processed.ignored:
        metrics.add_metric(name=f"OrderStatusIgnored_{reason}", unit=MetricUnit.Count, value=1)
    if processed.conversions:
        metrics.add_metric(name="ConversionsCounted", unit=MetricUnit.Count, value=processed.conversions)
    if processed.interest:
        metrics.add_metric(name="InterestsRecorded", unit=MetricUnit.Count, value=1)
    if processed.reminders:
        metrics.add_metric(name="RemindersPlanned", unit=MetricUnit.Count, value=len(processed.reminders))
    if processed.basket_logged:
        metrics.add_metric(name="BasketsLogged", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
