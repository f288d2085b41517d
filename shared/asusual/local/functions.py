"""The Lambda functions local mode runs, with the HTTP routes API Gateway sends them."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class LocalFunction:
    name: str
    module: str
    http_prefixes: tuple[str, ...] = ()
    consumes: str | None = None  # the queue whose messages the function receives as SQS batches
    every: timedelta | None = None  # an EventBridge rate schedule invokes the function this often

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        return self.load().lambda_handler(event, context)

    def serves(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.http_prefixes)

    def reset(self) -> None:
        """Drop the function's cached dependencies (settings or mocks changed)."""
        module = sys.modules.get(self.module)
        dependencies = getattr(module, "dependencies", None)
        if dependencies is not None and hasattr(dependencies, "cache_clear"):
            dependencies.cache_clear()


INTAKE_API = LocalFunction(
    name="intake_api",
    module="functions.intake_api.handler",
    http_prefixes=tuple(
        f"/v1/{kind}" for kind in ("batch", "identify", "track", "page", "screen", "group", "alias")
    ),
)

EVENT_PROCESSOR = LocalFunction(
    name="event_processor", module="functions.event_processor.handler", consumes="events"
)
PROFILES_API = LocalFunction(
    name="profiles_api", module="functions.profiles_api.handler", http_prefixes=("/v1/profiles",)
)
ADMIN_API = LocalFunction(
    name="admin_api",
    module="functions.admin_api.handler",
    http_prefixes=("/v1/catalog", "/v1/sources", "/v1/keys"),
)
BIRTHDAY_SWEEP = LocalFunction(
    name="birthday_sweep", module="functions.birthday_sweep.handler", every=timedelta(hours=1)
)
REPLENISHMENT_SWEEP = LocalFunction(
    name="replenishment_sweep", module="functions.replenishment_sweep.handler", every=timedelta(hours=1)
)

DISPATCHER = LocalFunction(name="dispatcher", module="functions.dispatcher.handler", consumes="intents")
DEFERRED_SWEEP = LocalFunction(
    name="deferred_sweep", module="functions.deferred_sweep.handler", every=timedelta(minutes=15)
)
DECIDE_API = LocalFunction(
    name="decide_api", module="functions.decide_api.handler", http_prefixes=("/v1/decide",)
)
MESSAGES_API = LocalFunction(
    name="messages_api",
    module="functions.messages_api.handler",
    http_prefixes=("/v1/messages", "/v1/unsubscribe"),
)

FUNCTIONS: tuple[LocalFunction, ...] = (
    INTAKE_API,
    EVENT_PROCESSOR,
    PROFILES_API,
    ADMIN_API,
    BIRTHDAY_SWEEP,
    REPLENISHMENT_SWEEP,
    DISPATCHER,
    DEFERRED_SWEEP,
    DECIDE_API,
    MESSAGES_API,
)
API_FUNCTIONS = tuple(f for f in FUNCTIONS if f.http_prefixes)
QUEUE_CONSUMERS = tuple(f for f in FUNCTIONS if f.consumes)
SCHEDULED = tuple(f for f in FUNCTIONS if f.every)
