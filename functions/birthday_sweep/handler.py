"""birthday_sweep: hourly (EventBridge). Reads the birthday index partitions of the dates it is
somewhere now and emits one intent per customer whose local birthday window is open."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import logged_failures
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.queues import SqsIntentPublisher
from asusual.store.triggers import DynamoTriggerRepository
from asusual.triggers.birthday import BirthdayWindow, sweep

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("intents_queue_url",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoTriggerRepository, SqsIntentPublisher, BirthdayWindow]:
    settings = get_settings()
    window = BirthdayWindow(start=settings.birthday_window_start, end=settings.birthday_window_end)
    return (
        DynamoTriggerRepository(clients.dynamodb(), settings.table_name),
        SqsIntentPublisher(clients.sqs(), settings.intents_queue_url),
        window,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    index, publisher, window = dependencies()
    report = sweep(index, publisher, clock.now(), window)
    metrics.add_metric(name="BirthdayIndexRead", unit=MetricUnit.Count, value=report.read)
    metrics.add_metric(name="IntentsEmitted", unit=MetricUnit.Count, value=report.emitted)
    logger.info("birthday sweep", scheduled_at=event.time, **report.model_dump(mode="json"))
    return report.model_dump(mode="json")
