"""profiles_api: what channels read to greet and prefill (read key); unmerge and the privacy
requests, export and erasure (admin key)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.service import CachedKeyLookup
from asusual.api import (
    KEY_SECURITY,
    error_responses,
    json_request_body,
    make_resolver,
    parse_body,
    require_key,
)
from asusual.identity.extract import lookup_identifier
from asusual.identity.models import Identifier
from asusual.observability import MetricUnit, logger, metrics, tracer
from asusual.privacy.models import ErasureRecord, PersonalData
from asusual.privacy.service import erase, export, lift_suppression
from asusual.profiles.processor import read_profile, unmerge
from asusual.profiles.view import ProfileView, TenurePolicy
from asusual.segments.live import CachedDefinitions, LiveMembership
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.privacy import DynamoPrivacyRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.segments import cached_definitions, live_membership

app = make_resolver()
_ERRORS = error_responses(
    HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND
)


class UnmergeRequest(BaseModel):
    merged_profile_id: str = Field(min_length=1, max_length=64, description="the profile absorbed by a merge")


class UnmergeResponse(BaseModel):
    profile_id: str
    restored_profile_id: str


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ("suppression_secrets_arn|suppression_secrets",)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoProfileRepository, TenurePolicy, DynamoPrivacyRepository]:
    settings = get_settings()
    db = clients.dynamodb()
    tenure = TenurePolicy(
        returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
    )
    privacy = DynamoPrivacyRepository(
        db, settings.table_name, deferred_lookback=timedelta(hours=settings.deferred_lookback_hours)
    )
    return cached_key_lookup(), DynamoProfileRepository(db, settings.table_name), tenure, privacy


@cache
def segments() -> tuple[CachedDefinitions, LiveMembership]:
    """The segment definitions (cached): what a profile shows membership of, and what an unmerge
    re-evaluates both profiles with."""
    definitions = cached_definitions()
    return definitions, live_membership(definitions)


def _admin_request(identifier_type: str, value: str) -> tuple[str, Identifier, DynamoPrivacyRepository]:
    """A privacy request: the admin caller's key id, the identifier (API Gateway hands the raw
    path over), the repository."""
    keys, _, _, privacy = dependencies()
    principal = require_key(app, keys, (KeyScope.ADMIN,), clock.now())
    identifier = lookup_identifier(unquote(identifier_type), unquote(value), get_settings().default_country)
    return principal.key_id, identifier, privacy


@app.get(
    "/v1/profiles/<identifier_type>/<value>",
    summary="The profile of a customer, found by any of their identifiers",
    description="identifier_type: user_id, anonymous_id, email, phone, device_id or an externalIds type "
    "(e.g. loyalty_card). Phone numbers in any national format; the same person gives the same profile_id.",
    operation_id="getProfile",
    tags=["profiles"],
    security=KEY_SECURITY,
    responses=_ERRORS,
)
def get_profile(identifier_type: str, value: str) -> ProfileView:
    keys, repo, tenure, _ = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    # API Gateway hands the raw path over: "anna%40example.com", "%2B7%20916..."
    identifier = lookup_identifier(unquote(identifier_type), unquote(value), get_settings().default_country)
    return read_profile(repo, identifier, tenure, segments()[0].live)


@app.get(
    "/v1/profiles/<identifier_type>/<value>/export",
    summary="Everything held about a customer, as JSON (an access request: GDPR art. 15, 152-FZ art. 14)",
    description="The person's profile and every profile merged into it, consent records, identifiers, "
    "orders, reminders, the message log with each explanation, deferred messages: every stored item, "
    "grouped by kind.",
    operation_id="exportProfile",
    tags=["privacy"],
    security=KEY_SECURITY,
    responses=_ERRORS,
)
def get_export(identifier_type: str, value: str) -> PersonalData:
    key_id, identifier, privacy = _admin_request(identifier_type, value)
    data = export(privacy, identifier, now=clock.now())
    # counts only (a kind such as "birthday" is a field name the log filter blanks)
    logger.info("personal data exported", key_id=key_id, items=sum(data.counts.values()))
    return data


@app.delete(
    "/v1/profiles/<identifier_type>/<value>",
    summary="Erase a customer (GDPR art. 17, 152-FZ art. 21): delete everything held, suppress their "
    "identifiers",
    description="Deletes the profile and every profile merged into it, identifiers, consent records, "
    "orders, reminders, birthday entry, caps, the message log with explanations and deferred messages; "
    "later events naming any of the person's identifiers are dropped and counted. Answers the audit "
    "record, which holds no personal data. Repeating the request answers the same record (or finishes "
    "an erasure a timeout interrupted).",
    operation_id="eraseProfile",
    tags=["privacy"],
    security=KEY_SECURITY,
    responses=_ERRORS,
)
def delete_profile(identifier_type: str, value: str) -> ErasureRecord:
    key_id, identifier, privacy = _admin_request(identifier_type, value)
    record = erase(privacy, identifier, clock_now=clock.now, requested_by=key_id)
    metrics.add_metric(name="ProfilesErased", unit=MetricUnit.Count, value=record.profiles)
    logger.info(
        "profile erased",
        erasure_id=record.erasure_id,
        key_id=key_id,
        profiles=record.profiles,
        identifiers_suppressed=record.identifiers_suppressed,
        items_deleted=sum(record.deleted.values()),
    )
    return record


@app.delete(
    "/v1/profiles/<identifier_type>/<value>/suppression",
    summary="Let an erased identifier in again (the customer came back and asks to be known)",
    description="Only this identifier: later events naming it create or update a profile again. "
    "Nothing erased comes back. 404 when the identifier is not suppressed.",
    operation_id="liftSuppression",
    tags=["privacy"],
    security=KEY_SECURITY,
    responses=_ERRORS,
)
def delete_suppression(identifier_type: str, value: str) -> Response[str]:
    key_id, identifier, privacy = _admin_request(identifier_type, value)
    lift_suppression(privacy, identifier)
    logger.info("suppression lifted", key_id=key_id, identifier_type=identifier.kind)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.post(
    "/v1/profiles/<profile_id>/unmerge",
    summary="Undo a merge: both profiles as they would be without it, kept apart from then on",
    operation_id="unmergeProfile",
    tags=["profiles"],
    security=KEY_SECURITY,
    responses=_ERRORS,
    openapi_extensions=json_request_body(UnmergeRequest, "the profile a merge absorbed"),
)
def post_unmerge(profile_id: str) -> UnmergeResponse:
    keys, repo, _, _ = dependencies()
    require_key(app, keys, (KeyScope.ADMIN,), clock.now())
    request = parse_body(app, UnmergeRequest)  # after the key: a stranger learns nothing from the body
    kept, restored = unmerge(
        repo, profile_id, request.merged_profile_id, now=clock.now(), segments=segments()[1]
    )
    return UnmergeResponse(profile_id=kept, restored_profile_id=restored)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
