"""Cached boto3 clients: created on first use, never at import time (cold starts, tests)."""

from __future__ import annotations

from functools import cache
from typing import Any

from asusual.settings import get_settings


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session(region_name=get_settings().region)


@cache
def dynamodb() -> Any:
    from botocore.config import Config

    settings = get_settings()
    return _session().client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5),
    )


@cache
def sqs() -> Any:
    from botocore.config import Config

    return _session().client(
        "sqs",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=5,
            max_pool_connections=32,
        ),
    )


def _service(name: str) -> Any:
    from botocore.config import Config

    return _session().client(
        name,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10),
    )


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
