"""API Gateway (HTTP API) in front of the API functions: stage throttling and access logs."""

from __future__ import annotations

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagSuppressions
from constructs import Construct, IValidation

from infra.routes import api_functions, handler_routes

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


NO_GATEWAY_AUTHORIZER = {
    "id": "AwsSolutions-APIG4",
    "reason": "Every route authenticates inside the function with a hashed API key and its scope: stock "
    "Segment clients send their write key as HTTP Basic and cannot sign IAM requests or fetch JWTs.",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLog:
    """One JSON line per request (IAccessLogSettings is a jsii interface, not a struct)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(
            "{" + ",".join(f'"{k}":"{v}"' for k, v in ACCESS_LOG_FIELDS.items()) + "}"
        )


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, rate_limit: int, burst_limit: int, retain_logs: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self.served: set[str] = set()
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="asusual: intake, profiles, decide, admin",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
            access_log_settings=JsonAccessLog(apigwv2.LogGroupLogDestination(self.access_logs)),
        )

    @property
    def url(self) -> str:
        return self.http_api.api_endpoint

    def serve(self, function: lambda_.Function) -> None:
        """Route to ``function`` every route its handler declares (functions/<name>/handler.py,
        read by infra/routes.py; ``Functions.add`` names the function by its package): the routes
        are declared once, in the handler's resolver."""
        name = function.node.id
        declared = handler_routes(name)
        if not declared:
            raise ValueError(f"{name}: its handler declares no route")
        if name in self.served:
            raise ValueError(f"{name}: served once")
        self.served.add(name)
        integration = integrations.HttpLambdaIntegration(f"{name}Integration", function)
        for route in declared:
            for created in self.http_api.add_routes(
                path=route.path, methods=[apigwv2.HttpMethod(route.method)], integration=integration
            ):
                NagSuppressions.add_resource_suppressions(
                    created, [NO_GATEWAY_AUTHORIZER], apply_to_children=True
                )

    def require_every_handler_served(self) -> None:
        """Synthesis fails while a handler that declares routes is served by no capability."""
        self.node.add_validation(_EveryHandlerServed(self))


@jsii.implements(IValidation)
class _EveryHandlerServed:
    def __init__(self, api: Api) -> None:
        self._api = api

    def validate(self) -> list[str]:
        return [
            f"{name}: its handler declares routes that no capability serves (Api.serve)"
            for name in api_functions()
            if name not in self._api.served
        ]
