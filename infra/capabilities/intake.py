"""Intake: channel systems send Segment-compatible events; intake_api authenticates the write key,
validates each message, checks a public source's signed user ids (with the link secret, from which
each source's identity secret is derived) and puts the valid ones on the events queue. Nothing else."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from asusual.store.access import SOURCES_PK
from asusual.store.geoip import open_locator
from infra.foundation import Foundation
from infra.foundation.functions import ARCHITECTURE, RUNTIME
from infra.foundation.observability import PERIOD

# what intake counts (asusual.intake.service, asusual.api): graphed on the dashboard
METRICS = ("MessagesAccepted", "MessagesRejected", "RequestsRefused", "IdentitySignaturesInvalid")


class Intake(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: Foundation,
        link_secret: secretsmanager.ISecret,
        geoip_database: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        events = base.queues["events"]
        geoip = self._geoip_layer(geoip_database) if geoip_database else None
        self.intake_api = base.function(
            self,
            "intake_api",
            description="Segment-compatible event intake: authenticate, validate, enqueue",
            timeout=Duration.seconds(10),
            memory_mb=512,
            environment={
                "ASUSUAL_EVENTS_QUEUE_URL": events.queue.queue_url,
                "ASUSUAL_LINK_SECRETS_ARN": link_secret.secret_arn,
                **({"ASUSUAL_GEOIP_DATABASE": geoip[1]} if geoip else {}),
            },
        )
        if geoip:
            self.intake_api.add_layers(geoip[0])
        # reads keys (the table, not its indexes), the sources' partition (the origins its CORS
        # allows) and the link secret (signed user ids), writes the events queue
        base.storage.grant_items(self.intake_api, "dynamodb:GetItem")
        base.storage.grant_partition_query(self.intake_api, SOURCES_PK)
        link_secret.grant_read(self.intake_api)
        events.queue.grant_send_messages(self.intake_api)
        base.api.serve(self.intake_api)
        base.observability.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Intake messages",
                left=[
                    cloudwatch.Metric(
                        namespace="asusual",
                        metric_name=name,
                        dimensions_map={"service": "intake_api"},
                        statistic="Sum",
                        period=PERIOD,
                    )
                    for name in METRICS
                ],
                width=24,
            )
        )

    def _geoip_layer(self, path: str) -> tuple[lambda_.LayerVersion, str]:
        """The retailer's City database as a layer of its own (only that file of its folder), and
        where the function finds it: layers unpack under /opt. Checked at synth as the function
        checks it at start (asusual.store.geoip): a file that does not open is never deployed."""
        database = Path(path).resolve()
        open_locator(str(database))
        layer = lambda_.LayerVersion(
            self,
            "GeoipDatabase",
            code=lambda_.Code.from_asset(str(database.parent), exclude=["*", f"!{database.name}"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"IP location database {database.name} (asusual.store.geoip)",
        )
        return layer, f"/opt/{database.name}"
