"""Campaigns: the 5-minute sweep that plans campaigns (pages of a segment's membership into
exposures, holdout and release moment each) and releases their members as intents delayed to each
one's local moment. The routes are admin_api's (Admin); the outcomes are the dispatcher's
(Delivery)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from asusual.store.tables import GSI1
from infra.foundation import Foundation
from infra.foundation.schedules import every


class Campaigns(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation) -> None:
        super().__init__(scope, construct_id)
        intents = base.queues["intents"]
        # gsi1: the campaigns (CAMPAIGNS) and the release hours (CSEND#...); the table: a segment's
        # membership partition (Query), the definition and size shards (Get/BatchGet), exposures
        # (BatchWriteItem puts), the campaign's plan and status and the index removal (UpdateItem)
        self.campaign_sweep: lambda_.Function = base.function(
            self,
            "campaign_sweep",
            description="Every 5 minutes: plans campaigns in pages, releases members at their local moment",
            timeout=Duration.minutes(5),
            memory_mb=512,
            environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url},
        )
        base.storage.grant_index_query(self.campaign_sweep, GSI1)
        base.storage.grant_items(
            self.campaign_sweep,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
            "dynamodb:UpdateItem",
        )
        intents.queue.grant_send_messages(self.campaign_sweep)
        every(self, "CampaignSweep", Duration.minutes(5), self.campaign_sweep)
