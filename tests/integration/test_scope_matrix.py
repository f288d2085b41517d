"""Every HTTP route of every API function, for every kind of caller: who is refused (401: no,
unknown or revoked key; 403: a key of another scope) and who gets through (any other status).

    write  intake only (a server-side source's key)
    public intake, and the decision a page asks for its visitor (a public source's write key)
    read   profiles (read), decide, why, message log, catalog (read)
    admin  what read may, and catalog upload, sources, keys, segments, unmerge, privacy

To add a route: one row in ROUTES (a test fails while a documented route has none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from asusual.access import service
from asusual.access.models import KeyScope
from asusual.local.openapi import document
from asusual.local.runtime import ADMIN_KEY, READ_KEY
from tests.integration.api_calls import call

WRITE = frozenset({KeyScope.WRITE})
READ = frozenset({KeyScope.READ, KeyScope.ADMIN})
ADMIN = frozenset({KeyScope.ADMIN})
PUBLIC = None  # no key needed: a key changes nothing


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as in the OpenAPI document
    target: str  # a concrete request
    allowed: frozenset[KeyScope] | None
    body: Any = None
    pages: bool = False  # a public source's write key may call it too (write: a server-side key's)


def intake(kind: str, body: dict[str, Any]) -> Route:
    return Route("POST", f"/v1/{kind}", f"/v1/{kind}", WRITE, body, pages=True)


PROFILE = "/v1/profiles/email/anna%40example.com"
DECIDE = {"identifier": {"type": "user_id", "value": "u-1"}, "placement": "site_greeting", "channel": "web"}
PRODUCT = {"product_id": "sku-1", "name": "Cat food", "price": 10, "currency": "RUB"}
SOURCE = {"source_id": "pos", "name": "POS", "channel": "store"}
SEGMENT = {"segment_id": "pet-food", "name": "Pet food", "rule": {"purchased": {"category": "pet food"}}}

ROUTES: list[Route] = [
    # intake_api
    intake("batch", {"batch": [{"type": "track", "userId": "u-1", "event": "Viewed"}]}),
    intake("identify", {"userId": "u-1", "traits": {"firstName": "Анна"}}),
    intake("track", {"userId": "u-1", "event": "Viewed"}),
    intake("page", {"anonymousId": "a-1", "name": "Home"}),
    intake("screen", {"anonymousId": "a-1", "name": "Home"}),
    intake("group", {"userId": "u-1", "groupId": "g-1"}),
    intake("alias", {"userId": "u-1", "previousId": "a-1"}),
    # the browser SDKs' paths: analytics-next's first letters and batch, RudderStack's beacon
    intake("b", {"batch": [{"type": "track", "userId": "u-1", "event": "Viewed"}]}),
    intake("i", {"userId": "u-1", "traits": {"firstName": "Анна"}}),
    intake("t", {"userId": "u-1", "event": "Viewed"}),
    intake("p", {"anonymousId": "a-1", "name": "Home"}),
    intake("s", {"anonymousId": "a-1", "name": "Home"}),
    intake("g", {"userId": "u-1", "groupId": "g-1"}),
    intake("a", {"userId": "u-1", "previousId": "a-1"}),
    Route("POST", "/beacon/v1/batch", "/beacon/v1/batch", WRITE,
          {"batch": [{"type": "track", "anonymousId": "a-1", "event": "Cart Viewed"}]}, pages=True),
    # profiles_api
    Route("GET", "/v1/profiles/{identifier_type}/{value}", PROFILE, READ),
    Route("POST", "/v1/profiles/{profile_id}/unmerge", "/v1/profiles/p_1/unmerge", ADMIN,
          {"merged_profile_id": "p_2"}),
    Route("DELETE", "/v1/profiles/{identifier_type}/{value}", PROFILE, ADMIN),
    Route("GET", "/v1/profiles/{identifier_type}/{value}/export", f"{PROFILE}/export", ADMIN),
    Route("DELETE", "/v1/profiles/{identifier_type}/{value}/suppression", f"{PROFILE}/suppression", ADMIN),
    # decide_api
    Route("POST", "/v1/decide", "/v1/decide", READ, DECIDE),
    Route("POST", "/v1/decide/visitor", "/v1/decide/visitor", frozenset(),
          {"anonymous_id": "a-1", "placement": "site_greeting"}, pages=True),
    # messages_api
    Route("GET", "/v1/messages/{message_id}/why", "/v1/messages/m_1/why", READ),
    Route("GET", "/v1/messages", "/v1/messages?profile_id=p_1", READ),
    Route("GET", "/v1/unsubscribe", "/v1/unsubscribe?token=not-a-token", PUBLIC),
    Route("POST", "/v1/unsubscribe", "/v1/unsubscribe?token=not-a-token", PUBLIC),
    Route("POST", "/v1/resubscribe", "/v1/resubscribe", PUBLIC),
    Route("GET", "/v1/preferences", "/v1/preferences?token=not-a-token", PUBLIC),
    Route("POST", "/v1/preferences", "/v1/preferences", PUBLIC),
    Route("GET", "/v1/consent/confirm", "/v1/consent/confirm?token=not-a-token", PUBLIC),
    Route("POST", "/v1/consent/confirm", "/v1/consent/confirm?token=not-a-token", PUBLIC),
    # admin_api: catalog
    Route("POST", "/v1/catalog/products", "/v1/catalog/products", ADMIN, PRODUCT),
    Route("GET", "/v1/catalog/products/{product_id}", "/v1/catalog/products/sku-1", READ),
    # admin_api: sources and keys
    Route("GET", "/v1/sources", "/v1/sources", ADMIN),
    Route("POST", "/v1/sources", "/v1/sources", ADMIN, SOURCE),
    Route("POST", "/v1/sources/{source_id}/rotate", "/v1/sources/app_local/rotate", ADMIN),
    Route("DELETE", "/v1/sources/{source_id}", "/v1/sources/email_local", ADMIN),
    Route("GET", "/v1/sources/{source_id}/identity-secret",
          "/v1/sources/browser_local/identity-secret", ADMIN),
    Route("GET", "/v1/keys", "/v1/keys", ADMIN),
    Route("POST", "/v1/keys", "/v1/keys", ADMIN, {"scope": "read", "label": "matrix"}),
    Route("DELETE", "/v1/keys/{key_id}", "/v1/keys/0123456789ab", ADMIN),
    # admin_api: segments
    Route("GET", "/v1/segments", "/v1/segments", ADMIN),
    Route("POST", "/v1/segments", "/v1/segments", ADMIN, SEGMENT),
    Route("GET", "/v1/segments/{segment_id}", "/v1/segments/pet-food", ADMIN),
    Route("PUT", "/v1/segments/{segment_id}", "/v1/segments/pet-food", ADMIN, {"name": "Pets"}),
    Route("GET", "/v1/segments/{segment_id}/members", "/v1/segments/pet-food/members", ADMIN),
    Route("DELETE", "/v1/segments/{segment_id}", "/v1/segments/pet-food", ADMIN),
    # admin_api: campaigns
    Route("POST", "/v1/campaigns", "/v1/campaigns", ADMIN, {"campaign_id": "matrix"}),
    Route("POST", "/v1/campaigns/preview", "/v1/campaigns/preview", ADMIN, {"campaign_id": "matrix"}),
    Route("GET", "/v1/campaigns/{campaign_id}", "/v1/campaigns/matrix", ADMIN),
    Route("POST", "/v1/campaigns/{campaign_id}/cancel", "/v1/campaigns/matrix/cancel", ADMIN),
    # admin_api: the uplift report
    Route("GET", "/v1/reports/uplift", "/v1/reports/uplift", ADMIN),
]  # fmt: skip

# the order the callers call in: the admin last, so what it changes cannot affect the others
CALLERS = ("no key", "revoked admin key", "write", "public", "read", "admin")


def expected(route: Route, caller: str) -> str:
    if caller in ("no key", "revoked admin key"):
        return "401"
    if caller == "public":
        return "allowed" if route.pages else "403"
    scope = KeyScope(caller)
    assert route.allowed is not None
    return "allowed" if scope in route.allowed else "403"


def outcome(status: int) -> str:
    """401 and 403 as themselves; a server error is never an admission; any other answer is."""
    if status in (401, 403) or status >= 500:
        return str(status)
    return "allowed"


@pytest.fixture
def keys(runtime, clock) -> dict[str, str | None]:
    repo = runtime.access_repository()
    revoked = service.create_key(repo, KeyScope.ADMIN, now=clock.now() - timedelta(days=1), label="gone")
    service.revoke_key(repo, revoked.record.key_id)
    return {
        "no key": None,
        "revoked admin key": revoked.key,
        "write": "web_local_key",
        "public": "browser_local_key",
        "read": READ_KEY,
        "admin": ADMIN_KEY,
    }


def rows() -> list[Any]:
    return [pytest.param(r, id=f"{r.method} {r.template}") for r in ROUTES]


@pytest.mark.parametrize("route", rows())
def test_each_route_refuses_or_admits_each_caller(runtime, keys, route):
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for caller in CALLERS:
        for auth in ("bearer", "basic") if keys[caller] else ("bearer",):
            answer = call(runtime, route.method, route.target, key=keys[caller], body=route.body, auth=auth)
            seen[caller, auth] = (int(answer.status), answer.body.decode()[:200])
    if route.allowed is PUBLIC:
        statuses = {status for status, _ in seen.values()}
        assert len(statuses) == 1, f"a public route answers the same whatever the key: {seen}"
        return
    wrong = {who: got for who, got in seen.items() if outcome(got[0]) != expected(route, who[0])}
    assert not wrong, f"{route.method} {route.target}: {wrong}"


def test_the_table_has_a_row_for_every_documented_route():
    documented = {(method.upper(), path) for path, ops in document()["paths"].items() for method in ops}
    rows = {(r.method, r.template) for r in ROUTES}
    assert documented <= rows, f"routes without a row in ROUTES: {sorted(documented - rows)}"
    assert rows <= documented, f"rows for routes that do not exist: {sorted(rows - documented)}"
