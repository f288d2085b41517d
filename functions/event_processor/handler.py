"""event_processor: the events queue → exactly one profile per person, each messageId once.

Partial batch failures: only the messages that failed return to the queue; a poison message
reaches the DLQ after the queue's max receives."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.identity.models import IdentityPolicy
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.profiles.processor import process_event
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import decode_event

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def dependencies() -> tuple[DynamoProfileRepository, IdentityPolicy, timedelta]:
    settings = get_settings()
    repo = DynamoProfileRepository(clients.dynamodb(), settings.table_name)
    return repo, IdentityPolicy(), timedelta(days=settings.dedupe_days)


def record_handler(record: SQSRecord) -> None:
    repo, policy, window = dependencies()
    outcome = process_event(decode_event(record.body), repo, policy, now=clock.now(), dedupe_window=window)
    kind = "Duplicate" if outcome.duplicate else "Unattributed" if outcome.unattributed else "Applied"
    metrics.add_metric(name=f"Events{kind}", unit=MetricUnit.Count, value=1)
    if outcome.merged:
        metrics.add_metric(name="ProfilesMerged", unit=MetricUnit.Count, value=len(outcome.merged))
    if outcome.dropped:
        metrics.add_metric(name="IdentifiersDropped", unit=MetricUnit.Count, value=len(outcome.dropped))
        logger.info(
            "identifiers not linked",
            profile_id=outcome.profile_id,
            dropped=[{"type": d.identifier.kind, "reason": d.reason} for d in outcome.dropped],
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
