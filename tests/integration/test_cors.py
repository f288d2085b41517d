"""Browser sources over real HTTP: the preflight a page's SDK sends, and the Origin of its POST."""

import json
import urllib.error
import urllib.request

import pytest

from asusual.local.gateway import LocalGateway
from asusual.store.queues import decode_event
from tests.integration.local_http import http

pytestmark = pytest.mark.slow

PAGE = "http://127.0.0.1:5173"  # a developer's shop page (browser_local allows http://127.0.0.1:*)


@pytest.fixture
def server(runtime):
    gateway = LocalGateway(runtime, port=0).start()
    yield gateway
    gateway.stop()


def request(server, method, path, headers, body=None):
    """(status, headers with lowercase names, body bytes) of one raw request."""
    made = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(made, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def preflight(server, path, origin, headers="authorization,content-type"):
    return request(server, "OPTIONS", path, {
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers,
    })  # fmt: skip


@pytest.mark.parametrize(
    "path", ["/v1/i", "/v1/identify", "/v1/b", "/v1/batch", "/beacon/v1/batch", "/v1/decide/visitor"]
)
def test_preflight_allowed_origin_answers_204_echoing_it(server, path):
    status, headers, body = preflight(server, path, PAGE, "authorization,content-type,anonymousid")
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == PAGE
    assert headers["access-control-allow-methods"] == "OPTIONS,POST"
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "anonymousid", "accept-language"} <= allowed
    assert headers["access-control-max-age"] == "600"
    assert headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "asked",
    [
        pytest.param("authorization,content-type", id="analytics-next"),
        pytest.param("authorization,content-type,x-retry-count", id="analytics-next-retrying"),
        pytest.param("anonymousid,authorization,content-type,sentat", id="rudderstack"),
        pytest.param(
            "anonymousid,authorization,content-type,rsa-recovered,rsa-retry-attempt,rsa-retry-reason,"
            "rsa-since-first-attempt,rsa-since-last-attempt,sentat",
            id="rudderstack-retrying-a-stored-event",
        ),
    ],
)
def test_preflight_headers_the_sdks_send_first_or_on_retry_are_all_allowed(server, asked):
    # as their builds set them (tests/browser runs the builds): one header missing and the browser
    # drops the event, on a retry only for X-Retry-Count and the Rsa-* headers
    _, headers, _ = preflight(server, "/v1/track", PAGE, asked)
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(",")) - allowed == set()


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.example:5173"])
def test_preflight_other_origin_answers_without_allow_origin(server, origin):
    status, headers, _ = preflight(server, "/v1/identify", origin)
    assert status == 204
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize(
    "path", ["/v1/profiles/email/a@example.com", "/v1/sources", "/v1/decide", "/v1/nope"]
)
def test_preflight_on_a_route_no_page_calls_is_api_gateways_404(server, path):
    status, headers, body = preflight(server, path, PAGE)
    assert (status, body) == (404, b'{"message":"Not Found"}')
    assert "access-control-allow-origin" not in headers


def identify(anonymous_id):
    return json.dumps({"anonymousId": anonymous_id, "traits": {"firstName": "Анна"}}).encode()


def test_post_public_key_from_allowed_origin_is_accepted_and_readable(server, runtime):
    status, headers, body = request(server, "POST", "/v1/i", {
        "Origin": PAGE, "Authorization": "Basic YnJvd3Nlcl9sb2NhbF9rZXk6", "Content-Type": "text/plain",
    }, identify("anon-page-1"))  # fmt: skip
    assert (status, json.loads(body)) == (200, {"success": True})
    assert headers["access-control-allow-origin"] == PAGE
    assert headers["access-control-expose-headers"] == "Retry-After"  # a 429's or 503's, to the SDK
    [event] = [decode_event(m["Body"]) for m in runtime.peek("events")]
    assert (event.anonymous_id, event.source.source_id, event.source.public) == (
        "anon-page-1",
        "browser_local",
        True,
    )


def test_post_server_side_key_from_a_browser_is_refused_and_nothing_queued(server, runtime):
    status, headers, body = request(server, "POST", "/v1/identify", {
        "Origin": PAGE, "Authorization": "Bearer web_local_key", "Content-Type": "application/json",
    }, identify("anon-page-2"))  # fmt: skip
    assert status == 403
    assert json.loads(body) == {
        "code": "origin_not_allowed",
        "message": "Origin: source 'web_local' is server-side; a browser sends a public source's key",
    }
    assert headers["access-control-allow-origin"] == PAGE  # the page can read why
    assert runtime.peek("events") == []


def test_post_public_key_from_another_origin_is_refused(server, runtime):
    status, headers, body = request(server, "POST", "/beacon/v1/batch?writeKey=browser_local_key", {
        "Origin": "https://evil.example", "Content-Type": "text/plain",
    }, json.dumps({"batch": [{"type": "page", "anonymousId": "anon-3"}]}).encode())  # fmt: skip
    assert status == 403 and json.loads(body)["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in headers
    assert runtime.peek("events") == []


def test_post_without_origin_public_key_still_works_for_servers_and_apps(server, runtime):
    status, _, body = request(server, "POST", "/v1/identify", {
        "Authorization": "Bearer browser_local_key", "Content-Type": "application/json",
    }, identify("anon-app-4"))  # fmt: skip
    assert (status, json.loads(body)) == (200, {"success": True})


def test_admin_creates_public_source_whose_origin_preflights_within_the_key_cache(server, runtime):
    status, created = http(server, "POST", "/v1/sources", {
        "source_id": "shop_pages", "name": "Shop pages", "channel": "web", "public": True,
        "allowed_origins": ["https://Shop.example:443", "https://*.shop.example"],
    })  # fmt: skip
    assert status == 201
    assert created["source"]["public"] is True
    assert created["source"]["allowed_origins"] == ["https://*.shop.example", "https://shop.example"]
    runtime.clock.set(runtime.clock.now().replace(year=runtime.clock.now().year + 1))  # past the cache
    _, headers, _ = preflight(server, "/v1/t", "https://www.shop.example")
    assert headers["access-control-allow-origin"] == "https://www.shop.example"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"allowed_origins": ["https://shop.example/path"]}, "allowed_origins"),
        ({"public": True, "allowed_origins": ["*"]}, "allowed_origins"),
        ({"public": True, "allowed_origins": ["https://a.example"] * 51}, "allowed_origins"),
    ],
)
def test_admin_source_with_bad_origins_is_400_naming_allowed_origins(server, fields, message):
    status, answer = http(server, "POST", "/v1/sources", {
        "source_id": "bad_pages", "name": "Bad", "channel": "web", **fields,
    })  # fmt: skip
    assert status == 400 and answer["code"] == "invalid_request"
    assert message in answer["message"]


def test_page_asks_for_its_visitor_and_reads_the_answer(server, runtime):
    status, headers, body = request(server, "POST", "/v1/decide/visitor", {
        "Origin": PAGE, "Authorization": "Basic YnJvd3Nlcl9sb2NhbF9rZXk6", "Content-Type": "application/json",
        "Accept-Language": "en-US,en;q=0.9",
    }, json.dumps({"anonymous_id": "anon-page-5", "placement": "site_greeting"}).encode())  # fmt: skip
    assert status == 200, body
    assert (json.loads(body)["greeting"], json.loads(body)["locale"]) == ("Hello", "en")
    assert headers["access-control-allow-origin"] == PAGE
    assert headers["cache-control"] == "no-store"
