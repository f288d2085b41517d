"""admin_api: the product catalog the retailer's admin uploads (admin key) and reads (read key)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from asusual import clock
from asusual.access.models import KeyScope
from asusual.access.service import CachedKeyLookup
from asusual.api import error_responses, json_request_body, make_resolver, require_key
from asusual.catalog import service as catalog
from asusual.catalog.models import CatalogProduct
from asusual.catalog.service import CatalogUpload, UploadResult
from asusual.errors import BadRequest
from asusual.observability import logger, metrics, tracer
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.access import cached_key_lookup
from asusual.store.catalog import DynamoCatalogRepository

app = make_resolver()
_SECURITY: list[dict[str, list[str]]] = [{"keyBearer": []}, {"keyBasic": []}]
_CATALOG: dict[str, Any] = {"tags": ["catalog"], "security": _SECURITY}  # what every route documents
_ERRORS = (
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.SERVICE_UNAVAILABLE,
)


@cache
def dependencies() -> tuple[CachedKeyLookup, DynamoCatalogRepository]:
    settings = get_settings()
    return cached_key_lookup(), DynamoCatalogRepository(clients.dynamodb(), settings.table_name)


@app.post(
    "/v1/catalog/products",
    summary='Upload one product or up to 1,000 (`{"products": [...]}`); a newer stored version wins',
    description="Products are validated one by one: a bad item in a bulk upload is listed in `rejected` "
    "and the others are stored. An invalid single product is answered 400.",
    operation_id="uploadProducts",
    responses={
        200: {
            "description": "Valid products are stored; invalid ones are listed in `rejected`.",
            "content": {"application/json": {"model": UploadResult}},
        },
        **error_responses(HTTPStatus.BAD_REQUEST, *_ERRORS),
    },
    openapi_extensions=json_request_body(
        CatalogUpload, 'one product, or {"products": [...]} with up to 1,000'
    ),
    **_CATALOG,
)
def post_products() -> UploadResult:
    keys, repo = dependencies()
    require_key(app, keys, (KeyScope.ADMIN,), clock.now())
    try:
        payload = app.current_event.json_body
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequest(f"body: not valid JSON ({exc})", code="invalid_json") from exc
    result = catalog.upload(repo, payload, clock.now())
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
        200: {
            "description": "The product as stored",
            "content": {"application/json": {"model": CatalogProduct}},
        },
        **error_responses(HTTPStatus.NOT_FOUND, *_ERRORS),
    },
    **_CATALOG,
)
def get_product(product_id: str) -> CatalogProduct:
    keys, repo = dependencies()
    require_key(app, keys, (KeyScope.READ, KeyScope.ADMIN), clock.now())
    return catalog.get_product(repo, unquote(product_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
