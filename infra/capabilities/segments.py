"""Segments: the marketer's segments kept live. The event processor keeps each customer's
memberships in her own write (Profiles); this capability owns what runs apart from events: the
hourly sweep of the due index (time-relative conditions) and the worker that back-fills a new or
changed segment and deletes a deleted one's memberships, page by page, through the segments queue.
The routes are admin_api's (Admin)."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from asusual.store.segments import SEGMENTS_PK
from asusual.store.tables import GSI1
from infra.foundation import Foundation
from infra.foundation.queues import CONSUMER_TIMEOUT
from infra.foundation.schedules import every

# a profile's transaction: Put the profile and its memberships, Delete memberships and due
# entries, Update the counter shard (TransactWriteItems has no IAM action of its own)
PROFILE_WRITE = ("dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


class Segments(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation) -> None:
        super().__init__(scope, construct_id)
        queue = base.queues["segments"]

        # hourly: the due entries of the last hours (gsi1), their profiles re-evaluated and
        # committed conditionally; the definitions read once a run (their partition only)
        self.sweep = base.function(
            self,
            "segments_sweep",
            description="Hourly: re-evaluates the profiles whose segment membership may change by time alone",
            timeout=Duration.minutes(5),
            memory_mb=1024,
            environment={},
        )
        base.storage.grant_index_query(self.sweep, GSI1)
        base.storage.grant_partition_query(self.sweep, SEGMENTS_PK)
        base.storage.grant_items(self.sweep, *PROFILE_WRITE)
        every(self, "SegmentsSweep", Duration.hours(1), self.sweep)

        # one page a message: the directory (gsi1) and the profiles for a back-fill; a deleted
        # segment's membership partition (Query on the table) and BatchWriteItem for a deletion
        self.worker = base.function(
            self,
            "segments_worker",
            description="Back-fills a new or changed segment and deletes a deleted one, a page a message",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={"ASUSUAL_SEGMENTS_QUEUE_URL": queue.queue.queue_url},
        )
        base.storage.grant_index_query(self.worker, GSI1)
        base.storage.grant_items(
            self.worker, "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchWriteItem", *PROFILE_WRITE
        )
        queue.queue.grant_send_messages(self.worker)  # the next page
        base.queues.consume("segments", self.worker, batch_size=1)
