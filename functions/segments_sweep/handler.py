"""segments_sweep: hourly (EventBridge). Re-evaluates the profiles whose segment verdict may have
changed by time alone ("bought within 90 days" ends, a birthday comes near): the due entries of
the last hours (gsi1 ``SEGDUE#<hour>``, never a scan), with the definitions read fresh."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.consumers import logged_failures
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.segments.jobs import sweep
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.segments import DynamoSegmentRepository, live_membership

# what this function needs beyond the table (asusual.settings): nothing
REQUIRED_SETTINGS: tuple[str, ...] = ()
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[DynamoSegmentRepository, DynamoProfileRepository, int]:
    settings = get_settings()
    db = clients.dynamodb()
    segments = DynamoSegmentRepository(db, settings.table_name)
    return segments, DynamoProfileRepository(db, settings.table_name), settings.segment_sweep_lookback_hours


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@logged_failures
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    index, profiles, lookback = dependencies()
    definitions = index.segments()  # fresh at every run (one Query an hour), read once for all
    hook = live_membership(lambda: definitions)
    report = sweep(index, profiles, hook, clock.now(), lookback)
    metrics.add_metric(name="SegmentDueRead", unit=MetricUnit.Count, value=report.due)
    metrics.add_metric(name="SegmentProfilesChanged", unit=MetricUnit.Count, value=report.written)
    answer = {**asdict(report), "now": report.now.isoformat()}
    logger.info("segments sweep", scheduled_at=event.time, **answer)
    return answer
