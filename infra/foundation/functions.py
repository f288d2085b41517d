"""What every Lambda function shares: one code asset, one dependency layer, the runtime and
architecture, logging, tracing and the common environment. Each capability creates its own
functions with :meth:`Functions.add`, in its own scope, each with its own role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagSuppressions
from constructs import Construct

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        layer_dir: Path,
        environment: dict[str, str],
        retain_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.code = lambda_.Code.from_asset(str(code_dir))
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="asusual runtime dependencies (pinned, manylinux2014_aarch64 wheels)",
        )
        self.environment = environment
        self.retain_logs = retain_logs
        self.by_name: dict[str, lambda_.Function] = {}

    def add(
        self,
        scope: Construct,
        name: str,
        *,
        description: str,
        timeout: Duration,
        memory_mb: int = 512,
        environment: dict[str, str],
    ) -> lambda_.Function:
        """A function ``functions/<name>/handler.py`` of ``scope``'s capability, with its own role and
        log group; the function's id is its package name (``Api.serve`` reads its routes by it)."""
        log_group = logs.LogGroup(
            scope,
            f"{name}-logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.RETAIN if self.retain_logs else RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            scope,
            f"{name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"asusual {name}: only what this function needs",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            scope,
            name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"functions.{name}.handler.lambda_handler",
            code=self.code,
            layers=[self.layer],
            role=role,
            timeout=timeout,
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            environment={**self.environment, "POWERTOOLS_SERVICE_NAME": name, **environment},
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level "
                    "permissions; log stream names in the function's own log group are not known in advance.",
                    "appliesTo": ["Resource::*", {"regex": "/^Resource::.*LogGroup.*:\\*$/"}],
                }
            ],
            apply_to_children=True,
        )
        if name in self.by_name:
            raise ValueError(f"{name}: a function is declared once")
        self.by_name[name] = function
        return function


__all__ = ["ARCHITECTURE", "RUNTIME", "Functions"]
