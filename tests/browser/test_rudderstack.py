"""RudderStack's JS SDK v3 (its bundled build from npm: plugins inside, no CDN; the source's settings
inline through getSourceConfig: no control plane) on a shop page of another origin, with the engine
as its data plane and the public key."""

import json

import pytest

from tests.browser.shop import (
    PUBLIC_KEY,
    check_events,
    check_retried_after_503,
    check_story_in_profile,
    fail_first_publish,
    run_story,
)

pytestmark = pytest.mark.slow
JSON = "application/json;charset=UTF-8"


@pytest.mark.parametrize(
    ("mode", "posted", "content_type"),
    [
        # XHR, one request per call, with its AnonymousId and SentAt headers (a preflight each)
        ("standard", ["/v1/identify", "/v1/page", "/v1/track", "/v1/track"], JSON),
        # navigator.sendBeacon: one text/plain batch, the key in the query (a beacon sets no header)
        ("beacon", [f"/beacon/v1/batch?writeKey={PUBLIC_KEY}"], "text/plain"),
    ],
    ids=["standard", "beacon"],
)
def test_rudderstack_from_another_origin_every_call_lands_in_the_profile_offset_never_a_zone(
    engine, shop_page, browser, browser_log, mode, posted, content_type
):
    user = f"rudderstack-{mode}"
    events = run_story(browser, shop_page, engine, sdk="rudderstack", mode=mode, user=user)

    assert browser_log.problems() == []
    assert sorted((r.target, r.status) for r in engine.posts()) == [(path, 200) for path in posted]
    assert {r.status for r in engine.requests if r.method == "OPTIONS"} <= {204}
    assert {r.headers["content-type"] for r in engine.posts()} == {content_type}
    # Moscow's offset as RudderStack writes it, not the zone's name; times from its originalTimestamp
    anonymous_id = check_events(browser, engine, events, user, "RudderLabs JavaScript SDK", "GMT+0300")

    engine.runtime.run()
    view = check_story_in_profile(engine, user, anonymous_id)
    assert (view["timezone"], view["locale"]) == (None, "ru-RU")  # an offset never becomes a zone


def test_rudderstack_first_attempt_answered_503_is_retried_with_its_headers_and_lands_once(
    engine, shop_page, browser, browser_log, monkeypatch
):
    fail_first_publish(monkeypatch)
    user = "rudderstack-retry"
    events = run_story(browser, shop_page, engine, sdk="rudderstack", mode="standard", user=user)

    [refused] = [r for r in engine.posts() if r.status == 503]
    [retried] = [r for r in engine.posts() if r.target == refused.target and "rsa-retry-attempt" in r.headers]
    assert (retried.status, retried.headers["rsa-retry-attempt"]) == (200, "1")
    assert json.loads(retried.body)["messageId"] == json.loads(refused.body)["messageId"]
    check_retried_after_503(engine, browser_log, events, user, refused.target)
