"""Call any API route as the local gateway and API Gateway do: the function that serves the path
(asusual.local.functions) gets the HTTP API event, with the key as Bearer, Basic or none."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from asusual.local.functions import API_FUNCTIONS
from asusual.local.gateway import api_gateway_event
from tests.integration.conftest import Answer, basic

Auth = Literal["bearer", "basic"]


def authorization(key: str, auth: Auth = "bearer") -> str:
    return f"Bearer {key}" if auth == "bearer" else basic(key)


def event_for(
    method: str, target: str, *, key: str | None = None, body: Any = None, auth: Auth = "bearer"
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = authorization(key, auth)
    raw = json.dumps(body).encode() if body is not None else b""
    return api_gateway_event(method, target, headers, raw)


def as_text_body(event: dict[str, Any]) -> dict[str, Any]:
    """The event as API Gateway sends a JSON request: the body as text, not base64."""
    return {**event, "body": base64.b64decode(event["body"]).decode(), "isBase64Encoded": False}


def invoke(runtime: Any, event: dict[str, Any]) -> Answer:
    path = event["rawPath"]
    method = event["requestContext"]["http"]["method"]
    function = next((f for f in API_FUNCTIONS if f.serves(method, path)), None)
    assert function is not None, f"no function serves {path} (no API handler declares a route under it)"
    result = runtime.invoke(function.name, function.handler, event)
    return Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())


def call(
    runtime: Any,
    method: str,
    target: str,
    *,
    key: str | None = None,
    body: Any = None,
    auth: Auth = "bearer",
) -> Answer:
    return invoke(runtime, event_for(method, target, key=key, body=body, auth=auth))
