"""deferred_sweep: every 15 minutes (EventBridge). Puts the intents whose quiet hours or caps have
passed back on the intents queue; the dispatcher decides again."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import logged_failures
from asusual.delivery.deferred import sweep
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.messages import DynamoMessageRepository
from asusual.store.queues import SqsIntentPublisher

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("intents_queue_url",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoMessageRepository, SqsIntentPublisher, int]:
    settings = get_settings()
    return (
        DynamoMessageRepository(clients.dynamodb(), settings.table_name),
        SqsIntentPublisher(clients.sqs(), settings.intents_queue_url),
        settings.deferred_lookback_hours,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    messages, publisher, lookback = dependencies()
    report = sweep(messages, publisher, clock.now(), lookback)
    metrics.add_metric(name="DeferredRead", unit=MetricUnit.Count, value=report.read)
    metrics.add_metric(name="IntentsReleased", unit=MetricUnit.Count, value=report.emitted)
    logger.info("deferred sweep", scheduled_at=event.time, **report.model_dump(mode="json"))
    return report.model_dump(mode="json")
