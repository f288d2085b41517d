"""Queue publishers (events, intents): SendMessageBatch within SQS limits, retrying failed entries.

Each event (or intent) is one SQS message, so its consumer retries and dead-letters them one by one.
Entries go in batches of at most 10 messages and 256 KB, sent in parallel; entries SQS fails are
retried; whatever still fails raises a retryable error so the client sends the request again
(the processor deduplicates by messageId, so a retried batch never counts twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from asusual.catalog.changes import ProductChange
from asusual.errors import TransientError
from asusual.intake.models import IntakeEvent
from asusual.segments.models import SegmentJob
from asusual.store.dynamo import classify_aws_error
from asusual.triggers.models import Intent
from asusual.triggers.stock import StockJob

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
ATTRIBUTE_OVERHEAD = 200  # bytes reserved per entry for message attributes
ATTEMPTS = 3
MAX_DELAY_SECONDS = 900  # SQS's longest message delay


def encode_event(event: IntakeEvent) -> dict[str, Any]:
    return {
        "MessageBody": event.model_dump_json(),
        "MessageAttributes": {
            "type": {"DataType": "String", "StringValue": event.type.value},
            "source_id": {"DataType": "String", "StringValue": event.source.source_id},
            "channel": {"DataType": "String", "StringValue": event.source.channel.value},
        },
    }


def decode_event(body: str) -> IntakeEvent:
    return IntakeEvent.model_validate_json(body)


def event_ids(body: dict[str, Any]) -> dict[str, object]:
    """What a log may say of an event message it could not process: ids, never content."""
    source = body.get("source")
    return {
        "message_id": body.get("message_id"),
        "type": body.get("type"),
        "source_id": source.get("source_id") if isinstance(source, dict) else None,
    }


def intent_ids(body: dict[str, Any]) -> dict[str, object]:
    """What a log may say of an intent message it could not process: ids, never the facts."""
    facts = body.get("facts")
    return {
        "intent_id": body.get("intent_id"),
        "profile_id": body.get("profile_id"),
        "trigger": facts.get("trigger") if isinstance(facts, dict) else None,
    }


def encode_intent(intent: Intent) -> dict[str, Any]:
    return {
        "MessageBody": intent.model_dump_json(),
        "MessageAttributes": {
            "trigger": {"DataType": "String", "StringValue": intent.trigger},
            "topic": {"DataType": "String", "StringValue": intent.topic.value},
        },
    }


def encode_delayed_intent(delayed: tuple[Intent, int]) -> dict[str, Any]:
    """An intent that becomes visible after a delay in seconds (SQS allows 0-900)."""
    intent, delay = delayed
    return {**encode_intent(intent), "DelaySeconds": max(0, min(900, delay))}


def decode_intent(body: str) -> Intent:
    return Intent.model_validate_json(body)


def chunk_entries(entries: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode()) + ATTRIBUTE_OVERHEAD
        if batch and (len(batch) == MAX_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


T = TypeVar("T")


class SqsPublisher(Generic[T]):
    """Publishes models to one queue; ``encode`` turns a model into an SQS entry."""

    def __init__(
        self,
        client: Any,
        queue_url: str,
        encode: Callable[[T], dict[str, Any]],
        *,
        what: str,
        workers: int = 8,
    ) -> None:
        self._sqs = client
        self._what = what
        self._url = queue_url
        self._encode = encode
        self._workers = workers

    def publish(self, items: Sequence[T]) -> None:
        entries = [{"Id": str(i), **self._encode(e)} for i, e in enumerate(items)]
        batches = list(chunk_entries(entries))
        if len(batches) == 1:
            self._send(batches[0])
            return
        with ThreadPoolExecutor(max_workers=min(self._workers, len(batches))) as pool:
            for future in [pool.submit(self._send, b) for b in batches]:
                future.result()

    def _send(self, batch: list[dict[str, Any]]) -> None:
        pending = batch
        for _attempt in range(ATTEMPTS):
            try:
                response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=pending)
            except Exception as exc:
                typed = classify_aws_error(exc, self._what)
                if typed is None:
                    raise
                raise typed from exc
            failed_ids = {f["Id"] for f in response.get("Failed", [])}
            pending = [e for e in pending if e["Id"] in failed_ids]
            if not pending:
                return
        raise TransientError(f"{self._what} refused {len(pending)} message(s); retry")


class SqsEventPublisher(SqsPublisher[IntakeEvent]):
    def __init__(self, client: Any, queue_url: str, *, workers: int = 8) -> None:
        super().__init__(client, queue_url, encode_event, what="the events queue", workers=workers)


class SqsIntentPublisher(SqsPublisher[Intent]):
    def __init__(self, client: Any, queue_url: str, *, workers: int = 4) -> None:
        super().__init__(client, queue_url, encode_intent, what="the intents queue", workers=workers)


class SqsDelayedIntentPublisher(SqsPublisher[tuple[Intent, int]]):
    """Intents each released at its moment (a campaign member's local send time)."""

    def __init__(self, client: Any, queue_url: str, *, workers: int = 4) -> None:
        super().__init__(client, queue_url, encode_delayed_intent, what="the intents queue", workers=workers)

    def publish_delayed(self, intents: Sequence[tuple[Intent, int]]) -> None:
        self.publish(intents)


class QueueSpec:
    """A queue with its dead-letter queue, as the CDK stack and local mode create it."""

    def __init__(self, name: str, *, max_receive_count: int, settings_field: str) -> None:
        self.name = name
        self.dlq_name = f"{name}-dlq"
        self.max_receive_count = max_receive_count
        self.settings_field = settings_field


EVENTS_QUEUE = QueueSpec("events", max_receive_count=5, settings_field="events_queue_url")
INTENTS_QUEUE = QueueSpec("intents", max_receive_count=5, settings_field="intents_queue_url")
SEGMENTS_QUEUE = QueueSpec("segments", max_receive_count=5, settings_field="segments_queue_url")
STOCK_QUEUE = QueueSpec("stock", max_receive_count=5, settings_field="stock_queue_url")
QUEUES = (EVENTS_QUEUE, INTENTS_QUEUE, SEGMENTS_QUEUE, STOCK_QUEUE)


def decode_segment_job(body: str) -> SegmentJob:
    return SegmentJob.model_validate_json(body)


def segment_job_ids(body: dict[str, Any]) -> dict[str, object]:
    """What a log may say of a segments message it could not process (ids only)."""
    return {k: body.get(k) for k in ("job", "segment_id", "incarnation", "version", "shard")}


class SqsSegmentJobs:
    """The segments queue (asusual.segments.service.SegmentJobs): one message per page, the first
    of a back-fill or deletion delayed past the processors' definition cache."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, job: SegmentJob, delay_seconds: int = 0) -> None:
        try:
            self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=job.model_dump_json(),
                DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
                MessageAttributes={"job": {"DataType": "String", "StringValue": job.job}},
            )
        except Exception as exc:
            typed = classify_aws_error(exc, "the segments queue")
            if typed is None:
                raise
            raise typed from exc


# -- the stock queue: back-in-stock and price-drop fan-out pages (asusual.triggers.stock) ----------
def encode_stock_job(job: StockJob) -> dict[str, Any]:
    return {
        "MessageBody": job.model_dump_json(),
        "MessageAttributes": {"change": {"DataType": "String", "StringValue": job.change.change.value}},
    }


def decode_stock_job(body: str) -> StockJob:
    return StockJob.model_validate_json(body)


def stock_job_ids(body: dict[str, Any]) -> dict[str, object]:
    """What a log may say of a stock message it could not process."""
    change = body.get("change")
    change = change if isinstance(change, dict) else {}
    return {
        "change": change.get("change"),
        "product_id": change.get("product_id"),
        "cursor": body.get("cursor"),
    }


class SqsStockJobs(SqsPublisher[StockJob]):
    """The stock queue: a catalog upload announces its changes (each the first page of its
    fan-out: asusual.catalog.service.ChangeAnnouncer); the worker sends the next page."""

    def __init__(self, client: Any, queue_url: str, *, workers: int = 8) -> None:
        super().__init__(client, queue_url, encode_stock_job, what="the stock queue", workers=workers)

    def send(self, jobs: Sequence[StockJob]) -> None:
        self.publish(jobs)

    def announce(self, changes: Sequence[ProductChange]) -> None:
        self.publish([StockJob(change=c) for c in changes])
