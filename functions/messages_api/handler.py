"""messages_api: why a message was sent (its signed link, or a read key; HTML for a browser, JSON
for API clients), a profile's message log (read key), the preference center, unsubscribe (RFC
8058: POST from the mail client, or the page a person opens from the link) with its undo, and the
confirmation of an opt-in (the link of a consent_confirmation message)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.service import CachedKeyLookup
from asusual.api import (
    KEY_SECURITY,
    error_responses,
    html_responses,
    json_response,
    make_resolver,
    raw_body,
    require_key,
)
from asusual.delivery.explain import UNSUBSCRIBE_SOURCE, MessageLog, WhyView, explain, message_log
from asusual.delivery.links import LinkSigner
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.pages import service as pages
from asusual.pages.render import Look
from asusual.pages.requests import default_locale, wants_html
from asusual.profiles.consent import CONFIRMATION_SOURCE
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.queues import SqsEventPublisher
from asusual.store.secrets import link_secrets

T = TypeVar("T")
app = make_resolver()
HTML = f"{content_types.TEXT_HTML}; charset=utf-8"
PAGE_ANSWER = "The page (HTML); 400 naming a field a form got wrong, 403 for a link that is not ours"
# other page changes: PreferencesChanged
CHANGE_METRIC = {UNSUBSCRIBE_SOURCE: "Unsubscribed", CONFIRMATION_SOURCE: "ConsentConfirmed"}
TOKEN = Annotated[str, Query()]  # any length, or none: a link that does not open answers the 403 page


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("events_queue_url", "public_base_url", "link_secrets_arn|link_secrets")
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoMessageRepository, pages.PageDeps]:
    settings = get_settings()
    db = clients.dynamodb()
    messages = DynamoMessageRepository(db, settings.table_name)
    return (
        cached_key_lookup(),
        messages,
        pages.PageDeps(
            messages=messages,
            profiles=DynamoProfileRepository(db, settings.table_name),
            events=SqsEventPublisher(clients.sqs(), settings.events_queue_url, workers=1),
            links=LinkSigner(
                base_url=settings.public_base_url,
                secrets=link_secrets(),
                ttl=timedelta(days=settings.link_ttl_days),
            ),
            look=Look(retailer=settings.retailer_name, brand=settings.brand_color),
            default_locale=default_locale(settings.default_locale, settings.default_country),
            undo_ttl=timedelta(hours=settings.undo_ttl_hours),
        ),
    )


def _header(name: str) -> str | None:
    value = app.current_event.headers.get(name)
    return value if isinstance(value, str) else None


def _serve(
    use_case: Callable[[pages.PageDeps, T, str | None, datetime], pages.Page], given: T
) -> Response[str]:
    """One page use case with the function's dependencies, the browser's language and now."""
    return _answer(use_case(dependencies()[2], given, _header("accept-language"), clock.now()))


def _answer(page: pages.Page) -> Response[str]:
    if page.change is not None:
        source = page.change.source.source_id
        metrics.add_metric(
            name=CHANGE_METRIC.get(source, "PreferencesChanged"), unit=MetricUnit.Count, value=1
        )
        logger.info("consent changed on a page", event_message_id=page.change.message_id, source=source)
    return Response(
        status_code=page.status,
        content_type=HTML,
        body=page.html,
        headers=dict(page.headers),
    )


@app.get(
    "/v1/messages/<message_id>/why",
    summary="Why a message was sent: trigger, facts, consent basis, cap state, variant chosen",
    description="Open with the signed `token` of the message's own link (customers), or with a read key "
    "(channel systems, support). With a token and `Accept` preferring `text/html` (a browser) the answer "
    "is the page the customer reads, in the message's language, without internal ids (a link that does not "
    "open answers an HTML 403 too); otherwise the explanation record as JSON.",
    operation_id="whyMessage",
    tags=["messages"],
    security=[*KEY_SECURITY, {}],
    responses={
        **html_responses(HTTPStatus.OK, "The explanation record (JSON), or the page (HTML)", WhyView),
        **error_responses(HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND),
    },
)
def get_why(message_id: str, token: Annotated[str | None, Query()] = None) -> Response[str]:
    now = clock.now()
    keys, repo, deps = dependencies()
    if token is not None and wants_html(_header("accept")):
        return _answer(pages.why_page(deps, message_id, token, _header("accept-language"), now))
    if token is None:
        require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), now)
    return json_response(explain(repo, message_id, token=token, secrets=deps.links.secrets, now=now))


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


# what every page route declares: no key (its link's token is the credential), an HTML answer; a
# page is opened or its form posted by the browser itself (navigation, not fetch): no CORS
_PAGE: dict[str, Any] = {
    "tags": ["messages"],
    "security": [{}],
    "responses": html_responses(HTTPStatus.OK, PAGE_ANSWER),
}


@app.get(
    "/v1/unsubscribe",
    summary="The page an unsubscribe link opens: it asks to confirm (a GET never unsubscribes)",
    operation_id="unsubscribePage",
    **_PAGE,
)
def get_unsubscribe(token: TOKEN = "") -> Response[str]:
    return _serve(pages.unsubscribe_page, token)


@app.post(
    "/v1/unsubscribe",
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post): the message's channel and topic off",
    description="The change is applied by the event processor, stamped with the time of the click and "
    "the source `unsubscribe_link`. A genuine link works however old it is (unsubscribing is never "
    "refused); the done page offers a short-lived undo.",
    operation_id="unsubscribe",
    **_PAGE,
)
def post_unsubscribe(token: TOKEN = "") -> Response[str]:
    return _serve(pages.unsubscribe, token)


@app.post(
    "/v1/resubscribe",
    summary="The undo of an unsubscribe: its channel and topic on again (the done page's form)",
    description="A form post (`application/x-www-form-urlencoded`) whose `token` the unsubscribe done page "
    "issued; it expires after `ASUSUAL_UNDO_TTL_HOURS`. The change comes from the source "
    "`preference_center`.",
    operation_id="resubscribe",
    **_PAGE,
)
def post_resubscribe() -> Response[str]:
    return _serve(pages.resubscribe, raw_body(app))


@app.get(
    "/v1/preferences",
    summary="The preference center: every channel and topic with its state (a GET changes nothing)",
    operation_id="preferencesPage",
    **_PAGE,
)
def get_preferences(token: TOKEN = "") -> Response[str]:
    return _serve(pages.preferences_page, token)


@app.post(
    "/v1/preferences",
    summary="Save the preference center's form: marketing on or off per channel",
    description="A form post (`application/x-www-form-urlencoded`): `token` (the page's), "
    "`<channel>.marketing` = `on`|`off` (the last of a hidden `off` and a checkbox's `on`), or `all=off`. "
    "Each change becomes a consent record with the source `preference_center`; an expired link may only "
    'turn things off. The token is the only authority (docs/privacy.md, "Pages and links").',
    operation_id="savePreferences",
    **_PAGE,
)
def post_preferences() -> Response[str]:
    return _serve(pages.change_preferences, raw_body(app))


@app.get(
    "/v1/consent/confirm",
    summary="The page a confirmation link opens: it asks to confirm the subscription (a GET changes nothing)",
    operation_id="confirmConsentPage",
    **_PAGE,
)
def get_confirm_consent(token: TOKEN = "") -> Response[str]:
    return _serve(pages.confirm_page, token)


@app.post(
    "/v1/consent/confirm",
    summary="Confirm the subscription a confirmation link asks about (confirmed opt-in)",
    description="The consent is granted by the event processor from the source `consent_confirmation`, "
    "stamped right after the opt-in it confirms: a withdrawal made since still wins. The same link "
    "confirmed again changes nothing more.",
    operation_id="confirmConsent",
    **_PAGE,
)
def post_confirm_consent(token: TOKEN = "") -> Response[str]:
    return _serve(pages.confirm, token)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
