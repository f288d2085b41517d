"""Delivery: the dispatcher (the only function that sends: intents → channel, consent, caps, quiet
hours, content → SES, SNS, webhooks), the deferred sweep, the messages API (why, log, the pages
customers open: preference center, unsubscribe and its undo), the secret that signs links and
webhooks, and the sending permissions, scoped to what the operator configured (SES sender
identity, SNS for SMS, push platform applications)."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from cdk_nag import NagSuppressions
from constructs import Construct, IConstruct

from asusual.store.segments import SEGMENTS_PK
from asusual.store.tables import GSI1
from infra.config import StageConfig
from infra.foundation import Foundation
from infra.foundation.queues import CONSUMER_TIMEOUT
from infra.foundation.schedules import every
from infra.foundation.secrets import listed_secret


def _node(grantee: iam.IGrantable) -> IConstruct:
    """The role behind a grantee, where cdk-nag reads suppressions."""
    principal = grantee.grant_principal
    if not isinstance(principal, Construct):
        raise TypeError("grantee: needs a role defined in this app")
    return principal


class SendPermissions:
    """What a sender may send through: only the identities the operator configured."""

    def __init__(
        self,
        scope: Construct,
        *,
        sender_email: str | None,
        sms_origination: str | None,
        push_platform_applications: dict[str, str] | None = None,
    ) -> None:
        self._scope = scope
        self.sender_email = sender_email
        self.sms_origination = sms_origination
        self.push_platform_applications = dict(push_platform_applications or {})

    def email_identity_arns(self) -> list[str]:
        """The SES identities a sender may use: the address itself and its verified domain."""
        if not self.sender_email:
            return []
        stack = Stack.of(self._scope)
        identities = [self.sender_email]
        if "@" in self.sender_email:
            identities.append(self.sender_email.split("@", 1)[1])
        return [f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:identity/{i}" for i in identities]

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """Email from the configured identity; SMS through SNS when an origination is configured;
        push to the configured platform applications' endpoints."""
        emails = self.email_identity_arns()
        if emails:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["ses:SendEmail", "ses:SendRawEmail"], resources=emails)
            )
        if self.sms_origination:
            # SNS publishes to a phone number, which has no ARN: IAM only accepts "*" for it; the
            # sender asks first whether the number opted out (SNS drops those without an error)
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"]
                )
            )
            NagSuppressions.add_resource_suppressions(
                _node(grantee),
                [
                    {
                        "id": "AwsSolutions-IAM5",
                        "reason": "SNS SMS publishes to a phone number, not to a topic or endpoint ARN, "
                        "so sns:Publish for SMS can only be granted on '*'.",
                        "appliesTo": ["Resource::*"],
                    }
                ],
                apply_to_children=True,
            )
        if self.push_platform_applications:
            stack = Stack.of(self._scope)
            applications = sorted(self.push_platform_applications.values())
            endpoints = [f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:endpoint/*"]
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:CreatePlatformEndpoint"], resources=applications)
            )
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:Publish", "sns:GetEndpointAttributes"], resources=endpoints)
            )
            NagSuppressions.add_resource_suppressions(
                _node(grantee),
                [
                    {
                        "id": "AwsSolutions-IAM5",
                        "reason": "Push endpoints are created per device at send time "
                        "(CreatePlatformEndpoint), so their ARNs are only known as endpoint/*.",
                        "appliesTo": [{"regex": "/^Resource::arn:.*:sns:.*:endpoint/\\*$/"}],
                    }
                ],
                apply_to_children=True,
            )


class Delivery(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, base: Foundation, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        events, intents = base.queues["events"], base.queues["intents"]
        self.link_secret = listed_secret(
            self,
            "LinkSecret",
            description="asusual: signs why/unsubscribe links and (derived) webhooks; comma-separated, "
            "the first signs",
            retain=config.retain_data,
            rotation="Rotation is by prepending a new secret to the list (the first signs, all verify) "
            "so links already sent keep working until they expire; a Lambda rotation would invalidate "
            "them at once.",
        )
        self.senders = SendPermissions(
            self,
            sender_email=config.sender_email,
            sms_origination=config.sms_origination,
            push_platform_applications=config.push_platform_applications,
        )
        links = {
            "ASUSUAL_PUBLIC_BASE_URL": config.public_base_url or base.api.url.rstrip("/"),
            "ASUSUAL_LINK_SECRETS_ARN": self.link_secret.secret_arn,
        }

        # the intents queue → consent, caps, quiet hours, channel, content → SES/SNS/webhooks. The
        # only function that sends; reads profiles, catalog and the offer pool (gsi1 OFFERS).
        self.dispatcher = base.function(
            self,
            "dispatcher",
            description="Intents to messages: channel, consent, caps, quiet hours, content, send once",
            timeout=CONSUMER_TIMEOUT,
            memory_mb=1024,
            environment={
                **links,
                "ASUSUAL_DELIVERY_MODE": "aws",
                **channel_environment(config),
                **holdout_environment(config),
                **base.weather_environment,  # the day's weather (docs/weather.md)
            },
        )
        base.storage.grant_items(
            self.dispatcher,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        base.storage.grant_index_query(self.dispatcher, GSI1)
        # the segment definitions (cached a minute): a campaign message says why she is in it
        base.storage.grant_partition_query(self.dispatcher, SEGMENTS_PK)
        self.link_secret.grant_read(self.dispatcher)
        self.senders.grant_send(self.dispatcher)
        base.queues.consume("intents", self.dispatcher)

        # every 15 minutes, intents whose quiet hours or caps passed → the intents queue
        self.deferred_sweep = base.function(
            self,
            "deferred_sweep",
            description="Every 15 minutes: deferred intents whose time has come go back on the intents queue",
            timeout=Duration.minutes(5),
            memory_mb=512,
            environment={"ASUSUAL_INTENTS_QUEUE_URL": intents.queue.queue_url},
        )
        base.storage.grant_index_query(self.deferred_sweep, GSI1)
        base.storage.grant_items(self.deferred_sweep, "dynamodb:DeleteItem")
        intents.queue.grant_send_messages(self.deferred_sweep)
        every(self, "DeferredSweep", Duration.minutes(15), self.deferred_sweep)

        # why a message was sent, the message log, the pages customers open from a message
        # (preference center, unsubscribe and its undo; their consent changes → the events queue).
        # Reads messages and, for the pages, the customer's profile (BatchGetItem, following merges)
        self.messages_api = base.function(
            self,
            "messages_api",
            description="Why a message was sent, the message log, preference center, unsubscribe",
            timeout=Duration.seconds(10),
            memory_mb=512,
            environment={
                **links,
                "ASUSUAL_EVENTS_QUEUE_URL": events.queue.queue_url,
                **page_environment(config),
            },
        )
        base.storage.grant_items(self.messages_api, "dynamodb:GetItem", "dynamodb:BatchGetItem")
        base.storage.grant_index_query(self.messages_api, GSI1)
        self.link_secret.grant_read(self.messages_api)
        events.queue.grant_send_messages(self.messages_api)
        base.api.serve(self.messages_api)


def page_environment(config: StageConfig) -> dict[str, str]:
    """The pages' look and language, only those the operator configured."""
    settings = {
        "ASUSUAL_RETAILER_NAME": config.retailer_name,
        "ASUSUAL_BRAND_COLOR": config.brand_color,
        "ASUSUAL_DEFAULT_LOCALE": config.default_locale,
    }
    return {name: value for name, value in settings.items() if value}


def holdout_environment(config: StageConfig) -> dict[str, str]:
    """The trigger kinds' holdouts (the dispatcher assigns groups, admin_api reports them)."""
    return {
        **(
            {"ASUSUAL_TRIGGER_HOLDOUTS": json.dumps(config.trigger_holdouts, sort_keys=True)}
            if config.trigger_holdouts
            else {}
        ),
        "ASUSUAL_TRIGGER_CONVERSION_DAYS": str(config.trigger_conversion_days),
    }


def channel_environment(config: StageConfig) -> dict[str, str]:
    """The dispatcher's channel settings, only those the operator configured."""
    return {
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
    }
