"""abandonment_sweep: every 15 minutes (EventBridge). Reads the abandonment timers that are due
and reminds each customer who left a cart, or browsed a product again and again, once."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import logged_failures
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.abandonment import DynamoTimerRepository
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsIntentPublisher
from asusual.triggers.abandonment import AbandonmentPolicy, sweep

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("intents_queue_url",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[
    DynamoTimerRepository,
    DynamoProfileRepository,
    DynamoCatalogRepository,
    SqsIntentPublisher,
    AbandonmentPolicy,
    timedelta,
]:
    settings = get_settings()
    db = clients.dynamodb()
    return (
        DynamoTimerRepository(db, settings.table_name),
        DynamoProfileRepository(db, settings.table_name),
        DynamoCatalogRepository(db, settings.table_name),
        SqsIntentPublisher(clients.sqs(), settings.intents_queue_url),
        AbandonmentPolicy.from_settings(settings),
        timedelta(days=settings.abandonment_lookback_days),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    timers, profiles, catalog, publisher, policy, lookback = dependencies()
    report = sweep(timers, profiles, catalog, publisher, clock.now(), policy, lookback)
    metrics.add_metric(name="DueIndexRead", unit=MetricUnit.Count, value=report.read)
    metrics.add_metric(name="IntentsEmitted", unit=MetricUnit.Count, value=report.emitted)
    logger.info("abandonment sweep", scheduled_at=event.time, **report.model_dump(mode="json"))
    return report.model_dump(mode="json")
