"""messages_api: why a message was sent (its signed link, or a read key), a profile's message
log (read key), and one-click unsubscribe (RFC 8058: POST from the mail client, or the page a
person opens from the link)."""

from __future__ import annotations

import html
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.service import CachedKeyLookup
from asusual.api import KEY_SECURITY, error_responses, make_resolver, require_key
from asusual.delivery.explain import (
    MessageLog,
    WhyView,
    explain,
    message_log,
    unsubscribe_claims,
    unsubscribe_event,
)
from asusual.errors import AsusualError
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.messages import DynamoMessageRepository
from asusual.store.queues import SqsEventPublisher
from asusual.store.secrets import link_secrets

app = make_resolver()


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("events_queue_url", "public_base_url", "link_secrets_arn|link_secrets")
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoMessageRepository, SqsEventPublisher]:
    settings = get_settings()
    return (
        cached_key_lookup(),
        DynamoMessageRepository(clients.dynamodb(), settings.table_name),
        SqsEventPublisher(clients.sqs(), settings.events_queue_url, workers=1),
    )


@app.get(
    "/v1/messages/<message_id>/why",
    summary="Why a message was sent: trigger, facts, consent basis, cap state, variant chosen",
    description="Open with the signed `token` of the message's own link (customers), or with a read key "
    "(channel systems, support).",
    operation_id="whyMessage",
    tags=["messages"],
    security=[*KEY_SECURITY, {}],
    responses=error_responses(HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND),
)
def get_why(message_id: str, token: Annotated[str | None, Query(max_length=2048)] = None) -> WhyView:
    keys, repo, _ = dependencies()
    now = clock.now()
    if token is None:
        require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), now)
    return explain(repo, message_id, token=token, secrets=link_secrets(), now=now)


@app.get(
    "/v1/messages",
    summary="A profile's message log, newest first",
    operation_id="messageLog",
    tags=["messages"],
    security=KEY_SECURITY,
    responses=error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN),
)
def get_messages(
    profile_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MessageLog:
    keys, repo, _ = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    return message_log(repo, profile_id, limit)


def _page(title: str, text: str, status: int = 200, form_token: str | None = None) -> Response[str]:
    form = (
        f'<form method="post" action="/v1/unsubscribe?token={html.escape(form_token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Отписаться / Unsubscribe</button></form>'
        if form_token
        else ""
    )
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return Response(status_code=status, content_type=content_types.TEXT_HTML, body=body)


@app.get(
    "/v1/unsubscribe",
    summary="The page an unsubscribe link opens: it asks to confirm (a GET never unsubscribes)",
    operation_id="unsubscribePage",
    tags=["messages"],
    security=[{}],
)
def get_unsubscribe(token: Annotated[str, Query(min_length=1, max_length=2048)]) -> Response[str]:
    try:
        claims = unsubscribe_claims(token, link_secrets(), clock.now())
    except AsusualError as exc:
        return _page("Ссылка недействительна / Link not valid", exc.message, exc.status)
    return _page(
        "Отписаться от рассылки? / Unsubscribe?",
        f"{claims.topic} · {claims.channel}",
        form_token=token,
    )


@app.post(
    "/v1/unsubscribe",
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post): the message's channel and topic off",
    description="The change is applied by the event processor, stamped with the time of the click and "
    "the source `unsubscribe_link`; the same link posted again changes nothing more.",
    operation_id="unsubscribe",
    tags=["messages"],
    security=[{}],
)
def post_unsubscribe(token: Annotated[str, Query(min_length=1, max_length=2048)]) -> Response[str]:
    _, repo, events = dependencies()
    now = clock.now()
    try:
        claims, change = unsubscribe_event(repo, token, link_secrets(), now)
        if change is not None:
            events.publish([change])
    except AsusualError as exc:
        if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise
        return _page("Ссылка недействительна / Link not valid", exc.message, exc.status)
    metrics.add_metric(name="Unsubscribed", unit=MetricUnit.Count, value=1)
    logger.info("unsubscribed", message_id=claims.message_id, channel=claims.channel, topic=claims.topic)
    return _page("Вы отписаны / You are unsubscribed", f"{claims.topic} · {claims.channel}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
