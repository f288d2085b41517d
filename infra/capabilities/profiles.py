"""Profiles: who the customer is. The event processor applies each event once to one profile
(identity resolution, merges, orders, replenishment planning) and emits intents; the profiles API
answers channels (read key) and operators (admin key: unmerge, export, erasure)."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from asusual.store.segments import SEGMENTS_PK
from asusual.store.tables import GSI1
from infra.capabilities.privacy import Privacy
from infra.config import StageConfig
from infra.foundation import Foundation
from infra.foundation.queues import CONSUMER_TIMEOUT


class Profiles(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, base: Foundation, privacy: Privacy, config: StageConfig
    ) -> None:
        super().__init__(scope, construct_id)
        intents = base.queues["intents"]

        # the events queue → profiles, orders, reminders → the intents queue. Reads and writes
        # items (deletes only birthday index entries); Queries a customer's own exposures (pk =
        # PROFILE#id) when an order completes, to count it for the holdout groups; no scans.
        self.event_processor = base.function(
            self,
            "event_processor",
            description="Applies each event once to one profile; order status and replenishment triggers",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url, **privacy.environment()},
        )
        privacy.grant_suppression(self.event_processor)  # events naming an erased person are dropped
        base.storage.grant_items(
            self.event_processor,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        )
        # the segment definitions (cached a minute): her memberships are written with her profile
        base.storage.grant_partition_query(self.event_processor, SEGMENTS_PK)
        intents.queue.grant_send_messages(self.event_processor)
        # whole batches: the processor reads, folds and writes a batch's profiles together
        base.queues.consume(
            "events",
            self.event_processor,
            batch_size=config.events_batch_size,
            batching_window_seconds=config.events_batching_window_seconds,
        )

        # channels read profiles (read key); operators unmerge and answer privacy requests (admin
        # key): an export or an erasure queries the person's partitions, gsi1 (message log, orders,
        # deferred release partitions) and deletes in batches; up to the HTTP API's 30 s
        # integration limit (a longer erasure is finished by asking again)
        self.profiles_api = base.function(
            self,
            "profiles_api",
            description="Profile read for greeting and prefill; unmerge; export and erasure",
            timeout=Duration.seconds(29),
            memory_mb=512,
            environment=privacy.environment(),
        )
        privacy.grant_suppression(self.profiles_api)  # an erasure suppresses, a lift forgets
        base.storage.grant_items(
            self.profiles_api,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:Query",
        )
        base.storage.grant_index_query(self.profiles_api, GSI1)
        base.api.serve(self.profiles_api)
