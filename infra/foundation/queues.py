"""SQS queues, each with its DLQ: encrypted, TLS-only, consumed with partial batch failures."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from asusual.store.queues import QUEUES, QueueSpec

# Every consumer of a queue runs at most this long; AWS asks for a visibility timeout of at least
# 6x the function timeout so a message is not redelivered while a retried batch still runs.
CONSUMER_TIMEOUT = Duration.seconds(30)
VISIBILITY_FACTOR = 6


class Queue:
    def __init__(self, spec: QueueSpec, queue: sqs.Queue, dlq: sqs.Queue) -> None:
        self.spec = spec
        self.queue = queue
        self.dlq = dlq


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, Queue] = {}
        for spec in QUEUES:
            dlq = sqs.Queue(
                self,
                f"{spec.name.title()}Dlq",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            queue = sqs.Queue(
                self,
                f"{spec.name.title()}Queue",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(4),
                visibility_timeout=Duration.seconds(CONSUMER_TIMEOUT.to_seconds() * VISIBILITY_FACTOR),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            )
            self.by_name[spec.name] = Queue(spec, queue, dlq)

    def __getitem__(self, name: str) -> Queue:
        return self.by_name[name]

    def consume(
        self, name: str, function: lambda_.Function, *, batch_size: int = 10, batching_window_seconds: int = 1
    ) -> None:
        """Connect ``function`` to the queue with partial batch failures reported: up to
        ``batch_size`` messages an invocation, waiting at most ``batching_window_seconds`` to fill it."""
        queue = self.by_name[name].queue
        if function.timeout is None or function.timeout.to_seconds() > CONSUMER_TIMEOUT.to_seconds():
            raise ValueError(
                f"timeout: consumers of {name} must time out within {CONSUMER_TIMEOUT.to_seconds()} s"
            )
        function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=batch_size,
                max_batching_window=Duration.seconds(batching_window_seconds),
                report_batch_item_failures=True,
            )
        )
