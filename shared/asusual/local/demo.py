"""``make demo``: the local stack, driven over HTTP by the stock Segment client.

At this stage of the project the story ends at the events queue: what each channel system sent,
as the event processor will receive it. It checks its expectations and exits non-zero if one
fails. Later capabilities (profiles, triggers, delivery) extend the story.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from asusual.intake.models import IntakeEvent
from asusual.local.gateway import LocalGateway
from asusual.local.runtime import ADMIN_KEY, LocalRuntime
from asusual.store.queues import decode_event

START = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 10:30 in Moscow


def _call(
    url: str, method: str, path: str, key: str, body: dict[str, Any] | None = None, *, basic: bool = False
) -> tuple[int, dict[str, Any]]:
    """One HTTP call to the local gateway (write keys as Segment sends them, Basic key:)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("url: the demo only talks to the local gateway")
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode() if basic else f"Bearer {key}"
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only, checked above
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _post(url: str, path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    return _call(url, "POST", path, key, body, basic=True)


def _get(url: str, path: str, key: str) -> tuple[int, dict[str, Any]]:
    return _call(url, "GET", path, key)


def story(url: str) -> list[str]:
    """Play the channel systems' calls; returns failed expectations."""
    from segment.analytics.client import Client

    failures: list[str] = []

    def expect(condition: bool, what: str) -> None:
        print(f"  {'ok ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    _call(url, "POST", "/_local/clock", ADMIN_KEY, {"now": START.isoformat(), "frozen": True})

    print("1. The web shop (analytics-python, gzip) sees an anonymous visitor who then signs in")
    web = Client(write_key="web_local_key", host=url, sync_mode=True, gzip=True, max_retries=0)
    web.page(anonymous_id="anon-7f3a", category="Catalog", name="Cat food", properties={"path": "/cat-food"})
    web.identify(
        "anna-1001",
        {"email": "Anna.Petrova@Example.com", "firstName": "Анна", "phone": "+7 916 123-45-67"},
        anonymous_id="anon-7f3a",
    )
    web.flush()

    print("2. The store POS (its clock 2 hours fast) reports a purchase by phone number")
    pos_clock = START + timedelta(hours=2)
    status, _ = _post(
        url,
        "/v1/track",
        {
            "anonymousId": "pos-terminal-3",
            "event": "Order Completed",
            "messageId": "pos-3-000815",
            "timestamp": (pos_clock - timedelta(minutes=5)).isoformat(),
            "sentAt": pos_clock.isoformat(),
            "context": {"traits": {"phone": "8 (916) 123-45-67"}},
            "properties": {
                "order_id": "R-815",
                "total": 1290,
                "currency": "RUB",
                "products": [{"product_id": "purina-one-750", "quantity": 2, "price": 645}],
            },
        },
        "store_local_key",
    )
    expect(status == 200, "POS purchase accepted")

    print("3. The email service sends a batch with one broken message")
    status, answer = _post(
        url,
        "/v1/batch",
        {
            "batch": [
                {"type": "track", "userId": "anna-1001", "event": "Email Opened", "messageId": "esp-1"},
                {"type": "track", "event": "Email Clicked", "messageId": "esp-2"},
            ],
            "context": {"campaign": {"name": "winter-care"}},
        },
        "email_local_key",
    )
    rejected = answer.get("rejected", [])
    expect(status == 200 and len(rejected) == 1, "batch answered 200; the valid message kept")
    if rejected:
        print(
            f"       rejected #{rejected[0]['index']} ({rejected[0]['messageId']}): {rejected[0]['reason']}"
        )

    print("4. A misconfigured call-center integration uses a wrong key")
    status, answer = _post(url, "/v1/identify", {"userId": "x"}, "wrong_key")
    expect(status == 401, f"wrong key refused: {status} {answer.get('code')}")
    return failures


def table(events: list[IntakeEvent]) -> None:
    print()
    print(
        f"{'source':<14} {'channel':<8} {'type':<9} {'event/name':<16} {'who':<22} {'event time (UTC)':<20}"
    )
    print("-" * 92)
    for e in sorted(events, key=lambda e: e.timestamp):
        who = e.user_id or f"anon:{e.anonymous_id}"
        what = e.event or e.name or ""
        print(
            f"{e.source.source_id:<14} {e.source.channel.value:<8} {e.type.value:<9} {what:<16} {who:<22} "
            f"{e.timestamp:%Y-%m-%d %H:%M:%S}"
        )


def main() -> int:
    runtime = LocalRuntime().start()
    gateway = LocalGateway(runtime, port=0).start()
    try:
        print(f"asusual demo: local stack on {gateway.url}, clock set to {START:%Y-%m-%d %H:%M} UTC\n")
        failures = story(gateway.url)
        events = [decode_event(m["Body"]) for m in runtime.peek("events", limit=1000)]
        table(events)
        print()
        by_id = {e.message_id: e for e in events}
        pos = by_id.get("pos-3-000815")
        checks = [
            (len(events) == 4, f"4 valid events on the events queue (found {len(events)})"),
            (
                pos is not None and pos.timestamp == START - timedelta(minutes=5),
                "POS clock skew corrected: purchase at 07:25 UTC, not the POS's 09:25",
            ),
            (
                pos is not None and pos.source.timezone == "Europe/Moscow",
                "POS event carries its source's timezone (Europe/Moscow) and country (RU)",
            ),
            (
                "esp-2" not in by_id and "esp-1" in by_id,
                "email batch: the broken message rejected, the other kept",
            ),
            (
                all(e.source.channel.value in {"web", "store", "email"} for e in events),
                "every event names its channel",
            ),
        ]
        for ok, what in checks:
            print(f"  {'ok ' if ok else 'FAIL'} {what}")
            if not ok:
                failures.append(what)
        print()
        print("5. The event processor runs (POST /_local/run): one profile per person")
        _call(gateway.url, "POST", "/_local/run", ADMIN_KEY, {})
        _, by_user = _get(gateway.url, "/v1/profiles/user_id/anna-1001", "read_local_key")
        _, by_phone = _get(gateway.url, "/v1/profiles/phone/8%20(916)%20123-45-67", "read_local_key")
        _, by_anon = _get(gateway.url, "/v1/profiles/anonymous_id/anon-7f3a", "read_local_key")
        terminal_status, _ = _get(gateway.url, "/v1/profiles/anonymous_id/pos-terminal-3", "read_local_key")
        tenure = by_user.get("tenure", {})
        print(
            f"   {by_user.get('display_name')} <{by_user.get('email')}> {by_user.get('phone')}: "
            f"channels {by_user.get('channels')}, orders {tenure.get('order_count')}, "
            f"revenue {tenure.get('revenue')}, stage {tenure.get('stage')}"
        )
        checks = [
            (
                by_user.get("profile_id") == by_phone.get("profile_id") == by_anon.get("profile_id"),
                "the site visitor, the account and the POS buyer (by phone, any format) are one profile",
            ),
            (
                tenure.get("order_count") == 1 and by_user.get("channels") == ["email", "store", "web"],
                "the store purchase counts on the online account; every channel is known",
            ),
            (terminal_status == 404, "the store terminal's id belongs to nobody (shared device)"),
        ]
        for ok, what in checks:
            print(f"  {'ok ' if ok else 'FAIL'} {what}")
            if not ok:
                failures.append(what)
        print()
        if failures:
            print(f"demo FAILED: {len(failures)} expectation(s) did not hold", file=sys.stderr)
            return 1
        print("demo passed: every expectation held")
        return 0
    finally:
        gateway.stop()
        runtime.stop()


if __name__ == "__main__":
    raise SystemExit(main())
