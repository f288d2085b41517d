"""Segment's analytics-next (its UMD build from npm, settings inline: no Segment CDN) on a shop page
of another origin, posting straight to the engine with the public key."""

import json

import pytest

from tests.browser.shop import (
    FORBIDDEN,
    check_events,
    check_retried_after_503,
    check_story_in_profile,
    fail_first_publish,
    profile,
    run_story,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("mode", "posted"),
    [
        ("standard", ["/v1/i", "/v1/p", "/v1/t", "/v1/t"]),  # one request per call, to its first letter
        ("batching", ["/v1/b"]),  # deliveryStrategy batching: the four calls in one batch
    ],
    ids=["standard", "batching"],
)
def test_analytics_next_from_another_origin_every_call_lands_in_the_profile(
    engine, shop_page, browser, browser_log, mode, posted
):
    user = f"analytics-next-{mode}"
    events = run_story(browser, shop_page, engine, sdk="segment", mode=mode, user=user)

    assert browser_log.problems() == []
    assert sorted((r.target, r.status) for r in engine.posts()) == [(path, 200) for path in posted]
    assert {(r.target, r.status) for r in engine.requests if r.method == "OPTIONS"} == {
        (path, 204) for path in posted
    }  # each path's preflight (the browser caches it: one per path)
    assert {r.headers["content-type"] for r in engine.posts()} == {"text/plain"}
    anonymous_id = check_events(browser, engine, events, user, "analytics.js", "Europe/Moscow")

    engine.runtime.run()
    view = check_story_in_profile(engine, user, anonymous_id)
    assert (view["timezone"], view["locale"]) == ({"zone": "Europe/Moscow", "evidence": "context"}, "ru-RU")


def test_analytics_next_first_attempt_answered_503_is_retried_with_its_header_and_lands_once(
    engine, shop_page, browser, browser_log, monkeypatch
):
    fail_first_publish(monkeypatch)
    user = "analytics-next-retry"
    events = run_story(browser, shop_page, engine, sdk="segment", mode="standard", user=user)

    identifies = [r for r in engine.posts() if r.target == "/v1/i"]
    assert [(r.status, r.headers.get("x-retry-count")) for r in identifies] == [
        (503, None),
        (200, "1"),  # a header of its own on the retry: the preflight allows it
    ]
    check_retried_after_503(engine, browser_log, events, user, "/v1/i")


def test_analytics_next_with_a_server_side_key_is_refused_403_and_nothing_lands(
    engine, shop_page, browser, browser_log
):
    user = "analytics-next-server-side-key"
    run_story(browser, shop_page, engine, sdk="segment", mode="standard", user=user, key="web_local_key")

    posts = engine.posts()
    assert sorted(r.target for r in posts) == ["/v1/i", "/v1/p", "/v1/t", "/v1/t"]
    assert {(r.status, r.answer) for r in posts} == {
        (403, json.dumps({
            "code": "origin_not_allowed",
            "message": "Origin: source 'web_local' is server-side; a browser sends a public source's key",
        }, ensure_ascii=False).encode())
    }  # fmt: skip
    assert browser_log.failed == []  # answered with the page's origin echoed: the SDK reads why
    assert sorted(browser_log.refused) == sorted(f"POST {engine.url}{r.target}: 403" for r in posts)
    assert browser_log.console == [FORBIDDEN] * 4
    assert browser.locator("#calls li").all_inner_texts() == [
        f"{call}: NonRetryableError: Non-retryable error: 403"
        for call in ("identify", "page", "track Product Viewed", "track Order Completed")
    ]  # the SDK dropped each event, and said why
    assert engine.queued() == []
    engine.runtime.run()
    assert profile(engine, "user_id", user)[0] == 404
