"""Recommendations: the job that keeps the co-occurrence model current. The event processor logs
each completed order's basket (Profiles); this capability's job folds the hours logged since its
watermark into per-product rows (docs/recommendations.md), every ``recommendations_every_hours``.
decide_api and the dispatcher read the rows (Decisions, Delivery)."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from asusual.store.tables import GSI1
from infra.config import StageConfig
from infra.foundation import Foundation
from infra.foundation.schedules import every


class Recommendations(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # reads the log's hour partitions (gsi1, never a scan) and the rows of the products they
        # name (BatchGetItem), writes rows, the popularity pool and the watermark conditionally
        self.job = base.function(
            self,
            "recommendations_job",
            description="Folds the baskets logged since the last run into the recommendation model",
            timeout=Duration.minutes(10),
            memory_mb=1024,
            environment={},
        )
        base.storage.grant_index_query(self.job, GSI1)
        base.storage.grant_items(self.job, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem")
        every(self, "RecommendationsJob", Duration.hours(config.recommendations_every_hours), self.job)
