"""decide_api: what a real-time channel says and offers to this customer now (read key). The same
customer gets the same offer and price on every channel for their local day."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

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
from asusual.content.pack import ContentPack
from asusual.content.render import default_pack
from asusual.decisions.decide import DecideRequest, Decision, decide
from asusual.observability import logger, metrics, tracer
from asusual.profiles.view import TenurePolicy
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.catalog import CachedOfferPool, DynamoCatalogRepository
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository

app = make_resolver()


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ()
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[
    CachedKeyLookup,
    DynamoProfileRepository,
    DynamoMessageRepository,
    CachedOfferPool,
    ContentPack,
    TenurePolicy,
]:
    settings = get_settings()
    db = clients.dynamodb()
    return (
        cached_key_lookup(),
        DynamoProfileRepository(db, settings.table_name),
        DynamoMessageRepository(db, settings.table_name),
        CachedOfferPool(DynamoCatalogRepository(db, settings.table_name), settings.offer_pool_cache_seconds),
        default_pack(),
        TenurePolicy(
            returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
        ),
    )


@app.post(
    "/v1/decide",
    summary="Greeting, offer and price for a placement (site_greeting, site_banner, pos_greeting, "
    "call_center_script)",
    description="The offer and its price are decided once per customer and local day and then shown "
    "the same on every channel; the greeting follows the customer's local time of day. An unknown "
    "identifier gets a neutral answer (profile_id null).",
    operation_id="decide",
    tags=["decide"],
    security=KEY_SECURITY,
    responses=error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN),
    openapi_extensions=json_request_body(DecideRequest, "who, where and on which channel"),
)
def post_decide() -> Decision:
    keys, profiles, decisions, pool, pack, tenure = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    request = parse_body(app, DecideRequest)  # after the key: a stranger learns nothing from the body
    return decide(
        request,
        profiles,
        decisions,
        pool,
        pack,
        now=clock.now(),
        default_country=get_settings().default_country,
        tenure=tenure,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
