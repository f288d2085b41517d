"""Issue 17, item 10: how long the embedded default of ``make serve`` (the table in moto, the
local queues of asusual.local.queues) takes to take in and drain 10,000 events with redelivery.
Target: a few minutes (≤ 180 s) on this 2-core machine; before the local queues, 4,400 events
were still draining after 13 minutes.

Method. ``LocalRuntime()`` as ``make serve`` starts it, the clock frozen at ``T0``, the catalog
of test_capacity (24 products). 10,000 Segment messages of ``CUSTOMERS`` customers (each one's
first message an identify with email, phone, birthday and email consent; then 70 % track
(Product Viewed / Added), 20 % identify re-sending every trait, 10 % Order Completed with 3
products), timestamped over the hours before ``T0``, go through the intake Lambda handler 100 per
request (/v1/batch), all before any is consumed: a backlog of 10,000 on the events queue. Then
``runtime.run()`` (until no queue has work) feeds the event processor SQS batches of the stack's
size (100 since issue 22), and the intents the orders emit to the dispatcher (each delivered to
the local outbox). The event source mapping's redelivery is exercised: the event processor fails
the first delivery of every 10th message (a partial batch failure); the runtime makes it visible
again and it comes back with ApproximateReceiveCount 2.

Figures: the wall time from the first request to the idle queues (target ≤ 180 s), with the
intake's and the drain's shares, and the events taken in and applied per second."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from typing import Any

from asusual.clock import ManualClock
from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext, LocalRuntime
from asusual.store.queues import decode_event
from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.support import process_state, quiet_logs
from tests.benchmarks.test_capacity import Workload, basic, iso, put_catalog
from tests.conftest import T0

EVENTS = 10_000
CUSTOMERS = 300
PER_REQUEST = 100
FAIL_EVERY = 10  # the first delivery of every 10th message fails
TARGET_SECONDS = 180.0


def messages(work: Workload, count: int) -> list[dict[str, Any]]:
    """Each customer's first message an identify (a sign-up), the rest of the mix at random; one
    second apart, the last a second before ``T0``."""
    rng = random.Random(17)
    chosen = list(work.customers) + [rng.choice(work.customers) for _ in range(count - len(work.customers))]
    rng.shuffle(chosen)
    seen: set[str] = set()
    out = []
    for position, customer in enumerate(chosen):
        at = T0 - timedelta(seconds=count - position)
        if customer.user_id not in seen:
            make = work.identify
        else:
            make = rng.choices((work.track, work.identify, work.order), weights=(70, 20, 10))[0]
        seen.add(customer.user_id)
        message = make(customer, at)
        message["timestamp"] = message["sentAt"] = iso(at)
        out.append(message)
    return out


def test_local_runtime_drains_10000_events_with_redelivery_within_minutes():
    from functions.intake_api import handler as intake

    work = Workload(CUSTOMERS, seed=17)
    batch = messages(work, EVENTS)
    kinds = {
        "identify": sum(m["type"] == "identify" for m in batch),
        "order": sum(m.get("event") == "Order Completed" for m in batch),
    }
    kinds["track"] = EVENTS - kinds["identify"] - kinds["order"]
    with process_state(), quiet_logs(), LocalRuntime(clock=ManualClock(T0, frozen=True)) as runtime:
        put_catalog(work.products, T0 - timedelta(days=1))
        deliveries: dict[str, int] = {}
        processor = runtime.consumers["events"].handler

        def failing_first_delivery(event: dict[str, Any], context: Any) -> Any:
            failed = []
            passed = []
            for record_ in event["Records"]:
                message_id = decode_event(record_["body"]).message_id
                deliveries[message_id] = deliveries.get(message_id, 0) + 1
                if int(message_id.replace("-", ""), 16) % FAIL_EVERY == 0 and deliveries[message_id] == 1:
                    failed.append({"itemIdentifier": record_["messageId"]})
                else:
                    passed.append(record_)
            answer = processor({**event, "Records": passed}, context) if passed else {}
            return {"batchItemFailures": failed + list((answer or {}).get("batchItemFailures", []))}

        runtime.consumers["events"].handler = failing_first_delivery
        started = time.perf_counter()
        for start in range(0, EVENTS, PER_REQUEST):
            chunk = batch[start : start + PER_REQUEST]
            body = json.dumps({"batch": chunk, "sentAt": chunk[-1]["sentAt"]}, ensure_ascii=False).encode()
            headers = {"content-type": "application/json", "authorization": basic("web_local_key")}
            result = intake.lambda_handler(
                api_gateway_event("POST", "/v1/batch", headers, body), LocalContext("intake_api")
            )
            assert result["statusCode"] == 200 and json.loads(result["body"]) == {"success": True}, result
        queued = runtime.depth("events")
        taken_in = time.perf_counter()
        totals = {"events": dict.fromkeys(("delivered", "failed"), 0), "intents": {"delivered": 0}}
        runs = 0
        while True:
            report = runtime.run()["queues"]
            runs += 1
            totals["events"]["delivered"] += report["events"]["delivered"]
            totals["events"]["failed"] += report["events"]["failed"]
            totals["intents"]["delivered"] += report["intents"]["delivered"]
            if all(q["waiting"] == 0 for q in report.values()):
                break
        drained = time.perf_counter()
        dead = {name: report[name]["dead_lettered"] for name in report}
        sent = len(runtime.outbox.records())

    redelivered = sum(1 for count in deliveries.values() if count > 1)
    assert queued == EVENTS
    assert totals["events"] == {"delivered": EVENTS, "failed": redelivered}
    assert len(deliveries) == EVENTS and set(deliveries.values()) <= {1, 2}
    assert dead == dict.fromkeys(("events", "intents", "segments", "stock"), 0)  # every queue's DLQ empty
    total = drained - started
    detail = {
        "events": EVENTS,
        "customers": CUSTOMERS,
        "kinds": kinds,
        "intake_seconds": round(taken_in - started, 1),
        "drain_seconds": round(drained - taken_in, 1),
        "redelivered": redelivered,
        "run_calls": runs,
        "intents_delivered": totals["intents"]["delivered"],
        "outbox_messages": sent,
    }
    figures = [
        record(
            Figure(
                "f",
                "local mode: 10,000 events taken in and drained, with redelivery",
                round(total, 1),
                "s",
                id="local_drain_seconds",
                limit=TARGET_SECONDS,
                note=f"intake {taken_in - started:.0f} s, drain {drained - taken_in:.0f} s; "
                f"{redelivered} redelivered",
                detail=detail,
            )
        ),
        record(
            Figure(
                "f",
                "local mode: events applied per second while draining",
                round(EVENTS / (drained - taken_in), 1),
                "events/s",
                id="local_drain_events_per_second",
                note=f"{EVENTS / total:.1f} events/s from the first request to idle queues",
            )
        ),
    ]
    check(*figures)
