"""The shop page's story (pages/shop.js: identify, page, Product Viewed, Order Completed) and what
the engine made of it, for the tests of each SDK."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from asusual.intake.models import IntakeEvent
from asusual.store.queues import decode_event
from tests.browser.support import BrowserLog, RecordingGateway, StaticSite, screenshot, wait_until
from tests.conftest import T0
from tests.integration.local_http import http

PUBLIC_KEY = "browser_local_key"  # local mode's public web source, allowing http://127.0.0.1:*
CALLS = [("identify", None), ("page", "Product"), ("track", "Order Completed"), ("track", "Product Viewed")]
UNAVAILABLE = (
    "console: Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
)
FORBIDDEN = "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"


def open_shop(page: Any, site: StaticSite, engine: RecordingGateway, *, sdk: str, mode: str, user: str,
              key: str = PUBLIC_KEY) -> None:  # fmt: skip
    """Load the shop page with ``sdk`` pointed at ``engine`` and wait until the SDK took every call."""
    page.goto(site.url("pages/shop.html", sdk=sdk, mode=mode, user=user, key=key, engine=engine.url))
    wait_until(page, "window.shopDone")


def run_story(page: Any, site: StaticSite, engine: RecordingGateway, *, sdk: str, mode: str, user: str,
              key: str = PUBLIC_KEY) -> list[IntakeEvent]:  # fmt: skip
    """The shop page's calls through ``sdk``: the events that landed (none are waited for with a
    key other than the public one), and tests/browser/artifacts/<user>.png."""
    open_shop(page, site, engine, sdk=sdk, mode=mode, user=user, key=key)
    events = landed(engine) if key == PUBLIC_KEY else []
    screenshot(page, user)
    return events


def landed(engine: RecordingGateway, count: int = len(CALLS)) -> list[IntakeEvent]:
    """The events on the queue once ``count`` have arrived, in the order of CALLS."""
    events = [decode_event(m["Body"]) for m in engine.wait_for_events(count)]
    return sorted(events, key=lambda e: (e.type.value, e.event or e.name or ""))


def calls(events: list[IntakeEvent]) -> list[tuple[str, str | None]]:
    return [(e.type.value, e.event or e.name) for e in events]


def sent_messages(engine: RecordingGateway) -> dict[str, dict[str, Any]]:
    """Every message the SDK posted, by messageId, with its batch's sentAt when it has none."""
    found: dict[str, dict[str, Any]] = {}
    for request in engine.posts():
        body = json.loads(request.body)
        for message in body.get("batch", [body]):
            found[message["messageId"]] = {"sentAt": body.get("sentAt"), **message}
    return found


def expected_time(message: dict[str, Any]) -> datetime:
    """When the event happened by Segment's clock-skew correction, the arrival being the local
    clock's T0: ``receivedAt - (sentAt - timestamp)``, the client's time being ``timestamp`` or
    RudderStack's ``originalTimestamp``."""
    client = datetime.fromisoformat(message.get("timestamp") or message["originalTimestamp"])
    sent_at = datetime.fromisoformat(message["sentAt"])
    return T0 - (sent_at - client)


def profile(engine: RecordingGateway, kind: str, value: str) -> tuple[int, Any]:
    """(status, JSON) of the read API's view of a profile, over HTTP with the read key."""
    return http(engine, "GET", f"/v1/profiles/{kind}/{quote(value, safe='')}", key="read_local_key")


def outbox(engine: RecordingGateway) -> list[dict[str, Any]]:
    status, records = http(engine, "GET", "/_local/outbox")
    assert status == 200
    return records


def check_events(page: Any, engine: RecordingGateway, events: list[IntakeEvent], user: str, library: str,
                 zone: str) -> str:  # fmt: skip
    """Every call landed once from the public web source, as the SDK's library, with the device's
    ``zone`` as the SDK wrote it, from the visitor the SDK keeps, at the time the SDK said; the
    visitor's anonymous id."""
    assert calls(events) == CALLS
    assert {(e.source.source_id, e.source.public, e.source.channel.value, e.user_id) for e in events} == {
        ("browser_local", True, "web", user)
    }
    assert {(e.context["library"]["name"], e.context["timezone"]) for e in events} == {(library, zone)}
    [anonymous_id] = {e.anonymous_id for e in events}
    assert anonymous_id == page.evaluate("() => window.shopAnonymousId")
    check_times(engine, events)
    return anonymous_id


def check_retried_after_503(engine: RecordingGateway, log: BrowserLog, events: list[IntakeEvent], user: str,
                            target: str) -> None:  # fmt: skip
    """The request to ``target`` answered 503 was the page's only failure; every call landed once
    and made the profile."""
    assert log.failed == []
    assert log.refused == [f"POST {engine.url}{target}: 503"]
    assert log.console == [UNAVAILABLE]  # Chromium's own line for an answer ≥ 400
    assert calls(events) == CALLS
    engine.runtime.run()
    check_story_in_profile(engine, user, events[0].anonymous_id)


def check_story_in_profile(engine: RecordingGateway, user: str, anonymous_id: str) -> dict[str, Any]:
    """After a run: the customer's profile holds the identify's traits and the order, the page's
    visitor (the SDK's anonymous id) is the same person, and the order's email went out."""
    status, view = profile(engine, "user_id", user)
    assert status == 200, view
    assert (view["first_name"], view["email"], view["channels"]) == ("Анна", f"{user}@example.com", ["web"])
    tenure = view["tenure"]
    assert (tenure["order_count"], tenure["revenue"]) == (1, {"RUB": 980.0})
    last = {k: v for k, v in tenure["last_order"].items() if k != "at"}
    assert last == {"order_id": f"order-{user}", "total": 980.0, "currency": "RUB", "channel": "web"}
    assert [(p["product_id"], p["name"], p["orders"], p["quantity"]) for p in view["purchases"]] == [
        ("hand-cream-50", "Hand cream 50 ml", 1, 2.0)
    ]
    assert profile(engine, "anonymous_id", anonymous_id)[1]["profile_id"] == view["profile_id"]
    sent = [(r["channel"], r["to"], r["trigger"], r["subject"]) for r in outbox(engine)]
    assert sent == [("email", f"{user}@example.com", "order_placed", f"Заказ № order-{user} принят")]
    return view


def check_times(engine: RecordingGateway, events: list[IntakeEvent]) -> None:
    """Each event is timed as its SDK said, corrected for the browser's clock: exact to the ms."""
    sent = sent_messages(engine)
    assert {e.message_id: e.timestamp for e in events} == {
        e.message_id: expected_time(sent[e.message_id]) for e in events
    }
    assert all(T0 - timedelta(seconds=30) < e.timestamp <= T0 for e in events)


def fail_first_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    """The events queue refuses the intake's first send: the engine answers that request 503 with
    Retry-After, as it does when SQS fails, and every later one as usual."""
    from asusual.errors import TransientError
    from asusual.store.queues import SqsEventPublisher

    original = SqsEventPublisher.publish
    failed: list[bool] = []

    def publish(self: SqsEventPublisher, items: Any) -> None:
        if not failed:
            failed.append(True)
            raise TransientError("the events queue refused the message(s); retry")
        original(self, items)

    monkeypatch.setattr(SqsEventPublisher, "publish", publish)
