from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext
from asusual.observability import logger
from asusual.store.queues import decode_event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def basic(key: str, colon: bool = True) -> str:
    return "Basic " + base64.b64encode(f"{key}{':' if colon else ''}".encode()).decode()


@pytest.fixture
def intake(runtime):
    """Call the intake Lambda handler with an API Gateway HTTP API event."""
    from functions.intake_api import handler

    def call(
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = "web_local_key",
    ) -> Answer:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if key is not None and "authorization" not in {k.lower() for k in all_headers}:
            all_headers["authorization"] = basic(key)
        payload = raw if raw is not None else json.dumps(body).encode()
        event = api_gateway_event("POST", path, all_headers, payload)
        result = handler.lambda_handler(event, LocalContext("intake_api"))
        return Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())

    return call


@pytest.fixture
def queued(runtime):
    """Events waiting on the events queue, decoded."""

    def read() -> list:
        return [decode_event(m["Body"]) for m in runtime.peek("events", limit=5000)]

    return read


def json_api(handler: ModuleType, function_name: str, default_key: str) -> Callable[..., Answer]:
    """Call an API function's Lambda handler with a JSON body and a Bearer key (None: no key)."""

    def call(
        method: str, path: str, body: Any = None, key: str | None = default_key, raw: bytes | None = None
    ) -> Answer:
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        if raw is None:
            raw = json.dumps(body).encode() if body is not None else b""
        result = handler.lambda_handler(
            api_gateway_event(method, path, headers, raw), LocalContext(function_name)
        )
        return Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())

    return call


@pytest.fixture
def profiles_api(runtime):
    """Call the profiles API handler (GET /v1/profiles/... and POST .../unmerge)."""
    from functions.profiles_api import handler

    return json_api(handler, "profiles_api", "read_local_key")


@pytest.fixture
def admin_api(runtime):
    """Call the admin API handler (POST /v1/catalog/products, GET /v1/catalog/products/...)."""
    from functions.admin_api import handler

    return json_api(handler, "admin_api", "admin_local_key")


@pytest.fixture
def send(intake, runtime):
    """Post events as a channel system, then let the local runtime drain the queues."""

    def post(key: str, *messages: dict[str, Any], run: bool = True) -> None:
        answer = intake("/v1/batch", {"batch": list(messages)}, key=key)
        assert answer.status == 200 and "rejected" not in answer.json(), answer.body
        if run:
            runtime.run()

    return post


@pytest.fixture
def profile(profiles_api):
    """GET a profile by identifier; None when 404."""

    def get(kind: str, value: str) -> dict[str, Any] | None:
        from urllib.parse import quote

        answer = profiles_api("GET", f"/v1/profiles/{kind}/{quote(value, safe='')}")
        if answer.status == 404:
            return None
        assert answer.status == 200, answer.body
        return answer.json()

    return get


@pytest.fixture
def intents(runtime):
    """Message intents waiting on the intents queue (they stay there), decoded, oldest first.
    Tests of the triggers use it: the dispatcher is detached, so intents are not consumed."""
    from asusual.store.queues import decode_intent

    runtime.consumers.pop("intents", None)

    def read() -> list:
        found = [decode_intent(m["Body"]) for m in runtime.peek("intents", limit=5000)]
        return sorted(found, key=lambda i: i.created_at)  # stable: queue order within an instant

    return read


@pytest.fixture
def at(runtime):
    """Move the local clock to an ISO instant and run what is due (sweeps, queues)."""
    from datetime import datetime

    def move(instant: str) -> dict:
        runtime.clock.set(datetime.fromisoformat(instant.replace("Z", "+00:00")))
        return runtime.run()

    return move


@pytest.fixture
def outbox(runtime):
    """Messages the dispatcher delivered (local outbox records, design.md 3.2), in send order."""
    return runtime.outbox.records


@pytest.fixture
def decide_api(runtime):
    """Call the decide API handler (POST /v1/decide) with the read key."""
    from functions.decide_api import handler

    return json_api(handler, "decide_api", "read_local_key")


@pytest.fixture
def messages_api(runtime):
    """Call the messages API handler (why, message log, unsubscribe) with the read key."""
    from functions.messages_api import handler

    return json_api(handler, "messages_api", "read_local_key")


@pytest.fixture
def log_text(capsys, caplog):
    """Everything written while the test runs: the package logger at DEBUG (its own stream),
    the root logger at DEBUG (caplog), stdout and stderr (metrics, the gateway's threads)."""
    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)
    level = logger.log_level
    logger.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        out, err = capsys.readouterr()
        return "\n".join((stream.getvalue(), caplog.text, out, err))

    yield text
    handler.setStream(previous)
    logger.setLevel(level)


@pytest.fixture
def no_aws(monkeypatch):
    """A backtest must not build a DynamoDB client (nor read AWS settings)."""
    from asusual import cli

    def refuse(*_args, **_kwargs):
        raise AssertionError("the backtest touched AWS")

    monkeypatch.setattr(cli.clients, "dynamodb", refuse)
    monkeypatch.setattr(cli, "DynamoAccessRepository", refuse)
