"""Segment-shaped events and small helpers for the engine tier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

MOSCOW = "Europe/Moscow"
EMAIL_MARKETING = {"email": {"marketing": True}}


def identify(
    user: str, ts: str = "2026-11-23T09:00:00Z", message_id: str | None = None, **traits: Any
) -> dict:
    event: dict[str, Any] = {"type": "identify", "userId": user, "traits": traits, "timestamp": ts}
    if message_id:
        event["messageId"] = message_id
    return event


def order(
    user: str | None,
    event: str,
    order_id: str,
    ts: str = "2026-11-23T09:00:00Z",
    message_id: str | None = None,
    **props: Any,
) -> dict:
    body: dict[str, Any] = {
        "type": "track",
        "event": event,
        "properties": {"order_id": order_id, **props},
        "timestamp": ts,
        "messageId": message_id or f"{event}-{order_id}-{ts}",
    }
    if user is not None:
        body["userId"] = user
    return body


def product(product_id: str, **fields: Any) -> dict:
    return {
        "product_id": product_id,
        "name": f"Product {product_id}",
        "price": "100.00",
        "currency": "RUB",
    } | fields


def utc(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


def epoch(instant: datetime) -> int:
    return int(instant.timestamp())


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def mine(outbox: Any, profile_id: str) -> list[dict]:
    return [m for m in outbox() if m["profile_id"] == profile_id]


def concurrently(*calls: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run each call in a thread of its own; their results in order (an exception is re-raised)."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(position: int, call: Callable[[], Any]) -> None:
        try:
            results[position] = call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, c), daemon=True) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


class Rendezvous:
    """The first ``parties`` callers of :meth:`meet` wait for each other (so they have all read
    before any of them writes); later callers and a broken meeting pass straight on."""

    def __init__(self, parties: int = 2, timeout: float = 60) -> None:
        self._barrier = threading.Barrier(parties)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._left = parties
        self.met = False

    def meet(self) -> None:
        with self._lock:
            if self._left == 0:
                return
            self._left -= 1
        try:
            self._barrier.wait(self._timeout)
            self.met = True
        except threading.BrokenBarrierError:
            pass


def sqs_records(runtime: Any, queue: str) -> list[Any]:
    """The messages waiting on a queue as the SQSRecords Lambda hands a consumer (they stay)."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from asusual.local.runtime import ACCOUNT, sqs_record

    arn = f"arn:aws:sqs:{runtime.region}:{ACCOUNT}:{queue}"
    return [SQSRecord(sqs_record(m, arn, runtime.region)) for m in runtime.peek(queue)]


def index_queries(calls: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The gsi1 Queries among ``calls`` whose partition starts with ``prefix``, in call order."""
    return [
        c
        for c in calls
        if c["op"] == "Query"
        and c["params"].get("IndexName") == "gsi1"
        and c["params"]["ExpressionAttributeValues"][":p"]["S"].startswith(prefix)
    ]
