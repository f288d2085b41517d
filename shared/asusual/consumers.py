"""The SQS consumers' batch processing: partial batch failures (only the messages that failed
return to the queue; a poison message reaches the DLQ after the queue's max receives), and every
failure logged and counted, without personal data; the same for the scheduled functions.

powertools' BatchProcessor records a failure and moves on without a log line, so a message could
be retried five times and dead-lettered with nothing said. Here each failure logs the SQS message
id, its receive count, what the consumer says identifies the record (ids only: a messageId, an
intent id, a trigger), the exception's type and code, and where it was raised (file, line,
function) — never the exception's text, which may quote the input (a pydantic error quotes the
values it refused) — and adds 1 to the ``RecordsFailed`` metric.
"""

from __future__ import annotations

import functools
import json
import traceback
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, ExceptionInfo
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from asusual.errors import AsusualError
from asusual.observability import MetricUnit, logger, metrics

Describe = Callable[[dict[str, Any]], dict[str, object]]
FRAMES = 6  # the innermost frames: where it failed, and the few calls that led there


def _body(record: SQSRecord) -> dict[str, Any]:
    try:
        parsed = json.loads(record.body)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def failure_fields(exception: BaseException | None) -> dict[str, object]:
    """What a log may say of an exception: its type, its code, and where it was raised."""
    if exception is None:
        return {"error": "unknown"}
    frames = traceback.extract_tb(exception.__traceback__)[-FRAMES:]
    fields: dict[str, object] = {
        "error": type(exception).__name__,
        "where": [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in frames],
    }
    if isinstance(exception, AsusualError):
        fields["code"] = exception.code
    return fields


class LoggedBatchProcessor(BatchProcessor):
    """A BatchProcessor for SQS whose failures are logged and counted; ``describe`` picks the ids
    of a message's decoded body that the log may carry."""

    def __init__(self, describe: Describe) -> None:
        # a batch whose every record failed is answered like any other, all of them listed as
        # failures, rather than raised: the raise would log every record's exception text again
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._describe = describe

    def failure_handler(self, record: SQSRecord, exception: ExceptionInfo) -> FailureResponse:
        record_failed(record, exception[1], self._describe)
        return super().failure_handler(record, exception)


def record_failed(record: SQSRecord, exception: BaseException | None, describe: Describe) -> None:
    """Log and count a record that returns to the queue (ids only, never the exception's text)."""
    try:
        described = describe(_body(record))
    except Exception:  # the description is best effort; the failure itself is logged below
        described = {}
    fields: dict[str, Any] = {
        "sqs_message_id": record.message_id,
        "receive_count": record.attributes.approximate_receive_count,
        **described,
        **failure_fields(exception),
    }
    logger.error("record failed; it returns to the queue", extra=fields)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)


P = ParamSpec("P")
R = TypeVar("R")


class InvocationFailed(RuntimeError):
    """Raised in place of a scheduled function's failure once it is logged: Lambda's runtime prints
    an unhandled exception's text to the log, and this text names no input."""


def logged_failures(handler: Callable[P, R]) -> Callable[P, R]:
    """A scheduled function's failure, logged like a record's (type, code, where; not the text)
    and counted (``InvocationsFailed``), then raised again so that the schedule retries it."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            logger.error("invocation failed; the schedule retries it", extra=failure_fields(exc))
            metrics.add_metric(name="InvocationsFailed", unit=MetricUnit.Count, value=1)
            raise InvocationFailed(f"{type(exc).__name__}: see the log line 'invocation failed'") from None

    return wrapper
