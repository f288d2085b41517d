"""stock_worker: the stock queue → one page of a back-in-stock or price-drop fan-out: the
product's interest index (gsi1, up to ``ASUSUAL_STOCK_PAGE_SIZE`` customers of the last
``ASUSUAL_INTEREST_DAYS``), one intent per interested live profile, then the next page's message
(asusual.triggers.stock).

Partial batch failures: a page that failed returns to the queue (pages are idempotent, intents are
sent once by their send-once keys); a poison message reaches the DLQ after the queue's max receives."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import LoggedBatchProcessor
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.interests import DynamoInterestRepository, EventualProfiles
from asusual.store.queues import SqsIntentPublisher, SqsStockJobs, decode_stock_job, stock_job_ids
from asusual.triggers.stock import FanoutDeps, fanout_page

processor = LoggedBatchProcessor(describe=stock_job_ids)

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("stock_queue_url", "intents_queue_url")
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> FanoutDeps:
    settings = get_settings()
    db = clients.dynamodb()
    sqs = clients.sqs()
    interests = DynamoInterestRepository(db, settings.table_name)
    return FanoutDeps(
        catalog=DynamoCatalogRepository(db, settings.table_name),
        interests=interests,
        progress=interests,
        jobs=SqsStockJobs(sqs, settings.stock_queue_url, workers=settings.sqs_send_workers),
        profiles=EventualProfiles(db, settings.table_name),
        publisher=SqsIntentPublisher(sqs, settings.intents_queue_url, workers=settings.sqs_send_workers),
        window=timedelta(days=settings.interest_days),
        page_size=settings.stock_page_size,
        default_country=settings.default_country,
    )


def record_handler(record: SQSRecord) -> None:
    job = decode_stock_job(record.body)
    retried = int(record.attributes.approximate_receive_count or 1) > 1
    report = fanout_page(job, dependencies(), clock.now(), retried=retried)
    metrics.add_metric(name="StockFanoutRead", unit=MetricUnit.Count, value=report.read)
    metrics.add_metric(name="StockIntentsEmitted", unit=MetricUnit.Count, value=report.emitted)
    logger.info(
        "stock fan-out page",
        change=job.change.change.value,
        product_id=job.change.product_id,
        **asdict(report),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
