"""Admin: what an operator manages over the API (admin key) — sources and their keys (access), a
public source's identity secret (derived from the link secret), the product catalog (admin key
writes; read and admin keys read), the marketer's segments (definitions, sizes, members) and
the uplift report (campaigns via gsi1 CAMPAIGNS, the trigger kinds' program items)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from asusual.store.tables import GSI1
from infra.capabilities.delivery import holdout_environment
from infra.config import StageConfig
from infra.foundation import Foundation


class Admin(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: Foundation,
        link_secret: secretsmanager.ISecret,
        config: StageConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        # Query pk=SOURCES on the table, gsi1 APIKEYS for keys, transactions of Put/Update
        # (TransactWriteItems has no IAM action of its own)
        self.admin_api = base.function(
            self,
            "admin_api",
            description="Product catalog (prices, seasons, replenishment, sensitivity); sources and keys",
            timeout=Duration.seconds(29),
            memory_mb=512,
            environment={
                "ASUSUAL_LINK_SECRETS_ARN": link_secret.secret_arn,
                "ASUSUAL_SEGMENTS_QUEUE_URL": base.queues["segments"].queue.queue_url,
                "ASUSUAL_STOCK_QUEUE_URL": base.queues["stock"].queue.queue_url,
                # the trigger holdouts: the uplift report lists each kind with its percent
                **holdout_environment(config),
            },
        )
        # a new, changed or deleted segment's first page (back-fill or deletion) goes to the worker
        base.queues["segments"].queue.grant_send_messages(self.admin_api)
        # a catalog upload's restocks and price drops go to the stock worker (asusual.triggers.stock)
        base.queues["stock"].queue.grant_send_messages(self.admin_api)
        link_secret.grant_read(self.admin_api)  # GET /v1/sources/{id}/identity-secret
        base.storage.grant_items(
            self.admin_api,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
        )
        base.storage.grant_index_query(self.admin_api, GSI1)
        base.api.serve(self.admin_api)
