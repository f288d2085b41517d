"""recommendations_job: hourly (EventBridge). Folds the baskets the event processor logged since its
watermark into the recommendation model, reading only those hours' log partitions (never a scan)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import logged_failures
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.recommendations.job import run_job
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.recommendations import DynamoRecommendationRepository

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ()
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoRecommendationRepository, timedelta]:
    settings = get_settings()
    return (
        DynamoRecommendationRepository(clients.dynamodb(), settings.table_name),
        timedelta(hours=settings.recommendations_first_lookback_hours),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    store, first_lookback = dependencies()
    report = run_job(store, clock.now(), first_lookback)
    metrics.add_metric(name="BasketsFolded", unit=MetricUnit.Count, value=report.baskets)
    metrics.add_metric(name="RecommendationRowsWritten", unit=MetricUnit.Count, value=report.rows_written)
    logger.info("recommendations job", scheduled_at=event.time, **report.model_dump(mode="json"))
    return report.model_dump(mode="json")
