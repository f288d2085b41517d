"""Decisions: what a real-time channel (site, app, POS, call center) says and offers to this
customer now (read key), and what a shop's page shows its own visitor (a public key, CORS); the day's
offer and prices are stored so every channel shows the same."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from asusual.store.access import SOURCES_PK
from asusual.store.segments import SEGMENTS_PK
from asusual.store.tables import GSI1
from infra.foundation import Foundation


class Decisions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation) -> None:
        super().__init__(scope, construct_id)
        self.decide_api = base.function(
            self,
            "decide_api",
            description="Real-time decisions for site, app, POS and call center: greeting, offer, price",
            timeout=Duration.seconds(10),
            memory_mb=1024,
            environment={**base.weather_environment},  # the day's weather (docs/weather.md)
        )
        base.storage.grant_items(
            self.decide_api, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"
        )
        base.storage.grant_index_query(self.decide_api, GSI1)
        base.storage.grant_partition_query(self.decide_api, SOURCES_PK)  # the page's origins (CORS)
        base.storage.grant_partition_query(self.decide_api, SEGMENTS_PK)  # the segments an answer shows
        base.api.serve(self.decide_api)
