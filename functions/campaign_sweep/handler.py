"""campaign_sweep: every 5 minutes (EventBridge). Plans the campaigns whose first moment is within
the hour (pages of their segment's members: holdout, release moment, throttle) and releases the
members whose local moment comes within 15 minutes, as intents delayed to that moment."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.campaigns.service import sweep
from asusual.consumers import logged_failures
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.campaigns import DynamoCampaignRepository, DynamoSegmentMembers
from asusual.store.queues import SqsDelayedIntentPublisher

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("intents_queue_url",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoCampaignRepository, DynamoSegmentMembers, SqsDelayedIntentPublisher]:
    settings = get_settings()
    db = clients.dynamodb()
    return (
        DynamoCampaignRepository(db, settings.table_name),
        DynamoSegmentMembers(db, settings.table_name),
        SqsDelayedIntentPublisher(
            clients.sqs(), settings.intents_queue_url, workers=settings.sqs_send_workers
        ),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    campaigns, members, publisher = dependencies()
    settings = get_settings()
    report = sweep(
        campaigns,
        members,
        publisher,
        clock.now(),
        page_size=settings.campaign_page_size,
        budget_seconds=settings.campaign_sweep_budget_seconds,
        lookback_hours=settings.deferred_lookback_hours,
    )
    metrics.add_metric(name="CampaignMembersPlanned", unit=MetricUnit.Count, value=report.planned_members)
    metrics.add_metric(name="CampaignIntentsReleased", unit=MetricUnit.Count, value=report.released)
    logger.info("campaign sweep", scheduled_at=event.time, **report.model_dump(mode="json"))
    return report.model_dump(mode="json")
