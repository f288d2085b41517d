"""segments_worker: the segments queue → one page of a back-fill (up to 100 profiles of one
directory shard, evaluated and committed each conditionally) or of a deletion (up to 100
membership items), then the next page's message.

Partial batch failures: a page that failed returns to the queue (pages are idempotent); a poison
message reaches the DLQ after the queue's max receives, and a DELETE or PUT of the segment sends
its job again."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import LoggedBatchProcessor
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.segments.jobs import backfill_page, delete_page
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsSegmentJobs, decode_segment_job, segment_job_ids
from asusual.store.segments import DynamoSegmentRepository, live_membership

processor = LoggedBatchProcessor(describe=segment_job_ids)

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("segments_queue_url",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoSegmentRepository, DynamoProfileRepository, SqsSegmentJobs]:
    settings = get_settings()
    db = clients.dynamodb()
    segments = DynamoSegmentRepository(db, settings.table_name)
    return (
        segments,
        DynamoProfileRepository(db, settings.table_name),
        SqsSegmentJobs(clients.sqs(), settings.segments_queue_url),
    )


def record_handler(record: SQSRecord) -> None:
    segments, profiles, jobs = dependencies()
    job = decode_segment_job(record.body)
    if job.job == "backfill":
        definitions = segments.segments()  # fresh for every page, read once for its profiles
        hook = live_membership(lambda: definitions)
        retried = int(record.attributes.approximate_receive_count or 1) > 1
        report = backfill_page(
            job,
            repo=segments,
            jobs=jobs,
            directory=segments,
            store=profiles,
            hook=hook,
            now=clock.now(),
            retried=retried,
        )
        metrics.add_metric(name="SegmentBackfillProfiles", unit=MetricUnit.Count, value=report.read)
    else:
        report = delete_page(job, repo=segments, jobs=jobs, cleaner=segments)
        metrics.add_metric(name="SegmentMembersDeleted", unit=MetricUnit.Count, value=report.deleted)
    logger.info("segment page", shard=job.shard, **asdict(report))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
