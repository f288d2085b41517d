"""event_processor: the events queue → exactly one profile per person, each messageId once, with
her segment memberships in the same write; then the event triggers (order status intents,
replenishment reminders, abandonment timers, interest, baskets) and, for a completed order, its
conversions for the holdout groups the customer was in.

A whole SQS batch (up to 100 messages, infra/) is processed together (asusual.profiles.batch):
one read of the batch's markers and claims, one of its profiles, one conditional write per
profile, the independent profiles written in parallel. Partial batch failures: only the messages
of a profile that failed return to the queue (a message that cannot be decoded, alone); a poison
message reaches the DLQ after the queue's max receives."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import record_failed
from asusual.identity.models import IdentityPolicy
from asusual.intake.models import IntakeEvent
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
from asusual.triggers.service import BatchItem, Processed, TriggerServices, process_batch

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


@cache
def threads() -> ThreadPoolExecutor:
    """The batch's independent profiles are folded, written and triggered on these threads
    (ASUSUAL_PROCESSOR_THREADS; the DynamoDB client keeps 32 connections)."""
    return ThreadPoolExecutor(max_workers=get_settings().processor_threads, thread_name_prefix="group")


os.register_at_fork(after_in_child=threads.cache_clear)  # a forked child has none of its threads


def run_groups(tasks: list[Any]) -> None:
    """The batch's groups on the thread pool; each task keeps its own errors (asusual.profiles.batch)."""
    for future in [threads().submit(task) for task in tasks]:
        future.result()


def process_records(records: list[SQSRecord]) -> list[str]:
    """The batch's records processed together; the SQS message ids that failed."""
    repo, policy, services, segments = dependencies()
    settings = get_settings()
    decoded: list[tuple[SQSRecord, IntakeEvent]] = []
    failed: list[str] = []
    for record in records:
        try:
            decoded.append((record, decode_event(record.body)))
        except ValueError as exc:  # not an event (pydantic's errors are ValueErrors): alone to the DLQ
            record_failed(record, exc, event_ids)
            failed.append(record.message_id)
    try:
        items = process_batch(
            [event for _, event in decoded],
            repo,
            policy,
            services,
            now=clock.now(),
            dedupe_window=timedelta(days=settings.dedupe_days),
            default_country=settings.default_country,
            segments=segments,
            run=run_groups,
        )
    except Exception as exc:  # the batch's reads failed: every message returns to the queue
        items = [BatchItem(event=event, error=exc) for _, event in decoded]
    for (record, _), item in zip(decoded, items, strict=True):
        if item.error is not None or item.processed is None:
            record_failed(record, item.error, event_ids)
            failed.append(record.message_id)
        else:
            report(item.processed)
    return failed


def report(processed: Processed) -> None:
    """What one event did, as metrics and (ids only) log lines."""
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
    failed = process_records([SQSRecord(r) for r in event["Records"]])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
