"""profiles_api: what channels read to greet and prefill (read key), and unmerge (admin key)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.service import CachedKeyLookup
from asusual.api import error_responses, make_resolver, require_key
from asusual.identity.extract import lookup_identifier
from asusual.observability import logger, metrics, tracer
from asusual.profiles.processor import read_profile, unmerge
from asusual.profiles.view import ProfileView, TenurePolicy
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.profiles import DynamoProfileRepository

app = make_resolver()
_SECURITY: list[dict[str, list[str]]] = [{"keyBearer": []}, {"keyBasic": []}]
_ERRORS = error_responses(
    HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND
)


class UnmergeRequest(BaseModel):
    merged_profile_id: str = Field(min_length=1, max_length=64, description="the profile absorbed by a merge")


class UnmergeResponse(BaseModel):
    profile_id: str
    restored_profile_id: str


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoProfileRepository, TenurePolicy]:
    settings = get_settings()
    keys = cached_key_lookup()
    tenure = TenurePolicy(
        returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
    )
    return keys, DynamoProfileRepository(clients.dynamodb(), settings.table_name), tenure


@app.get(
    "/v1/profiles/<identifier_type>/<value>",
    summary="The profile of a customer, found by any of their identifiers",
    description="identifier_type: user_id, anonymous_id, email, phone, device_id or an externalIds type "
    "(e.g. loyalty_card). Phone numbers in any national format; the same person gives the same profile_id.",
    operation_id="getProfile",
    tags=["profiles"],
    security=_SECURITY,
    responses=_ERRORS,
)
def get_profile(identifier_type: str, value: str) -> ProfileView:
    keys, repo, tenure = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    # API Gateway hands the raw path over: "anna%40example.com", "%2B7%20916..."
    identifier = lookup_identifier(unquote(identifier_type), unquote(value), get_settings().default_country)
    return read_profile(repo, identifier, tenure)


@app.post(
    "/v1/profiles/<profile_id>/unmerge",
    summary="Undo a merge: both profiles as they would be without it, kept apart from then on",
    operation_id="unmergeProfile",
    tags=["profiles"],
    security=_SECURITY,
    responses=_ERRORS,
)
def post_unmerge(profile_id: str, request: Annotated[UnmergeRequest, Body()]) -> UnmergeResponse:
    keys, repo, _ = dependencies()
    require_key(app, keys, (KeyScope.ADMIN,), clock.now())
    kept, restored = unmerge(repo, profile_id, request.merged_profile_id, now=clock.now())
    return UnmergeResponse(profile_id=kept, restored_profile_id=restored)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
