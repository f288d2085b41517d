"""admin_api: the product catalog the retailer's admin uploads (admin key) and reads (read key),
the sources and keys an operator manages and the uplift report (admin key only): the rules of
:mod:`asusual.access.service`, the same the ``asusual`` CLI runs. A new key is in its answer once;
listings show key ids, never a key or its hash. And the marketer's segments (admin key): their
definitions, sizes and members (:mod:`asusual.segments.service`)."""

from __future__ import annotations

import re
import secrets as secrets_module
from datetime import timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access import service as access
from asusual.access.models import KeyScope, Source
from asusual.access.service import CachedKeyLookup
from asusual.access.views import (
    MAX_OVERLAP_HOURS,
    IdentitySecretView,
    IssuedKeyView,
    KeyList,
    KeyRequest,
    KeyRotated,
    KeyView,
    RotateRequest,
    SourceCreated,
    SourceList,
    SourceRequest,
)
from asusual.api import (
    KEY_SECURITY,
    error_responses,
    field_errors,
    json_payload,
    json_request_body,
    json_response,
    make_resolver,
    parse_body,
    require_key,
    response_doc,
)
from asusual.campaigns import service as campaigns
from asusual.campaigns.models import CAMPAIGN_ID, CampaignRequest, CampaignView, Preview, PreviewRequest
from asusual.campaigns.preview import PreviewDeps, preview
from asusual.campaigns.report import UpliftReport, uplift_report
from asusual.catalog import service as catalog
from asusual.catalog.models import CatalogProduct
from asusual.catalog.service import CatalogUpload, UploadResult
from asusual.delivery.holdouts import held_out_kinds
from asusual.observability import logger, metrics, tracer
from asusual.segments import service as segments
from asusual.segments.models import (
    MAX_PAGE,
    MembersPage,
    SegmentChange,
    SegmentList,
    SegmentRequest,
    SegmentView,
)
from asusual.settings import get_settings
from asusual.store import clients, secrets
from asusual.store.access import DynamoAccessRepository, cached_key_lookup
from asusual.store.campaigns import DynamoCampaignRepository, preview_deps
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.conversions import DynamoConversionRepository
from asusual.store.queues import SqsSegmentJobs, SqsStockJobs
from asusual.store.segments import DynamoSegmentRepository

app = make_resolver()
_CATALOG: dict[str, Any] = {"tags": ["catalog"], "security": KEY_SECURITY}  # what every route documents
_ERRORS = (
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
_ACCESS: dict[str, Any] = {"tags": ["access"], "security": KEY_SECURITY}
_ACCESS_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.SERVICE_UNAVAILABLE)
_NO_STORE = {"Cache-Control": "no-store"}  # answers that carry a new key


# what this function needs beyond the table (asusual.settings): deployed without it, it refuses to start;
# the link secrets derive public sources' identity secrets (asusual.access.identity)
REQUIRED_SETTINGS: tuple[str, ...] = (
    "link_secrets_arn|link_secrets",
    "segments_queue_url",
    "stock_queue_url",
)
get_settings().require(*REQUIRED_SETTINGS)


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoCatalogRepository, DynamoAccessRepository]:
    settings = get_settings()
    db = clients.dynamodb()
    return (
        cached_key_lookup(),
        DynamoCatalogRepository(db, settings.table_name),
        DynamoAccessRepository(db, settings.table_name),
    )


@cache
def stock_jobs() -> SqsStockJobs:
    settings = get_settings()
    return SqsStockJobs(clients.sqs(), settings.stock_queue_url, workers=settings.sqs_send_workers)


@app.post(
    "/v1/catalog/products",
    summary='Upload one product or up to 1,000 (`{"products": [...]}`); a newer stored version wins',
    description="Products are validated one by one: a bad item in a bulk upload is listed in `rejected` "
    "and the others are stored. An invalid single product is answered 400.",
    operation_id="uploadProducts",
    responses={
        **response_doc(UploadResult, "Valid products are stored; invalid ones are listed in `rejected`."),
        **error_responses(HTTPStatus.BAD_REQUEST, *_ERRORS),
    },
    openapi_extensions=json_request_body(
        CatalogUpload, 'one product, or {"products": [...]} with up to 1,000'
    ),
    **_CATALOG,
)
def post_products() -> UploadResult:
    keys, repo, _ = dependencies()
    require_key(app, keys, (KeyScope.ADMIN,), clock.now())
    settings = get_settings()
    result = catalog.upload(
        repo,
        json_payload(app),
        clock.now(),
        announcer=stock_jobs(),  # restocks and price drops: their fan-out (asusual.triggers.stock)
        drop_share=settings.price_drop_share,
    )
    logger.info(
        "catalog upload",
        accepted=len(result.accepted),
        rejected=len(result.rejected),
        superseded=len(result.superseded),
    )
    return result


@app.get(
    "/v1/catalog/products/<product_id>",
    summary="One product as stored",
    operation_id="getProduct",
    responses={
        **response_doc(CatalogProduct, "The product as stored"),
        **error_responses(HTTPStatus.NOT_FOUND, *_ERRORS),
    },
    **_CATALOG,
)
def get_product(product_id: str) -> CatalogProduct:
    keys, repo, _ = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    return catalog.get_product(repo, unquote(product_id))


# -- campaigns (admin key) ----------------------------------------------------------------------
_CAMPAIGNS: dict[str, Any] = {"tags": ["campaigns"], "security": KEY_SECURITY}
_CAMPAIGN_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.SERVICE_UNAVAILABLE)


@cache
def campaign_dependencies() -> tuple[DynamoCampaignRepository, PreviewDeps]:
    settings = get_settings()
    db = clients.dynamodb()
    return DynamoCampaignRepository(db, settings.table_name), preview_deps(db, settings.table_name)


def _campaign_id(raw: str) -> str:
    """A path's campaign id; one that no campaign can have is not found (never a store error)."""
    campaign_id = unquote(raw)
    if not re.fullmatch(CAMPAIGN_ID, campaign_id):
        raise campaigns.CampaignNotFound(f"no campaign {campaign_id[:64]!r}")
    return campaign_id


@app.post(
    "/v1/campaigns",
    summary="Schedule a campaign to a segment at each member's local time, with a holdout",
    description="The content is Liquid with the content pack's variables, rendered at creation for sample "
    "customers in each locale: 400 names the locale and field that fail. A past send time, a bad locale or "
    "channel is 400 naming the field; an unknown segment 404; a taken campaign id 409.",
    operation_id="createCampaign",
    responses={
        **response_doc(CampaignView, "The campaign, scheduled", HTTPStatus.CREATED),
        **error_responses(
            HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_CAMPAIGN_ERRORS
        ),
    },
    openapi_extensions=json_request_body(CampaignRequest, "the campaign"),
    **_CAMPAIGNS,
)
def create_campaign() -> Response[str]:
    caller, _ = _admin()
    repo, deps = campaign_dependencies()
    request = parse_body(app, CampaignRequest)
    campaign = campaigns.create(
        repo, deps.segments, deps.pack, request, clock.now(), deps.default_messages_per_second
    )
    logger.info(
        "campaign created", campaign_id=campaign.campaign_id, segment_id=campaign.segment_id, by=caller
    )
    return json_response(campaigns.view(repo, campaign.campaign_id), HTTPStatus.CREATED)


@app.post(
    "/v1/campaigns/preview",
    summary="What a campaign would do, sending nothing: size, a sample with why, one member's message",
    description="The body of a campaign, plus an optional `profile_id` whose message to show (else the first "
    "sampled member's). Validated as a creation is; nothing is kept.",
    operation_id="previewCampaign",
    responses={
        **response_doc(Preview, "The preview"),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, *_CAMPAIGN_ERRORS),
    },
    openapi_extensions=json_request_body(PreviewRequest, "the campaign, and whose message to show"),
    **_CAMPAIGNS,
)
def preview_campaign() -> Preview:
    _admin()
    _, deps = campaign_dependencies()
    return preview(deps, parse_body(app, PreviewRequest), clock.now())


@app.get(
    "/v1/campaigns/<campaign_id>",
    summary="A campaign's status, audience, holdout, outcomes and conversions",
    operation_id="getCampaign",
    responses={
        **response_doc(CampaignView, "The campaign"),
        **error_responses(HTTPStatus.NOT_FOUND, *_CAMPAIGN_ERRORS),
    },
    **_CAMPAIGNS,
)
def get_campaign(campaign_id: str) -> CampaignView:
    _admin()
    repo, _ = campaign_dependencies()
    return campaigns.view(repo, _campaign_id(campaign_id))


@app.post(
    "/v1/campaigns/<campaign_id>/cancel",
    summary="Cancel a campaign: nobody more receives it; what waits is skipped (cancelled)",
    description="Cancelling a cancelled campaign changes nothing; a campaign sent whole answers 409.",
    operation_id="cancelCampaign",
    responses={
        **response_doc(CampaignView, "The campaign, cancelled"),
        **error_responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_CAMPAIGN_ERRORS),
    },
    **_CAMPAIGNS,
)
def cancel_campaign(campaign_id: str) -> CampaignView:
    caller, _ = _admin()
    repo, _ = campaign_dependencies()
    result = campaigns.cancel(repo, _campaign_id(campaign_id), clock.now())
    logger.info("campaign cancelled", campaign_id=result.campaign_id, by=caller)
    return result


# -- sources and keys (admin key) -------------------------------------------------------------


def _admin() -> tuple[str, DynamoAccessRepository]:
    """The admin caller's key id and the access repository (401/403 for anybody else)."""
    keys, _, repo = dependencies()
    return require_key(app, keys, (KeyScope.ADMIN,), clock.now()).key_id, repo


@app.get(
    "/v1/sources",
    summary="Every source (channel system), revoked ones included",
    operation_id="listSources",
    responses={**response_doc(SourceList, "The sources"), **error_responses(*_ACCESS_ERRORS)},
    **_ACCESS,
)
def list_sources() -> SourceList:
    _, repo = _admin()
    return SourceList(sources=access.list_sources(repo))


@app.post(
    "/v1/sources",
    summary="Register a source; the answer carries its first write key, shown this once",
    operation_id="createSource",
    responses={
        **response_doc(SourceCreated, "The source and its write key (store the key now)", HTTPStatus.CREATED),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.CONFLICT, *_ACCESS_ERRORS),
    },
    openapi_extensions=json_request_body(SourceRequest, "the new source"),
    **_ACCESS,
)
def create_source() -> Response[str]:
    caller, repo = _admin()
    request = parse_body(app, SourceRequest)
    with field_errors():  # the checks of a Source: timezone, country
        issued = access.create_source(repo, now=clock.now(), **request.model_dump())
    logger.info("source created", source_id=request.source_id, key_id=issued.record.key_id, by=caller)
    created = SourceCreated.of(issued, source=issued.record.source)
    return json_response(created, HTTPStatus.CREATED, _NO_STORE)


@app.post(
    "/v1/sources/<source_id>/rotate",
    summary="Issue a new write key; the source's current keys keep working for the overlap, then stop",
    description="`overlap_hours` in the query or the JSON body (0: the old keys stop at once, within the "
    "key cache's minute). A revoked source cannot rotate (409).",
    operation_id="rotateSourceKey",
    responses={
        **response_doc(KeyRotated, "The new write key (store it now) and when the old ones expire"),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_ACCESS_ERRORS),
    },
    openapi_extensions={
        "requestBody": {**json_request_body(RotateRequest, "optional")["requestBody"], "required": False}
    },
    **_ACCESS,
)
def rotate_source_key(
    source_id: str,
    overlap_hours: Annotated[float | None, Query(ge=0, le=MAX_OVERLAP_HOURS)] = None,
) -> Response[str]:
    caller, repo = _admin()
    asked = parse_body(app, RotateRequest, optional=True).overlap_hours
    hours = access.rotation_overlap(overlap_hours, asked, default_hours=get_settings().rotation_overlap_hours)
    now, overlap, source_id = clock.now(), timedelta(hours=hours), unquote(source_id)
    issued = access.rotate_source_key(repo, source_id, now=now, overlap=overlap)
    logger.info("source key rotated", source_id=source_id, key_id=issued.record.key_id, by=caller,
                overlap_hours=hours)  # fmt: skip
    return json_response(KeyRotated.of(issued, old_keys_expire_at=now + overlap), HTTPStatus.OK, _NO_STORE)


@app.delete(
    "/v1/sources/<source_id>",
    summary="Revoke a source and every key of it (refused everywhere within the key cache's minute)",
    description="409 when the source is revoked already.",
    operation_id="revokeSource",
    responses={
        **response_doc(Source, "The source, now revoked"),
        **error_responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_ACCESS_ERRORS),
    },
    **_ACCESS,
)
def revoke_source(source_id: str) -> Source:
    caller, repo = _admin()
    source = access.revoke_source(repo, unquote(source_id))
    logger.info("source revoked", source_id=source.source_id, by=caller)
    return source


@app.get(
    "/v1/sources/<source_id>/identity-secret",
    summary="A public source's identity secret: the shop's server signs logged-in customers' user ids "
    "with it",
    description="The page passes HMAC-SHA256(identity_secret, userId) as `context.identity_signature` "
    "with its identify; only such signed user ids (or a server-side source's events) let the page "
    "greet the customer by name. Derived from the link secrets: it changes when they rotate (the old "
    "one verifies while its link secret is kept). 409 for a server-side or revoked source.",
    operation_id="getIdentitySecret",
    responses={
        **response_doc(IdentitySecretView, "The identity secret (keep it on the shop's server)"),
        **error_responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_ACCESS_ERRORS),
    },
    **_ACCESS,
)
def get_identity_secret(source_id: str) -> Response[str]:
    caller, repo = _admin()
    source_id = unquote(source_id)
    secret = access.source_identity_secret(repo, source_id, secrets.link_secrets())
    logger.info("identity secret shown", source_id=source_id, by=caller)
    view = IdentitySecretView(source_id=source_id, identity_secret=secret)
    return json_response(view, HTTPStatus.OK, _NO_STORE)


@app.get(
    "/v1/keys",
    summary="Every key: id, scope, status, label, source; never a key or its hash",
    operation_id="listKeys",
    responses={**response_doc(KeyList, "The keys"), **error_responses(*_ACCESS_ERRORS)},
    **_ACCESS,
)
def list_keys() -> KeyList:
    _, repo = _admin()
    now = clock.now()
    return KeyList(keys=[KeyView.of(k, now) for k in access.list_keys(repo)])


@app.post(
    "/v1/keys",
    summary="Create a read or admin key; the answer carries it, shown this once",
    operation_id="createKey",
    responses={
        **response_doc(IssuedKeyView, "The key (store it now)", HTTPStatus.CREATED),
        **error_responses(HTTPStatus.BAD_REQUEST, *_ACCESS_ERRORS),
    },
    openapi_extensions=json_request_body(KeyRequest, "scope read or admin, and a label"),
    **_ACCESS,
)
def create_key() -> Response[str]:
    caller, repo = _admin()
    request = parse_body(app, KeyRequest)
    with field_errors():
        issued = access.create_key(repo, KeyScope(request.scope), now=clock.now(), label=request.label)
    logger.info("key created", key_id=issued.record.key_id, scope=request.scope, by=caller)
    return json_response(IssuedKeyView.of(issued), HTTPStatus.CREATED, _NO_STORE)


@app.delete(
    "/v1/keys/<key_id>",
    summary="Revoke a key by its id (refused everywhere within the key cache's minute)",
    operation_id="revokeKey",
    responses={
        **response_doc(KeyView, "The key, now revoked"),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_ACCESS_ERRORS),
    },
    **_ACCESS,
)
def revoke_key(key_id: str) -> KeyView:
    caller, repo = _admin()
    key = access.revoke_key(repo, access.parse_key_id(unquote(key_id)))
    logger.info("key revoked", key_id=key.key_id, by=caller)
    return KeyView.of(key, clock.now())


# -- segments (admin key) ---------------------------------------------------------------------
_SEGMENTS: dict[str, Any] = {"tags": ["segments"], "security": KEY_SECURITY}
_SEGMENT_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.SERVICE_UNAVAILABLE)


@cache
def segment_dependencies() -> tuple[DynamoSegmentRepository, SqsSegmentJobs, int]:
    settings = get_settings()
    return (
        DynamoSegmentRepository(clients.dynamodb(), settings.table_name),
        SqsSegmentJobs(clients.sqs(), settings.segments_queue_url),
        settings.segment_job_delay_seconds,
    )


def _segments() -> tuple[str, DynamoSegmentRepository, SqsSegmentJobs, int]:
    """The admin caller's key id and the segments' repository, queue and first-page delay."""
    keys, _, _ = dependencies()
    caller = require_key(app, keys, (KeyScope.ADMIN,), clock.now()).key_id
    return (caller, *segment_dependencies())


@app.get(
    "/v1/segments",
    summary="Every segment, with its size and back-fill progress",
    operation_id="listSegments",
    responses={**response_doc(SegmentList, "The segments"), **error_responses(*_SEGMENT_ERRORS)},
    **_SEGMENTS,
)
def list_segments() -> SegmentList:
    _, repo, _, _ = _segments()
    return segments.list_segments(repo)


@app.post(
    "/v1/segments",
    summary="Define a segment by a rule; its members are found by a back-fill, then kept live",
    description="A rule outside the grammar is answered 400 naming the offending key "
    "(`rule.all[1].purchased.within_dayz: unknown key; ...`). At most 40 segments (409 "
    "`too_many_segments`); an id in use is 409 `segment_exists` (`segment_deleting` while the "
    "segment of that id is being deleted).",
    operation_id="createSegment",
    responses={
        **response_doc(SegmentView, "The segment (size 0 until its back-fill runs)", HTTPStatus.CREATED),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.CONFLICT, *_SEGMENT_ERRORS),
    },
    openapi_extensions=json_request_body(SegmentRequest, "segment_id, name and rule"),
    **_SEGMENTS,
)
def create_segment() -> Response[str]:
    caller, repo, jobs, delay = _segments()
    request = parse_body(app, SegmentRequest)
    view = segments.create(
        repo, jobs, request, now=clock.now(), incarnation=secrets_module.token_hex(6), delay_seconds=delay
    )
    logger.info("segment created", segment_id=view.segment_id, by=caller)
    return json_response(view, HTTPStatus.CREATED)


@app.get(
    "/v1/segments/<segment_id>",
    summary="A segment: its rule, version, size and back-fill progress",
    operation_id="getSegment",
    responses={
        **response_doc(SegmentView, "The segment"),
        **error_responses(HTTPStatus.NOT_FOUND, *_SEGMENT_ERRORS),
    },
    **_SEGMENTS,
)
def get_segment(segment_id: str) -> SegmentView:
    _, repo, _, _ = _segments()
    return segments.get(repo, unquote(segment_id))


@app.put(
    "/v1/segments/<segment_id>",
    summary="Change a segment's rule (a new version, back-filled) or name",
    description="The same rule and name again change nothing; a changed name alone keeps the version.",
    operation_id="updateSegment",
    responses={
        **response_doc(SegmentView, "The segment as changed"),
        **error_responses(
            HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_SEGMENT_ERRORS
        ),
    },
    openapi_extensions=json_request_body(SegmentChange, "a new rule and/or name"),
    **_SEGMENTS,
)
def update_segment(segment_id: str) -> SegmentView:
    caller, repo, jobs, delay = _segments()
    change = parse_body(app, SegmentChange)
    view = segments.update(repo, jobs, unquote(segment_id), change, now=clock.now(), delay_seconds=delay)
    logger.info("segment changed", segment_id=view.segment_id, version=view.version, by=caller)
    return view


@app.get(
    "/v1/segments/<segment_id>/members",
    summary="A page of a segment's members (profile ids)",
    description="`cursor` is the previous page's; null when there are no more.",
    operation_id="listSegmentMembers",
    responses={
        **response_doc(MembersPage, "Profile ids and the next page's cursor"),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, *_SEGMENT_ERRORS),
    },
    **_SEGMENTS,
)
def get_segment_members(
    segment_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> MembersPage:
    _, repo, _, _ = _segments()
    return segments.members(repo, unquote(segment_id), limit, cursor)


@app.delete(
    "/v1/segments/<segment_id>",
    summary="Delete a segment: it leaves every profile at once; its memberships are deleted in pages",
    description="Answers the segment with status `deleting`; then it is gone (404). Deleting again "
    "resumes an interrupted deletion.",
    operation_id="deleteSegment",
    responses={
        **response_doc(SegmentView, "The segment, now being deleted"),
        **error_responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, *_SEGMENT_ERRORS),
    },
    **_SEGMENTS,
)
def delete_segment(segment_id: str) -> SegmentView:
    caller, repo, jobs, delay = _segments()
    view = segments.delete(repo, jobs, unquote(segment_id), now=clock.now(), delay_seconds=delay)
    logger.info("segment deleted", segment_id=view.segment_id, by=caller)
    return view


# -- reports (admin key) ----------------------------------------------------------------------


@app.get(
    "/v1/reports/uplift",
    summary="Every campaign and every trigger kind with a holdout: audience, holdout, sent, "
    "conversions per group and uplift",
    description="Uplift compares the recipients' conversion rate (members with an order in their "
    "window / group size) with the holdout's: the difference with its 95 % interval (Newcombe's "
    "hybrid score), revenue per member, and a verdict (`too_small_to_tell` while either group has "
    "fewer than 30 members or neither has 5 converted; else `positive`, `negative` or "
    "`inconclusive`) said in one sentence per locale.",
    operation_id="upliftReport",
    responses={**response_doc(UpliftReport, "The report"), **error_responses(*_ACCESS_ERRORS)},
    tags=["reports"],
    security=KEY_SECURITY,
)
def get_uplift_report() -> UpliftReport:
    _admin()
    settings = get_settings()
    programs = DynamoConversionRepository(clients.dynamodb(), settings.table_name)
    return uplift_report(programs, settings.trigger_holdouts, held_out_kinds(), clock.now())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
