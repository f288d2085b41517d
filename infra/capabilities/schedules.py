"""EventBridge rate schedules for the sweeps (birthday, replenishment) that later issues add."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}

    def every(self, name: str, period: Duration, function: lambda_.IFunction) -> events.Rule:
        """Invoke ``function`` every ``period`` (retried twice by EventBridge on failure)."""
        rule = events.Rule(
            self,
            name,
            description=f"asusual sweep {name}",
            schedule=events.Schedule.rate(period),
            targets=[targets.LambdaFunction(function, retry_attempts=2)],
        )
        self.rules[name] = rule
        return rule
