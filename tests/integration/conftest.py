from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext
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
