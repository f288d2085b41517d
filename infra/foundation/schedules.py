"""EventBridge rate schedules: a capability's sweeps run on them."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


def every(scope: Construct, name: str, period: Duration, function: lambda_.IFunction) -> events.Rule:
    """Invoke ``function`` every ``period`` (retried twice by EventBridge on failure)."""
    return events.Rule(
        scope,
        name,
        description=f"asusual sweep {name}",
        schedule=events.Schedule.rate(period),
        targets=[targets.LambdaFunction(function, retry_attempts=2)],
    )
