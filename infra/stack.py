"""The asusual stack: composes one construct per capability and wires them together."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from asusual.store.tables import GSI1
from infra.capabilities.api import Api
from infra.capabilities.delivery import Delivery
from infra.capabilities.functions import Functions
from infra.capabilities.observability import Observability
from infra.capabilities.privacy import Privacy
from infra.capabilities.queues import CONSUMER_TIMEOUT, Queues
from infra.capabilities.schedules import Schedules
from infra.capabilities.storage import Storage
from infra.config import StageConfig


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
        self.storage = Storage(self, "Storage", retain=config.retain_data)
        self.queues = Queues(self, "Queues")
        self.functions = Functions(
            self,
            "Functions",
            code_dir=code_dir,
            layer_dir=layer_dir,
            retain_logs=config.retain_data,
            environment={
                "ASUSUAL_STAGE": config.stage,
                "ASUSUAL_REGION": self.region,
                "ASUSUAL_TABLE_NAME": self.storage.table.table_name,
                "POWERTOOLS_METRICS_NAMESPACE": "asusual",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # a handler's answer (a profile, an export) or error must not become trace metadata
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
                # retention (docs/privacy.md): processed-event markers, the message log
                "ASUSUAL_DEDUPE_DAYS": str(config.dedupe_days),
                "ASUSUAL_MESSAGE_LOG_DAYS": str(config.message_log_days),
                **({"ASUSUAL_DEFAULT_COUNTRY": config.default_country} if config.default_country else {}),
            },
        )
        self.api = Api(
            self,
            "Api",
            rate_limit=config.api_rate_limit,
            burst_limit=config.api_burst_limit,
            retain_logs=config.retain_data,
        )
        self.schedules = Schedules(self, "Schedules")
        self.delivery = Delivery(
            self,
            "Delivery",
            sender_email=config.sender_email,
            sms_origination=config.sms_origination,
            push_platform_applications=config.push_platform_applications,
            retain=config.retain_data,
        )
        self.observability = Observability(
            self, "Observability", stage=config.stage, alarm_email=config.alarm_email
        )
        self.privacy = Privacy(self, "Privacy", retain=config.retain_data)

        # intake_api: reads keys, writes the events queue. Nothing else.
        events = self.queues["events"]
        intake = self.functions.add(
            "intake_api",
            description="Segment-compatible event intake: authenticate, validate, enqueue",
            timeout=Duration.seconds(10),
            memory_mb=512,
            environment={"ASUSUAL_EVENTS_QUEUE_URL": events.queue.queue_url},
        )
        self.storage.grant_items(intake, "dynamodb:GetItem")
        events.queue.grant_send_messages(intake)
        self.api.serve(intake)

        # event_processor: the events queue → profiles, orders, reminders → the intents queue.
        # Reads and writes items (deletes only birthday index entries); no scans.
        intents = self.queues["intents"]
        processor = self.functions.add(
            "event_processor",
            description="Applies each event once to one profile; order status and replenishment triggers",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url, **self.privacy.environment()},
        )
        self.privacy.grant_suppression(processor)  # events naming an erased person are dropped
        self.storage.grant_items(
            processor,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        intents.queue.grant_send_messages(processor)
        self.queues.consume("events", processor)

        # profiles_api: channels read profiles (read key); operators unmerge and answer privacy
        # requests (admin key): an export or an erasure queries the person's partitions, gsi1
        # (message log, orders, deferred release partitions) and deletes in batches; up to the
        # HTTP API's 30 s integration limit (a longer erasure is finished by asking again)
        profiles_api = self.functions.add(
            "profiles_api",
            description="Profile read for greeting and prefill; unmerge; export and erasure",
            timeout=Duration.seconds(29),
            memory_mb=512,
            environment=self.privacy.environment(),
        )
        self.privacy.grant_suppression(profiles_api)  # an erasure suppresses, a lift forgets
        self.storage.grant_items(
            profiles_api,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:Query",
        )
        self.storage.grant_index_query(profiles_api, GSI1)
        self.api.serve(profiles_api)

        # admin_api: the catalog (admin key writes; read and admin keys read), and sources and
        # keys (admin key): Query pk=SOURCES on the table, gsi1 APIKEYS for keys, transactions of
        # Put/Update (TransactWriteItems has no IAM action of its own).
        admin_api = self.functions.add(
            "admin_api",
            description="Product catalog (prices, seasons, replenishment, sensitivity); sources and keys",
            timeout=Duration.seconds(29),
            memory_mb=512,
            environment={},
        )
        self.storage.grant_items(
            admin_api,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
        )
        self.storage.grant_index_query(admin_api, GSI1)
        self.api.serve(admin_api)

        # the hourly sweeps: read their index partitions (never scan) → the intents queue
        sweeps = {
            "birthday_sweep": (
                "Hourly: congratulates customers whose local birthday window is open, once a year",
                ("dynamodb:UpdateItem",),
            ),
            "replenishment_sweep": (
                "Hourly: emits the replenishment reminders that are due",
                ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"),
            ),
        }
        for name, (description, item_actions) in sweeps.items():
            sweep = self.functions.add(
                name,
                description=description,
                timeout=Duration.minutes(5),
                memory_mb=512,
                environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url},
            )
            self.storage.grant_index_query(sweep, GSI1)
            self.storage.grant_items(sweep, *item_actions)
            intents.queue.grant_send_messages(sweep)
            self.schedules.every(name.title().replace("_", ""), Duration.hours(1), sweep)

        # dispatcher: the intents queue → consent, caps, quiet hours, channel, content → SES/SNS/webhooks.
        # The only function that sends; reads profiles, catalog and the offer pool (gsi1 OFFERS).
        links = {
            "ASUSUAL_PUBLIC_BASE_URL": config.public_base_url or self.api.url.rstrip("/"),
            "ASUSUAL_LINK_SECRETS_ARN": self.delivery.link_secret.secret_arn,
        }
        dispatcher = self.functions.add(
            "dispatcher",
            description="Intents to messages: channel, consent, caps, quiet hours, content, send once",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={
                **links,
                "ASUSUAL_DELIVERY_MODE": "aws",
                **({"ASUSUAL_SENDER_EMAIL": config.sender_email} if config.sender_email else {}),
                **({"ASUSUAL_SMS_SENDER_ID": config.sms_sender_id} if config.sms_sender_id else {}),
                **(
                    {"ASUSUAL_SMS_ORIGINATION_NUMBER": config.sms_origination}
                    if config.sms_origination and config.sms_origination.startswith("+")
                    else {}
                ),
                **(
                    {"ASUSUAL_PUSH_PLATFORM_APPLICATIONS": json.dumps(config.push_platform_applications)}
                    if config.push_platform_applications
                    else {}
                ),
                **({"ASUSUAL_WEBHOOKS": json.dumps(config.webhooks)} if config.webhooks else {}),
            },
        )
        self.storage.grant_items(
            dispatcher,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        self.storage.grant_index_query(dispatcher, GSI1)
        self.delivery.grant_secret(dispatcher)
        self.delivery.grant_send(dispatcher)
        self.queues.consume("intents", dispatcher)

        # deferred_sweep: every 15 minutes, intents whose quiet hours or caps passed → intents queue
        deferred = self.functions.add(
            "deferred_sweep",
            description="Every 15 minutes: deferred intents whose time has come go back on the intents queue",
            timeout=Duration.minutes(5),
            memory_mb=512,
            environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url},
        )
        self.storage.grant_index_query(deferred, GSI1)
        self.storage.grant_items(deferred, "dynamodb:DeleteItem")
        intents.queue.grant_send_messages(deferred)
        self.schedules.every("DeferredSweep", Duration.minutes(15), deferred)

        # decide_api: real-time greeting + offer (read key); keeps the day's offer and prices
        decide_api = self.functions.add(
            "decide_api",
            description="Real-time decisions for site, app, POS and call center: greeting, offer, price",
            timeout=Duration.seconds(10),
            memory_mb=1024,
            environment={},
        )
        self.storage.grant_items(decide_api, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem")
        self.storage.grant_index_query(decide_api, GSI1)
        self.api.serve(decide_api)

        # messages_api: why a message was sent, message log, one-click unsubscribe (→ events queue)
        messages_api = self.functions.add(
            "messages_api",
            description="Why a message was sent, the message log, one-click unsubscribe",
            timeout=Duration.seconds(10),
            memory_mb=512,
            environment={**links, "ASUSUAL_EVENTS_QUEUE_URL": events.queue.queue_url},
        )
        self.storage.grant_items(messages_api, "dynamodb:GetItem")
        self.storage.grant_index_query(messages_api, GSI1)
        self.delivery.grant_secret(messages_api)
        events.queue.grant_send_messages(messages_api)
        self.api.serve(messages_api)

        self.observability.watch_api(self.api.http_api)
        for queue in self.queues.by_name.values():
            self.observability.watch_queue(queue)
        for name, function in self.functions.by_name.items():
            self.observability.watch_function(name, function)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Point Segment clients' host here")
        CfnOutput(self, "TableName", value=self.storage.table.table_name)
        CfnOutput(self, "EventsQueueUrl", value=events.queue.queue_url)
        CfnOutput(self, "IntentsQueueUrl", value=intents.queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.observability.topic.topic_arn)
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
            value=f".venv/bin/asusual --region {self.region} --table {self.storage.table.table_name} "
            "sources create --id web --name 'Web shop' --channel web",
        )
