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
from asusual.delivery.confirmation import open_confirmation
from asusual.delivery.explain import (
    MessageLog,
    WhyView,
    explain,
    message_log,
    unsubscribe_claims,
    unsubscribe_event,
)
from asusual.delivery.links import CONFIRM_CONSENT_PATH
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


# -- confirmed opt-in: the link of a consent_confirmation message --------------------------------
# The GET (or a link scanner's HEAD, which no route answers) only shows a page that asks; the POST
# confirms: the consent event goes to the events queue (the event processor is the only writer of
# profiles). A forged or expired link gets a page saying so, and nothing changes.

_CONFIRM_TEXT = {
    "ru": {
        "ask_title": "Подтвердите подписку",
        "ask_email": "Подтвердите, что хотите получать наши новости и предложения на этот адрес.",
        "ask_sms": "Подтвердите, что хотите получать наши новости и предложения по SMS на этот номер.",
        "button": "Подтвердить подписку",
        "done_title": "Подписка подтверждена",
        "done": "Спасибо! Отписаться можно в любой момент по ссылке в каждом сообщении.",
        "invalid_title": "Ссылка недействительна",
        "invalid": "Ссылка устарела или повреждена, ничего не изменилось. Чтобы подписаться, оставьте "
        "адрес на сайте ещё раз: мы пришлём новую ссылку.",
    },
    "en": {
        "ask_title": "Confirm your subscription",
        "ask_email": "Please confirm that you want to receive our news and offers at this address.",
        "ask_sms": "Please confirm that you want to receive our news and offers by text at this number.",
        "button": "Confirm my subscription",
        "done_title": "Subscription confirmed",
        "done": "Thank you! You can unsubscribe at any time with the link in every message.",
        "invalid_title": "This link is not valid",
        "invalid": "The link has expired or is damaged, and nothing has changed. To subscribe, leave "
        "your address on the site again: we will send you a new link.",
    },
}


def _confirm_locale(message_locale: str | None) -> str:
    """The message's locale; for a link that opens no message, the browser's first language."""
    wanted = message_locale or app.current_event.headers.get("accept-language") or ""
    return "en" if wanted.strip().lower().startswith("en") else "ru"


def _confirm_page(
    locale: str, title: str, text: str, status: int = 200, token: str | None = None
) -> Response[str]:
    words = _CONFIRM_TEXT[locale]
    form = (
        f'<form method="post" action="{CONFIRM_CONSENT_PATH}?token={html.escape(token)}">'
        f'<button type="submit">{html.escape(words["button"])}</button></form>'
        if token
        else ""
    )
    body = (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</main></body></html>"
    )
    return Response(
        status_code=status,
        content_type=content_types.TEXT_HTML,
        body=body,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _invalid_confirmation(exc: AsusualError) -> Response[str]:
    if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise exc
    words = _CONFIRM_TEXT[_confirm_locale(None)]
    return _confirm_page(_confirm_locale(None), words["invalid_title"], words["invalid"], exc.status)


@app.get(
    "/v1/consent/confirm",  # CONFIRM_CONSENT_PATH, as a literal: infra/routes.py reads it
    summary="The page a confirmation link opens: it asks to confirm the subscription (a GET changes nothing)",
    operation_id="confirmConsentPage",
    tags=["messages"],
    security=[{}],
)
def get_confirm_consent(token: Annotated[str, Query(min_length=1, max_length=2048)]) -> Response[str]:
    _, repo, _ = dependencies()
    try:
        confirmation = open_confirmation(repo, token, link_secrets(), clock.now())
    except AsusualError as exc:
        return _invalid_confirmation(exc)
    locale = _confirm_locale(confirmation.locale)
    words = _CONFIRM_TEXT[locale]
    ask = words["ask_sms"] if confirmation.claims.channel == "sms" else words["ask_email"]
    return _confirm_page(locale, words["ask_title"], ask, token=token)


@app.post(
    "/v1/consent/confirm",
    summary="Confirm the subscription a confirmation link asks about (confirmed opt-in)",
    description="The consent is granted by the event processor from the source `consent_confirmation`, "
    "stamped right after the opt-in it confirms: a withdrawal made since still wins. The same link "
    "confirmed again changes nothing more.",
    operation_id="confirmConsent",
    tags=["messages"],
    security=[{}],
)
def post_confirm_consent(token: Annotated[str, Query(min_length=1, max_length=2048)]) -> Response[str]:
    _, repo, events = dependencies()
    try:
        confirmation = open_confirmation(repo, token, link_secrets(), clock.now())
        if confirmation.event is not None:
            events.publish([confirmation.event])
    except AsusualError as exc:
        return _invalid_confirmation(exc)
    metrics.add_metric(name="ConsentConfirmed", unit=MetricUnit.Count, value=1)
    logger.info(
        "consent confirmed", message_id=confirmation.claims.message_id, channel=confirmation.claims.channel
    )
    locale = _confirm_locale(confirmation.locale)
    words = _CONFIRM_TEXT[locale]
    return _confirm_page(locale, words["done_title"], words["done"])
