"""A small HTTP gateway: turns each request into the API Gateway HTTP API (payload 2.0) event
that AWS would send, invokes the same Lambda handler, and writes its answer back. Plus the
local-only routes (admin key): /_local/clock, /_local/run, /_local/outbox, and /openapi.json.

A request that matches no route, whatever its method (HEAD, TRACE, a made-up token, or OPTIONS
outside the routes pages call), is answered as API Gateway answers it: 404
``{"message":"Not Found"}`` (HEAD: no body)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from asusual.access.keys import key_from_authorization
from asusual.access.models import KeyScope
from asusual.access.service import authenticate
from asusual.errors import AsusualError, BadRequest
from asusual.local.functions import API_FUNCTIONS, LocalFunction
from asusual.local.openapi import document
from asusual.local.runtime import ACCOUNT, LocalRuntime

MAX_BODY = 6 * 1024 * 1024  # API Gateway's Lambda payload limit
# The methods the API functions' routes use (their resolvers; docs/openapi.json); a request with
# another one matches no route. Within a function's paths the function answers for itself.
API_METHODS = frozenset(method for function in API_FUNCTIONS for method, _rule in function.routes())
NOT_FOUND_BODY = b'{"message":"Not Found"}'  # API Gateway HTTP API, when no route matches


def api_gateway_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The HTTP API payload-2.0 event for one request (bodies always base64, as for binary)."""
    parts = urlsplit(target)
    lowered = {k.lower(): v for k, v in headers.items()}
    now_ms = int(time.time() * 1000)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
            "timeEpoch": now_ms,
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


class LocalGateway:
    def __init__(self, runtime: LocalRuntime, host: str = "127.0.0.1", port: int = 8787) -> None:
        self.runtime = runtime
        self.server = ThreadingHTTPServer((host, port), _handler_class(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        runtime.set_public_url(self.url)  # why and unsubscribe links point here, whatever the port

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalGateway:
        self._thread = threading.Thread(target=self.server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- routing -------------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        """Every request, whatever its method: a local route, an API function, or API Gateway's 404.
        ``source_ip``: the client's address, as API Gateway gives it (a page's visitor is located by
        it, asusual.intake.service.located)."""
        path = urlsplit(target).path
        if path.startswith("/_local/") or path == "/openapi.json":
            return self._local(method, path, headers, body)
        function = self._function_for(method, path) if method in API_METHODS else None
        if function is None:
            return no_route()
        event = api_gateway_event(method, target, headers, body, source_ip=source_ip)
        result = self.runtime.invoke(function.name, function.handler, event)
        return _from_lambda(result)

    @staticmethod
    def _function_for(method: str, path: str) -> LocalFunction | None:
        return next((f for f in API_FUNCTIONS if f.serves(method, path)), None)

    def _local(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        routes: dict[tuple[str, str], Callable[[bytes], Any]] = {
            ("GET", "/openapi.json"): lambda _b: document(),
            ("GET", "/_local/health"): lambda _b: {"ok": True},
            ("GET", "/_local/clock"): lambda _b: self._clock_view(),
            ("POST", "/_local/clock"): self._set_clock,
            ("POST", "/_local/run"): lambda _b: self.runtime.run(),
            ("GET", "/_local/outbox"): lambda _b: self.runtime.outbox.records(),
        }
        route = routes.get((method, path))
        if route is None:
            return no_route()
        try:
            if path not in ("/openapi.json", "/_local/health"):
                authorization = {k.lower(): v for k, v in headers.items()}.get("authorization")
                authenticate(
                    key_from_authorization(authorization),
                    self.runtime.access_repository(),
                    now=self.runtime.clock.now(),
                    allowed=(KeyScope.ADMIN,),
                )
            return _json(HTTPStatus.OK, route(body))
        except AsusualError as exc:
            return _json(exc.status, {"code": exc.code, "message": exc.message})

    def _clock_view(self) -> dict[str, Any]:
        return {"now": self.runtime.clock.now().isoformat(), "frozen": self.runtime.clock.frozen}

    def _set_clock(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body or b"{}")
            instant = datetime.fromisoformat(str(payload["now"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(
                'now: required, an ISO-8601 instant with offset, e.g. {"now": "2026-12-01T09:00:00Z"}'
            ) from exc
        if instant.tzinfo is None:
            raise BadRequest("now: needs a UTC offset (Z or +03:00)")
        frozen = payload.get("frozen")
        if frozen is not None and not isinstance(frozen, bool):
            raise BadRequest("frozen: must be true or false")
        self.runtime.clock.set(instant, frozen=frozen)
        return self._clock_view()


def no_route() -> tuple[int, dict[str, str], bytes]:
    """What API Gateway HTTP API answers a request that matches none of its routes."""
    return int(HTTPStatus.NOT_FOUND), {"Content-Type": "application/json"}, NOT_FOUND_BODY


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return int(status), {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()


def _from_lambda(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    return int(result.get("statusCode", 200)), headers, raw


def _handler_class(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "asusual-local"

        def handle_one_request(self) -> None:
            """BaseHTTPRequestHandler's, except that every method goes to :meth:`_serve` (it would
            answer a method without a ``do_`` method 501 in HTML, which API Gateway never does)."""
            try:
                self.raw_requestline = self.rfile.readline(65537)
                if len(self.raw_requestline) > 65536:
                    self.requestline = self.request_version = self.command = ""
                    self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                    return
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                if not self.parse_request():
                    return  # parse_request answered already
                self._serve()
                self.wfile.flush()
            except TimeoutError:
                self.close_connection = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                status, headers, payload = _json(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {"code": "body_too_large", "message": "body: over 6 MB"},
                )
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, payload = gateway.handle(
                        self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                    )
                except Exception:  # the gateway itself failed, as API Gateway would answer
                    status, headers, payload = _json(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        {"code": "internal_error", "message": "internal error"},
                    )
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has the headers of the body, not the body
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the handlers log (JSON, powertools); no duplicate access log

    return Handler
