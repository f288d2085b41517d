"""dispatcher: the intents queue → at most one message per send-once key, on the right channel,
at the right local moment (or deferred, or skipped with its reason logged).

Partial batch failures: an intent whose send failed in a retryable way returns to the queue; a
poison intent reaches the DLQ after the queue's max receives."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.channels.wiring import senders
from asusual.consumers import LoggedBatchProcessor
from asusual.content.render import default_pack
from asusual.delivery.dispatch import DispatchDeps, DispatchStatus, dispatch
from asusual.delivery.holdouts import HoldoutPolicy, holdout_policy
from asusual.delivery.links import LinkSigner
from asusual.delivery.policy import DeliveryPolicy
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.profiles.view import TenurePolicy
from asusual.recommendations.serve import Recommender
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.campaigns import CachedProgramStatus, DynamoCampaignRepository
from asusual.store.catalog import CachedOfferPool, DynamoCatalogRepository
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import decode_intent, intent_ids
from asusual.store.recommendations import DynamoRecommendationRepository
from asusual.store.secrets import link_secrets
from asusual.store.segments import member_words
from asusual.store.weather import weather_source

processor = LoggedBatchProcessor(describe=intent_ids)


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("delivery_mode", "public_base_url", "link_secrets_arn|link_secrets")
get_settings().require(*REQUIRED_SETTINGS)


def holdouts() -> HoldoutPolicy:
    """The trigger kinds' holdouts; an unknown kind, one never held out or a bad percent in
    ASUSUAL_TRIGGER_HOLDOUTS refuses to start, naming it."""
    settings = get_settings()
    return holdout_policy(settings.trigger_holdouts, settings.trigger_conversion_days)


holdouts()


@cache
def dependencies() -> DispatchDeps:
    settings = get_settings()
    db = clients.dynamodb()
    messages = DynamoMessageRepository(db, settings.table_name)
    catalog = DynamoCatalogRepository(db, settings.table_name)
    return DispatchDeps(
        profiles=DynamoProfileRepository(db, settings.table_name),
        messages=messages,
        decisions=messages,
        catalog=catalog,
        offers=CachedOfferPool(catalog, settings.offer_pool_cache_seconds),
        senders=senders(settings),
        pack=default_pack(),
        links=LinkSigner(
            base_url=settings.public_base_url,
            secrets=link_secrets(),
            ttl=timedelta(days=settings.link_ttl_days),
        ),
        policy=DeliveryPolicy(
            daily_cap=settings.marketing_daily_cap,
            weekly_cap=settings.marketing_weekly_cap,
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
        ),
        tenure=TenurePolicy(
            returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
        ),
        default_country=settings.default_country,
        webhooks=tuple(settings.webhooks),
        reader=messages,
        programs=CachedProgramStatus(
            DynamoCampaignRepository(db, settings.table_name), settings.campaign_status_cache_seconds
        ),
        holdouts=holdouts(),
        exposures=DynamoConversionRepository(db, settings.table_name),
        segment_words=member_words(),
        weather=weather_source(settings),
        recommender=Recommender(
            model=DynamoRecommendationRepository(db, settings.table_name), catalog=catalog
        ),
    )


def record_handler(record: SQSRecord) -> None:
    intent = decode_intent(record.body)
    result = dispatch(intent, dependencies(), clock.now())
    name = {
        DispatchStatus.SENT: "MessagesSent",
        DispatchStatus.DEFERRED: "MessagesDeferred",
        DispatchStatus.DUPLICATE: "MessagesDuplicate",
        DispatchStatus.FAILED: "MessagesFailed",
        DispatchStatus.SKIPPED: f"MessagesSkipped_{result.reason}",
    }[result.status]
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info(
        "intent dispatched",
        intent_id=intent.intent_id,
        trigger=intent.trigger,
        topic=intent.topic.value,
        profile_id=intent.profile_id,
        **result.model_dump(mode="json", exclude_none=True),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
