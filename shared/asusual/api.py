"""HTTP kernel for every API function: one resolver factory, one mapping from typed errors to
HTTP answers, and the OpenAPI helpers. Handlers stay a route plus one call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from asusual.access.keys import key_from_authorization
from asusual.access.models import KeyScope, Principal
from asusual.access.origins import PublicOrigins
from asusual.access.service import KeyLookup, authenticate
from asusual.errors import AsusualError, BadRequest, RetryLater
from asusual.observability import MetricUnit, logger, metrics
from asusual.shape import shape_problem

API_TITLE = "asusual"
API_VERSION = "1"
M = TypeVar("M", bound=BaseModel)

# OpenAPI ``security`` of a route that takes an API key (the schemes of :func:`openapi_document`)
KEY_SECURITY: list[dict[str, list[str]]] = [{"keyBearer": []}, {"keyBasic": []}]


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"code": code, "message": message}, ensure_ascii=False),
        headers=headers or {},
    )


# what a browser may send to a route a page calls, the SDKs' own headers included, as their builds
# set them (tests/browser drives them): RudderStack JS v3 sends AnonymousId and SentAt on every
# event and its Rsa-* headers on a retry or an event recovered from storage; Segment's
# analytics-next sends X-Retry-Count on a retry. A header missing here fails the preflight, and the
# browser drops the event.
BROWSER_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept-Language",
    "AnonymousId",
    "SentAt",
    "Rsa-Recovered",
    "Rsa-Retry-Attempt",
    "Rsa-Retry-Reason",
    "Rsa-Since-First-Attempt",
    "Rsa-Since-Last-Attempt",
    "X-Retry-Count",
]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer
# what a page's script may read of an answer beyond the safelisted headers: when to retry a 429 or
# 503 (analytics-next honours Retry-After when it can read it, and backs off blindly otherwise)
EXPOSED_HEADERS = ["Retry-After"]


class SourceOrigins(CORSConfig):
    """CORS for the routes pages call (``cors=True``): an origin is echoed only when an active public
    source allows it (:class:`asusual.access.origins.PublicOrigins`, read lazily and cached), never
    ``*``. A preflight (powertools answers it, 204) carries no key, so it cannot know the source;
    the request that follows is checked against its own source (``access.origins.check_origin``)."""

    def __init__(self, origins: Callable[[], PublicOrigins]) -> None:
        super().__init__(
            allow_origin="",
            allow_headers=BROWSER_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE,
        )
        self._origins = origins

    def allowed_origin(self, extracted_origin: str | None) -> str | None:
        return extracted_origin if extracted_origin and self._origins().allows(extracted_origin) else None

    def to_dict(self, origin: str | None) -> dict[str, str]:
        if not origin or not self._origins().allows(origin):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Headers": CORSConfig.build_allow_methods(self.allow_headers),
            "Access-Control-Expose-Headers": ",".join(self.expose_headers),
            "Access-Control-Max-Age": str(self.max_age),
            "Vary": "Origin",
        }


def make_resolver(origins: Callable[[], PublicOrigins] | None = None) -> APIGatewayHttpResolver:
    """The resolver every API function uses, with the error mapping registered once. A function
    whose routes pages call passes the public sources' ``origins``; each such route says so with
    ``cors=True`` (and every other route of it ``cors=False``: infra/routes.py reads the flag to
    give API Gateway its OPTIONS route)."""
    app = APIGatewayHttpResolver(
        enable_validation=True, cors=SourceOrigins(origins) if origins is not None else None
    )

    @app.exception_handler(AsusualError)  # type: ignore[untyped-decorator]
    def _domain_error(exc: AsusualError) -> Response[str]:
        metrics.add_metric(name="RequestsRefused", unit=MetricUnit.Count, value=1)
        headers = {}
        if isinstance(exc, RetryLater):
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.warning("transient failure", code=exc.code, error=exc.message)
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(exc: RequestValidationError) -> Response[str]:
        parts = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid")))
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", "; ".join(parts))

    @app.not_found
    def _not_found(_exc: NotFoundError) -> Response[str]:
        event = app.current_event
        metrics.add_metric(name="RequestsRefused", unit=MetricUnit.Count, value=1)
        return error_response(HTTPStatus.NOT_FOUND, "not_found", f"no route {event.http_method} {event.path}")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error")

    return app


def routes(app: APIGatewayHttpResolver) -> list[tuple[str, str]]:
    """(method, rule) of every route ``app`` registered, and an OPTIONS route for each a page calls
    (``cors=True``), sorted; rules in powertools' syntax (``/v1/profiles/<value>``). The one
    reading of the resolver's routes: the local gateway, the OpenAPI checks and the infra tests
    derive theirs from it."""
    registered = [*app._static_routes, *app._dynamic_routes]  # powertools keeps no public list
    declared = {(route.method, route.path) for route in registered}
    preflights = {("OPTIONS", route.path) for route in registered if route.cors}  # answered by powertools
    return sorted(declared | preflights)


def json_response(
    model: BaseModel, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None
) -> Response[str]:
    """``model`` as the JSON answer, for a route that answers other than 200 or with headers."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(),
        headers=headers or {},
    )


def json_payload(app: APIGatewayHttpResolver) -> Any:
    """The request's JSON body as parsed (None when empty); 400 ``invalid_json`` when it is not JSON
    or nests too deeply to read, 400 ``invalid_request`` naming the field when a value breaks the
    rules every stored value keeps (asusual.shape: nesting, Unicode, finite numbers)."""
    try:
        payload = app.current_event.json_body
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequest(f"body: not valid JSON ({exc})", code="invalid_json") from exc
    except RecursionError as exc:
        raise BadRequest("body: nested too deeply to read", code="invalid_json") from exc
    if problem := shape_problem(payload, where="body"):
        raise BadRequest(problem, code="invalid_request")
    return payload


def parse_body(app: APIGatewayHttpResolver, model: type[M], *, optional: bool = False) -> M:
    """The JSON body as ``model``: 400 when it is missing (unless ``optional``: ``model()``), not JSON,
    or invalid, naming the field. A route reads it after authentication, so strangers learn nothing."""
    try:
        raw = app.current_event.decoded_body or ""
    except ValueError as exc:  # UnicodeDecodeError: not UTF-8, so not JSON
        raise BadRequest(f"body: not valid JSON ({exc})", code="invalid_json") from exc
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest("body: required (a JSON object)", code="invalid_body")
    payload = json_payload(app)
    with field_errors():
        return model.model_validate(payload)


@contextmanager
def field_errors() -> Iterator[None]:
    """Invalid values (pydantic, or a rule's ValueError) → 400 ``invalid_request`` naming the field."""
    try:
        yield
    except ValidationError as exc:
        parts = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error.get("loc", ())) or "body"
            parts.append(f"{loc}: {error.get('msg', 'invalid')}")
        raise BadRequest("; ".join(parts), code="invalid_request") from exc
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_request") from exc


def response_doc(model: type[BaseModel], description: str, status: int = HTTPStatus.OK) -> dict[int, Any]:
    """An OpenAPI ``responses`` entry: ``status`` answers ``model`` as JSON."""
    return {int(status): {"description": description, "content": {"application/json": {"model": model}}}}


def json_request_body(model: type[BaseModel], description: str) -> dict[str, Any]:
    """An OpenAPI requestBody for a route that reads its body itself (``openapi_extensions``);
    the model's schema is added to the document by :func:`openapi_document`."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


def error_responses(*statuses: HTTPStatus) -> dict[int, Any]:
    return {
        int(status): {
            "description": status.phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
        for status in statuses
    }


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer (Segment clients read ``code`` and ``message``)."""

    code: str
    message: str


def openapi_document(
    apps: Iterable[APIGatewayHttpResolver], body_models: Iterable[type[BaseModel]]
) -> dict[str, Any]:
    """One OpenAPI document for several API functions, with the request-body models added."""
    # Only the document needs these (make openapi, tests): a function's cold start does not.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase, HTTPBearer, SecurityScheme
    from pydantic.json_schema import models_json_schema

    security_schemes: dict[str, SecurityScheme] = {
        "keyBasic": HTTPBase(
            scheme="basic",
            description="Segment style: Basic base64('<key>:') (the trailing colon is optional)",
        ),
        "keyBearer": HTTPBearer(description="Bearer <key>"),
    }
    document: dict[str, Any] = {}
    for app in apps:
        schema = app.get_openapi_schema(
            title=API_TITLE,
            version=API_VERSION,
            description="Cross-channel personalization for retailers. Intake is compatible with the "
            "Segment HTTP Tracking API.",
            security_schemes=security_schemes,
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
        if not document:
            document = schema
        else:
            document.setdefault("paths", {}).update(schema.get("paths", {}))
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.get("components", {}).get("schemas", {}))
    # Request validation errors are answered 400 {code, message} by make_resolver, not 422.
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        document.get("components", {}).get("schemas", {}).pop(unused, None)
    models: list[type[BaseModel]] = [*body_models, ErrorResponse]
    inputs: list[tuple[type[BaseModel], Literal["validation"]]] = [(model, "validation") for model in models]
    _, defs = models_json_schema(inputs, ref_template="#/components/schemas/{model}")
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(defs.get("$defs", {}))
    return document


def require_key(
    app: APIGatewayHttpResolver, keys: KeyLookup, allowed: tuple[KeyScope, ...], now: datetime
) -> Principal:
    """Authenticate the request's Bearer/Basic key for one of ``allowed`` scopes (401/403)."""
    return authenticate(key_from_authorization(app.current_event.headers.get("authorization")), keys, now=now,
                        allowed=allowed)  # fmt: skip
