"""What every capability builds on, one small construct each: the table (Storage), the queues
between capabilities (Queues), the function defaults and layer (Functions), the HTTP API (Api),
and the alarm topic and dashboard (Observability). The stack creates them once and hands them to
each capability as one :class:`Foundation`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StageConfig
from infra.foundation.api import Api
from infra.foundation.functions import Functions
from infra.foundation.observability import Observability
from infra.foundation.queues import Queues
from infra.foundation.storage import Storage


@dataclass(frozen=True)
class Foundation:
    storage: Storage
    queues: Queues
    functions: Functions
    api: Api
    observability: Observability
    # the functions that look up the day's weather get this (docs/weather.md; empty: off)
    weather_environment: dict[str, str] = field(default_factory=dict)

    def function(
        self,
        scope: Construct,
        name: str,
        *,
        description: str,
        timeout: Duration,
        memory_mb: int,
        environment: dict[str, str],
    ) -> lambda_.Function:
        """A function of ``scope``'s capability (``functions/<name>/handler.py``) with its own role,
        alarmed and on the dashboard; the capability grants it what it needs, nothing more."""
        function = self.functions.add(
            scope,
            name,
            description=description,
            timeout=timeout,
            memory_mb=memory_mb,
            environment=environment,
        )
        self.observability.watch_function(name, function)
        return function


def build_foundation(scope: Construct, config: StageConfig, *, code_dir: Path, layer_dir: Path) -> Foundation:
    """The foundation of one stack: its table, queues, function defaults, API and alarms."""
    storage = Storage(scope, "Storage", retain=config.retain_data)
    queues = Queues(scope, "Queues")
    functions = Functions(
        scope,
        "Functions",
        code_dir=code_dir,
        layer_dir=layer_dir,
        retain_logs=config.retain_data,
        environment={
            "ASUSUAL_STAGE": config.stage,
            "ASUSUAL_REGION": Stack.of(scope).region,
            "ASUSUAL_TABLE_NAME": storage.table.table_name,
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
    api = Api(
        scope,
        "Api",
        rate_limit=config.api_rate_limit,
        burst_limit=config.api_burst_limit,
        retain_logs=config.retain_data,
    )
    observability = Observability(scope, "Observability", stage=config.stage, alarm_email=config.alarm_email)
    observability.watch_api(api.http_api)
    for queue in queues.by_name.values():
        observability.watch_queue(queue)
    return Foundation(
        storage=storage,
        queues=queues,
        functions=functions,
        api=api,
        observability=observability,
        weather_environment=config.weather_environment,
    )
