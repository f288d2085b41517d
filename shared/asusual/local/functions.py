"""The Lambda functions local mode runs. An API function's routes are its handler's resolver's
(``asusual.api.routes``): declared once, in the handler."""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from types import ModuleType
from typing import Any

from asusual.api import routes


@dataclass(frozen=True)
class LocalFunction:
    name: str
    module: str
    consumes: str | None = None  # the queue whose messages the function receives as SQS batches
    every: timedelta | None = None  # an EventBridge rate schedule invokes the function this often
    batch_size: int = 10  # the most messages of ``consumes`` an invocation gets (infra/ sets the same)

    @property
    def api(self) -> bool:
        """API Gateway invokes every function that neither consumes a queue nor runs on a schedule."""
        return self.consumes is None and self.every is None

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        return self.load().lambda_handler(event, context)

    def routes(self) -> list[tuple[str, str]]:
        """(method, rule) of each route the handler's resolver declares; none for other functions."""
        return routes(self.load().app) if self.api else []

    @cached_property
    def http_prefixes(self) -> tuple[str, ...]:
        """The first two segments of each of its routes (``/v1/profiles``): a path inside one of them
        reaches the function, which answers its own 404 for a path none of its routes matches."""
        return tuple(sorted({"/".join(rule.split("/")[:3]) for _method, rule in self.routes()}))

    def serves(self, method: str, path: str) -> bool:
        """Whether API Gateway would hand it this request. An OPTIONS request reaches it only on a
        route a page calls (its preflight); any other method anywhere inside its prefixes."""
        if method == "OPTIONS":
            return any(
                re.fullmatch(re.sub(r"<\w+>", "[^/]+", rule), path)
                for m, rule in self.routes()
                if m == method
            )
        return any(path == p or path.startswith(p + "/") for p in self.http_prefixes)

    def reset(self) -> None:
        """Drop the function's cached dependencies (settings or mocks changed): every cached
        factory the handler module defines (``dependencies``, and any other)."""
        module = sys.modules.get(self.module)
        if module is None:
            return
        for value in list(vars(module).values()):
            if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == module.__name__:
                value.cache_clear()


INTAKE_API = LocalFunction(name="intake_api", module="functions.intake_api.handler")

EVENT_PROCESSOR = LocalFunction(
    name="event_processor", module="functions.event_processor.handler", consumes="events", batch_size=100
)
PROFILES_API = LocalFunction(name="profiles_api", module="functions.profiles_api.handler")
ADMIN_API = LocalFunction(name="admin_api", module="functions.admin_api.handler")
BIRTHDAY_SWEEP = LocalFunction(
    name="birthday_sweep", module="functions.birthday_sweep.handler", every=timedelta(hours=1)
)
REPLENISHMENT_SWEEP = LocalFunction(
    name="replenishment_sweep", module="functions.replenishment_sweep.handler", every=timedelta(hours=1)
)
ABANDONMENT_SWEEP = LocalFunction(
    name="abandonment_sweep", module="functions.abandonment_sweep.handler", every=timedelta(minutes=15)
)
RECOMMENDATIONS_JOB = LocalFunction(
    name="recommendations_job", module="functions.recommendations_job.handler", every=timedelta(hours=1)
)

DISPATCHER = LocalFunction(name="dispatcher", module="functions.dispatcher.handler", consumes="intents")
DEFERRED_SWEEP = LocalFunction(
    name="deferred_sweep", module="functions.deferred_sweep.handler", every=timedelta(minutes=15)
)
SEGMENTS_SWEEP = LocalFunction(
    name="segments_sweep", module="functions.segments_sweep.handler", every=timedelta(hours=1)
)
SEGMENTS_WORKER = LocalFunction(
    name="segments_worker", module="functions.segments_worker.handler", consumes="segments", batch_size=1
)
STOCK_WORKER = LocalFunction(
    name="stock_worker", module="functions.stock_worker.handler", consumes="stock", batch_size=1
)
CAMPAIGN_SWEEP = LocalFunction(
    name="campaign_sweep", module="functions.campaign_sweep.handler", every=timedelta(minutes=5)
)
DECIDE_API = LocalFunction(name="decide_api", module="functions.decide_api.handler")
MESSAGES_API = LocalFunction(name="messages_api", module="functions.messages_api.handler")

FUNCTIONS: tuple[LocalFunction, ...] = (
    INTAKE_API,
    EVENT_PROCESSOR,
    PROFILES_API,
    ADMIN_API,
    BIRTHDAY_SWEEP,
    REPLENISHMENT_SWEEP,
    ABANDONMENT_SWEEP,
    RECOMMENDATIONS_JOB,
    DISPATCHER,
    DEFERRED_SWEEP,
    CAMPAIGN_SWEEP,
    DECIDE_API,
    MESSAGES_API,
    SEGMENTS_SWEEP,
    SEGMENTS_WORKER,
    STOCK_WORKER,
)
API_FUNCTIONS = tuple(f for f in FUNCTIONS if f.api)
QUEUE_CONSUMERS = tuple(f for f in FUNCTIONS if f.consumes)
SCHEDULED = tuple(f for f in FUNCTIONS if f.every)
