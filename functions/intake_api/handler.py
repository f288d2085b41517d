"""intake_api: the Segment-compatible HTTP intake (design.md 3.1).

Authenticates the write key, validates each message, enqueues the valid ones on the events queue.
No profile work here: the event processor does that from the queue.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access.identity import IdentityVerifier
from asusual.access.origins import PublicOrigins
from asusual.access.service import CachedKeyLookup
from asusual.access.throttle import RateLimiter
from asusual.api import KEY_SECURITY, error_responses, json_request_body, make_resolver
from asusual.intake.models import EventType, IntakeResponse, SegmentBatch, SegmentMessage
from asusual.intake.service import IntakeRequest, Limits, ingest
from asusual.iplocation import Locator
from asusual.observability import logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients, geoip, secrets
from asusual.store.access import cached_key_lookup, public_origins
from asusual.store.queues import SqsEventPublisher

_RESPONSES: dict[int, Any] = {
    200: {
        "description": "Valid messages are durably enqueued; invalid ones are listed in `rejected`.",
        "content": {"application/json": {"model": IntakeResponse}},
    },
    **error_responses(
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
}


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start;
# the link secrets derive each public source's identity secret (signed user ids, asusual.access.identity)
REQUIRED_SETTINGS: tuple[str, ...] = ("events_queue_url", "link_secrets_arn|link_secrets")
get_settings().require(*REQUIRED_SETTINGS)
# a database that is set but does not open refuses to start the function (asusual.store.geoip)
geoip.locator(get_settings().geoip_database)


@cache
def dependencies() -> tuple[
    CachedKeyLookup, SqsEventPublisher, RateLimiter, Limits, PublicOrigins, IdentityVerifier, Locator | None
]:
    settings = get_settings()
    keys = cached_key_lookup()
    publisher = SqsEventPublisher(clients.sqs(), settings.events_queue_url, workers=settings.sqs_send_workers)
    return (
        keys,
        publisher,
        RateLimiter(),
        Limits(rate=settings.default_rate_limit, burst=settings.default_burst),
        public_origins(),
        IdentityVerifier(secrets.link_secrets),  # read only when a signed identify arrives
        geoip.locator(settings.geoip_database),
    )


app = make_resolver(origins=lambda: dependencies()[4])  # pages post here (public sources)


def _ingest(kind: EventType | None, *, key_in_query: bool = False) -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    keys, publisher, limiter, limits, _origins, identities, locator = dependencies()
    result = ingest(
        IntakeRequest(
            kind=kind,
            body=body,
            content_encoding=event.headers.get("content-encoding"),
            authorization=event.headers.get("authorization"),
            origin=event.headers.get("origin"),
            query_key=event.query_string_parameters.get("writeKey") if key_in_query else None,
            client_ip=event.request_context.http.get("sourceIp"),
        ),
        keys=keys,
        publisher=publisher,
        limiter=limiter,
        default_limits=limits,
        identities=identities,
        locator=locator,
        now=clock.now(),
    )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=result.model_dump_json(exclude_none=True),
    )


# what every intake route answers and how it authenticates; pages call every one (cors)
_INTAKE: dict[str, Any] = {
    "tags": ["intake"],
    "responses": _RESPONSES,
    "security": KEY_SECURITY,
    "cors": True,
}


@app.post(
    "/v1/batch",
    summary="Send up to 2,500 messages of any type (what analytics-python calls)",
    operation_id="batch",
    openapi_extensions=json_request_body(SegmentBatch, "Segment batch; gzip accepted (Content-Encoding)"),
    **_INTAKE,
)
@app.post(
    "/v1/b",
    summary="Send a batch as Segment's browser SDK (analytics-next) does when batching",
    operation_id="batch_short",
    openapi_extensions=json_request_body(SegmentBatch, "Segment batch (any content type: text/plain too)"),
    **_INTAKE,
)
def batch() -> Response[str]:
    return _ingest(None)


@app.post(
    "/beacon/v1/batch",
    summary="Send a batch as RudderStack's JS SDK does in beacon mode: text/plain, key in ?writeKey=",
    operation_id="beacon_batch",
    openapi_extensions=json_request_body(SegmentBatch, "Segment batch sent by navigator.sendBeacon"),
    **_INTAKE,
)
def beacon_batch() -> Response[str]:
    return _ingest(None, key_in_query=True)


def _single(kind: EventType) -> Callable[[], Response[str]]:
    def route() -> Response[str]:
        return _ingest(kind)

    return route


# one route per Segment call type, as the message model declares them (infra reads this loop too),
# and the first letter of each, where Segment's browser SDK (analytics-next) posts it: /v1/i, /v1/t …
for _kind in EventType:
    _described = json_request_body(SegmentMessage, f"one Segment {_kind.value} message")
    app.post(
        f"/v1/{_kind.value}",
        summary=f"Send one {_kind.value} message",
        operation_id=_kind.value,
        openapi_extensions=_described,
        **_INTAKE,
    )(_single(_kind))
    app.post(
        f"/v1/{_kind.value[0]}",
        summary=f"Send one {_kind.value} message (analytics-next's path)",
        operation_id=f"{_kind.value}_short",
        openapi_extensions=_described,
        **_INTAKE,
    )(_single(_kind))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
