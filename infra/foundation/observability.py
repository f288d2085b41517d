"""Alarms (DLQ depth, function errors and throttles, age of the oldest message, API 5xx) to an
encrypted SNS topic, and one dashboard; capabilities add their own widgets to it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.foundation.queues import Queue

OLDEST_MESSAGE_ALARM = Duration.minutes(5)
PERIOD = Duration.minutes(5)


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="asusual alarm topic")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "Alarms", display_name=f"asusual {stage} alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"asusual-{stage}")
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# asusual {stage}\nIntake, queues and functions.", width=24, height=2
            )
        )

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def watch_api(self, api: apigwv2.HttpApi) -> None:
        errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        self._alarm("Api5xx", errors, 5, "API answered 5xx (clients retry; a sustained rate means an outage)")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD), errors],
                width=12,
            ),
            cloudwatch.GraphWidget(title="API latency", left=[api.metric_latency(period=PERIOD)], width=12),
        )

    def watch_queue(self, queue: Queue) -> None:
        name = queue.spec.name.title()
        dlq_depth = queue.dlq.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"
        )
        oldest = queue.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
        self._alarm(f"{name}DlqNotEmpty", dlq_depth, 1, f"{queue.spec.name}: messages reached the DLQ")
        self._alarm(
            f"{name}OldestMessage",
            oldest,
            OLDEST_MESSAGE_ALARM.to_seconds(),
            f"{queue.spec.name}: a message waits longer than {OLDEST_MESSAGE_ALARM.to_minutes()} minutes",
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{queue.spec.name} queue",
                left=[queue.queue.metric_approximate_number_of_messages_visible(period=PERIOD), dlq_depth],
                right=[oldest],
                width=12,
            )
        )

    def watch_function(self, name: str, function: lambda_.Function) -> None:
        errors = function.metric_errors(period=PERIOD, statistic="Sum")
        throttles = function.metric_throttles(period=PERIOD, statistic="Sum")
        self._alarm(f"{name}Errors", errors, 1, f"{name}: invocations failed")
        self._alarm(f"{name}Throttles", throttles, 1, f"{name}: invocations throttled")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{name}",
                left=[function.metric_invocations(period=PERIOD), errors, throttles],
                right=[function.metric_duration(period=PERIOD, statistic="p99")],
                width=12,
            )
        )
