"""The asusual stack: the shared foundation, then one construct per capability, wired together.

How to add a capability: a construct in ``infra/capabilities/<name>.py`` that takes the
:class:`~infra.foundation.Foundation` (and any capability it builds on, as Profiles takes
Privacy), creates its functions with ``base.function(self, ...)`` and grants, routes
(``base.api.serve``), schedules and widgets itself; then one line here.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.capabilities.admin import Admin
from infra.capabilities.campaigns import Campaigns
from infra.capabilities.decisions import Decisions
from infra.capabilities.delivery import Delivery
from infra.capabilities.intake import Intake
from infra.capabilities.privacy import Privacy
from infra.capabilities.profiles import Profiles
from infra.capabilities.recommendations import Recommendations
from infra.capabilities.segments import Segments
from infra.capabilities.triggers import Triggers
from infra.config import StageConfig
from infra.foundation import build_foundation


class AsusualStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        code_dir: Path,
        layer_dir: Path,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.base = build_foundation(self, config, code_dir=code_dir, layer_dir=layer_dir)
        self.privacy = Privacy(self, "Privacy", retain=config.retain_data)
        # Delivery keeps the link secret; intake and admin derive public sources' identity secrets from it
        self.delivery = Delivery(self, "Delivery", base=self.base, config=config)
        links = self.delivery.link_secret
        self.intake = Intake(
            self, "Intake", base=self.base, link_secret=links, geoip_database=config.geoip_database
        )
        self.profiles = Profiles(self, "Profiles", base=self.base, privacy=self.privacy, config=config)
        self.admin = Admin(self, "Admin", base=self.base, link_secret=links, config=config)
        self.triggers = Triggers(self, "Triggers", base=self.base)
        self.decisions = Decisions(self, "Decisions", base=self.base)
        self.segments = Segments(self, "Segments", base=self.base)
        self.campaigns = Campaigns(self, "Campaigns", base=self.base)
        self.recommendations = Recommendations(self, "Recommendations", base=self.base, config=config)
        self.base.api.require_every_handler_served()
        self._outputs()

    def _outputs(self) -> None:
        base = self.base
        CfnOutput(self, "ApiUrl", value=base.api.url, description="Point Segment clients' host here")
        CfnOutput(self, "TableName", value=base.storage.table.table_name)
        CfnOutput(self, "EventsQueueUrl", value=base.queues["events"].queue.queue_url)
        CfnOutput(self, "IntentsQueueUrl", value=base.queues["intents"].queue.queue_url)
        CfnOutput(self, "SegmentsQueueUrl", value=base.queues["segments"].queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=base.observability.topic.topic_arn)
        CfnOutput(
            self,
            "LinkSecretArn",
            value=self.delivery.link_secret.secret_arn,
            description="asusual webhook-key --secret-arn <this>: the key webhook receivers verify with",
        )
        CfnOutput(
            self,
            "CreateFirstSource",
            description="Prints the first write key once",
            value=f".venv/bin/asusual --region {self.region} --table {base.storage.table.table_name} "
            "sources create --id web --name 'Web shop' --channel web",
        )
