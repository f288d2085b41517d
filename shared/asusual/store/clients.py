"""Cached boto3 clients: created on first use, never at import time (cold starts, tests)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from asusual.settings import get_settings

# service name -> what every new client of it goes through first (local mode, see ``prepare``)
_PREPARE: dict[str, Callable[[Any], None]] = {}


def prepare(service: str, setup: Callable[[Any], None] | None) -> None:
    """Local mode: run ``setup(client)`` on every client of ``service`` made from now on — the local
    runtime answers SQS in the process this way — or, with None, no more. Cached clients are
    dropped, so the next call makes a new one."""
    if setup is None:
        _PREPARE.pop(service, None)
    else:
        _PREPARE[service] = setup
    reset_clients()


def _prepared(service: str, client: Any) -> Any:
    setup = _PREPARE.get(service)
    if setup is not None:
        setup(client)
    return client


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session(region_name=get_settings().region)


@cache
def dynamodb() -> Any:
    from botocore.config import Config

    settings = get_settings()
    client = _session().client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=5,
            # the event processor writes a batch's profiles on 16 threads and reads in parallel:
            # botocore's default of 10 connections would make them queue for one
            max_pool_connections=32,
        ),
    )
    # botocore builds a client's exception classes on first use, without a lock: threads that
    # first raise at once can get different classes, and an ``except`` of one misses the other
    _ = client.exceptions
    return _prepared("dynamodb", client)


@cache
def sqs() -> Any:
    from botocore.config import Config

    client = _session().client(
        "sqs",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=5,
            max_pool_connections=32,
        ),
    )
    return _prepared("sqs", client)


def _service(name: str) -> Any:
    from botocore.config import Config

    client = _session().client(
        name,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10),
    )
    return _prepared(name, client)


@cache
def sesv2() -> Any:
    return _service("sesv2")


@cache
def sns() -> Any:
    return _service("sns")


@cache
def secretsmanager() -> Any:
    return _service("secretsmanager")


def reset_clients() -> None:
    """Forget cached clients (tests and the local server change settings or mocks)."""
    for factory in (_session, dynamodb, sqs, sesv2, sns, secretsmanager):
        factory.cache_clear()
