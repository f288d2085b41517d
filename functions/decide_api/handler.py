"""decide_api: what a real-time channel says and offers to this customer now (read key), and what a
shop's page shows its own visitor (a public source's key, by anonymous id only). The same customer
gets the same offer and price on every channel for their local day."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.origins import PublicOrigins
from asusual.access.service import CachedKeyLookup
from asusual.access.throttle import RateLimiter
from asusual.api import (
    KEY_SECURITY,
    error_responses,
    json_payload,
    json_request_body,
    json_response,
    make_resolver,
    parse_body,
    require_key,
    response_doc,
)
from asusual.content.pack import ContentPack
from asusual.content.render import default_pack
from asusual.decisions.decide import DecideRequest, Decision, decide
from asusual.decisions.visitor import (
    VisitorCall,
    VisitorDecision,
    VisitorLimits,
    VisitorRequest,
    decide_for_visitor,
)
from asusual.observability import logger, metrics, tracer
from asusual.profiles.view import TenurePolicy
from asusual.recommendations.serve import Recommender
from asusual.segments.live import CachedDefinitions
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup, public_origins
from asusual.store.catalog import CachedOfferPool, DynamoCatalogRepository
from asusual.store.messages import DynamoMessageRepository
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.recommendations import DynamoRecommendationRepository
from asusual.store.segments import cached_definitions
from asusual.store.weather import weather_source
from asusual.weather.rules import WeatherSource

# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start
REQUIRED_SETTINGS: tuple[str, ...] = ()
get_settings().require(*REQUIRED_SETTINGS)


@dataclass(frozen=True)
class Dependencies:
    keys: CachedKeyLookup
    profiles: DynamoProfileRepository
    decisions: DynamoMessageRepository
    pool: CachedOfferPool
    pack: ContentPack
    tenure: TenurePolicy
    origins: PublicOrigins  # the public sources' origins (a page's route)
    limiter: RateLimiter  # a page's route: per key, and per key and visitor
    limits: VisitorLimits
    segments: CachedDefinitions  # the live segments a customer's answer shows membership of
    weather: WeatherSource | None  # the day's weather where the customer is (None: off)
    recommender: Recommender  # the recommendation model's rows and the catalog


@cache
def dependencies() -> Dependencies:
    settings = get_settings()
    db = clients.dynamodb()
    return Dependencies(
        keys=cached_key_lookup(),
        profiles=DynamoProfileRepository(db, settings.table_name),
        decisions=DynamoMessageRepository(db, settings.table_name),
        pool=CachedOfferPool(
            DynamoCatalogRepository(db, settings.table_name), settings.offer_pool_cache_seconds
        ),
        pack=default_pack(),
        tenure=TenurePolicy(
            returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
        ),
        origins=public_origins(),
        limiter=RateLimiter(),
        limits=VisitorLimits(
            key_rate=settings.default_rate_limit,
            key_burst=settings.default_burst,
            visitor_rate=settings.visitor_rate_limit,
            visitor_burst=settings.visitor_burst,
        ),
        segments=cached_definitions(),
        weather=weather_source(settings),
        recommender=Recommender(
            model=DynamoRecommendationRepository(db, settings.table_name),
            catalog=DynamoCatalogRepository(db, settings.table_name),
        ),
    )


app = make_resolver(origins=lambda: dependencies().origins)  # a page asks for its visitor (public sources)


@app.post(
    "/v1/decide",
    summary="Greeting, offer and price for a placement (site_greeting, site_banner, pos_greeting, "
    "call_center_script)",
    description="The offer and its price are decided once per customer and local day and then shown "
    "the same on every channel; the greeting follows the customer's local time of day. An unknown "
    "identifier gets a neutral answer (profile_id null). `recommendations` (0 to 10, default 5) asks "
    "for that many recommended products, each with why.",
    operation_id="decide",
    tags=["decide"],
    security=KEY_SECURITY,
    responses=error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN),
    openapi_extensions=json_request_body(DecideRequest, "who, where and on which channel"),
    cors=False,  # the read key opens every profile: never in a page
)
def post_decide() -> Decision:
    deps = dependencies()
    require_key(app, deps.keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    request = parse_body(app, DecideRequest)  # after the key: a stranger learns nothing from the body
    return decide(
        request,
        deps.profiles,
        deps.decisions,
        deps.pool,
        deps.pack,
        now=clock.now(),
        default_country=get_settings().default_country,
        tenure=deps.tenure,
        live_segments=deps.segments.live,
        weather=deps.weather,
        recommender=deps.recommender,
    )


@app.post(
    "/v1/decide/visitor",
    summary="What a shop's page shows its own visitor (site_greeting, site_banner), asked with the page's "
    "public key",
    description="Authenticated with a public source's write key from an origin the source allows; the "
    "visitor is named only by the anonymous id the page's SDK keeps (any other field is refused, 400). "
    "A customer is greeted by name only when a server-side source or a signed user id tied that "
    "anonymous id to them; otherwise the answer is a stranger's (neutral greeting, the anonymous offer). "
    "The answer never holds a profile id, an address, a phone number, a name field or an identifier. "
    "Language: `locale`, else Accept-Language. Rate-limited per key and per visitor (429, Retry-After).",
    operation_id="decideForVisitor",
    tags=["decide"],
    security=KEY_SECURITY,
    responses={
        **response_doc(VisitorDecision, "What to show"),
        **error_responses(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.UNAUTHORIZED,
            HTTPStatus.FORBIDDEN,
            HTTPStatus.TOO_MANY_REQUESTS,
        ),
    },
    openapi_extensions=json_request_body(VisitorRequest, "the visitor's anonymous id and the placement"),
    cors=True,  # a page calls it
)
def post_visitor_decision() -> Response[str]:
    deps = dependencies()
    headers = app.current_event.headers
    decision = decide_for_visitor(
        VisitorCall(
            authorization=headers.get("authorization"),
            origin=headers.get("origin"),
            accept_language=headers.get("accept-language"),
            body=lambda: json_payload(app),  # read after the key: a stranger learns nothing from it
        ),
        keys=deps.keys,
        profiles=deps.profiles,
        decisions=deps.decisions,
        pool=deps.pool,
        pack=deps.pack,
        limiter=deps.limiter,
        limits=deps.limits,
        default_country=get_settings().default_country,
        tenure=deps.tenure,
        now=clock.now(),
        weather=deps.weather,
    )
    return json_response(decision, headers={"Cache-Control": "no-store"})  # one visitor's answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
