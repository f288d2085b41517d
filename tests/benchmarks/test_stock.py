"""Issue 21, item 7: the fan-out cost of a back-in-stock event for 10,000 interested customers,
and what the interest index adds to the event processor, on DynamoDB Local (section i).

(1) Interest writes. Through the real intake and event processor handlers (test_capacity's
``Driver`` and ``Meter``: ReturnConsumedCapacity on every call, AWS's rules where DynamoDB Local
differs): 100 customers each view a product for the first time, view it again the same day, and
add it to the cart. The figures are the processor's write units per event by kind, and the share
the interest item (``PutItem PROFILE/INTEREST``, gsi1 included) takes of them.

(2) Fan-out. ``INTERESTED`` customers (a profile with email consent, written in the store's own
format by BatchWriteItem) each have an interest in one product, recorded by the store's own
``record_interest``. The product, out of stock, is uploaded again in stock through the catalog use
case with the stock queue as announcer (as admin_api does); then the stock worker's handler drains
the stock queue (one page a message, ``ASUSUAL_STOCK_PAGE_SIZE`` = 500). Read and write units, SQS
messages (intents, pages) and the worker's wall time, per 1,000 customers; every DynamoDB operation
by name, and no Scan anywhere.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from asusual.catalog.service import upload
from asusual.clock import ManualClock
from asusual.identity.models import Identifier
from asusual.local.runtime import LocalRuntime
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, Stamped
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.catalog import DynamoCatalogRepository
from asusual.store.interests import DynamoInterestRepository
from asusual.store.profiles import profile_item
from asusual.store.queues import SqsStockJobs
from asusual.triggers.models import Interest
from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.support import process_state, quiet_logs
from tests.benchmarks.test_capacity import Driver, Meter, Tally
from tests.conftest import T0

SECTION = "i"
INTERESTED = 10_000
WORKERS = 8
# the interests' TTL ten years on: DynamoDB Local's TTL deleted some items whose expires_at (30
# days on, as deployed) was still ahead while this ran; the attribute's size is the same
EXPIRES_DAYS = 3650
VIEWERS = 100
PRODUCT = {"product_id": "kettle-1", "name": "Чайник Bork", "price": "3000.00", "currency": "RUB"}


@dataclass
class Measured:
    interest: dict[str, dict[str, float]]
    fanout: Tally
    patterns: dict[str, dict[str, float]]
    intents: int
    pages: int
    send_calls: int
    seconds: float
    scans: int


@contextlib.contextmanager
def stack(endpoint: str) -> Iterator[LocalRuntime]:
    table = f"asusual-bench-stock-{uuid.uuid4().hex[:10]}"
    with process_state(), quiet_logs():
        runtime = LocalRuntime(
            clock=ManualClock(T0, frozen=True), dynamodb_endpoint=endpoint, table_name=table
        )
        with runtime:
            runtime.consumers.pop("intents", None)  # the fan-out's cost ends at the intents queue
            yield runtime


def customers(count: int) -> list[Profile]:
    consent = {"email.marketing": Stamped(value={"subscribed": True}, at=T0 - timedelta(days=90), msg="m0")}
    out = []
    for n in range(count):
        pid = f"p_{n:08d}"
        email = f"c{n}@example.com"
        part = ProfileState(
            traits={
                "email": Stamped(value=email, at=T0 - timedelta(days=90), msg="m0"),
                "first_name": Stamped(value="Анна", at=T0 - timedelta(days=90), msg="m0"),
                "timezone": Stamped(value="Europe/Moscow", at=T0 - timedelta(days=90), msg="m0"),
            },
            subscriptions=consent,
            identifiers=frozenset({Identifier(kind="email", value=email)}),
            first_seen=T0 - timedelta(days=90),
            last_seen=T0 - timedelta(days=2),
        )
        out.append(Profile(profile_id=pid, created_at=T0 - timedelta(days=90), parts={pid: part}))
    return out


def load(profiles: list[Profile]) -> None:
    db, table = clients.dynamodb(), get_settings().table_name
    interests = DynamoInterestRepository(db, table)

    def write(batch: list[Profile]) -> None:
        request = {table: [{"PutRequest": {"Item": profile_item(p)}} for p in batch]}
        while request:
            request = db.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        for n, p in enumerate(batch):
            at = T0 - timedelta(days=1 + n % 20, minutes=n)
            interest = Interest(
                profile_id=p.profile_id, product_id=PRODUCT["product_id"], at=at, how="viewed"
            )
            interests.record_interest(interest, at + timedelta(days=EXPIRES_DAYS))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(write, [profiles[i : i + 25] for i in range(0, len(profiles), 25)]))


def track(user: str, event: str, product: str) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "properties": {"product_id": product}}


def interest_costs(runtime: LocalRuntime, meter: Meter) -> dict[str, dict[str, float]]:
    driver = Driver(runtime, meter)
    users = [f"u-{n}" for n in range(VIEWERS)]
    identify = [{"type": "identify", "userId": u, "traits": {"email": f"{u}@example.com"}} for u in users]
    driver.send("setup_identify", identify)
    plan = {
        "view_first": [track(u, "Product Viewed", "toaster-1") for u in users],
        "view_again_same_day": [track(u, "Product Viewed", "toaster-1") for u in users],
        "add_to_cart": [track(u, "Product Added", "toaster-1") for u in users],
    }
    out: dict[str, dict[str, float]] = {}
    for kind, messages in plan.items():
        driver.send(kind, messages)
        total, interest = Tally(), Tally()
        for (function, k, pattern), tally in meter.dynamo.items():
            if function == "processor" and k == kind:
                total.add(tally)
                if "INTEREST" in pattern:
                    interest.add(tally)
        events = driver.events[kind]
        out[kind] = {
            "events": events,
            "processor_write_per_event": round(total.write / events, 3),
            "interest_write_per_event": round(interest.write / events, 3),
            "interest_writes": interest.calls,
        }
    return out


def fan_out(runtime: LocalRuntime, meter: Meter) -> tuple[float, int]:
    repo = DynamoCatalogRepository(clients.dynamodb(), get_settings().table_name)
    jobs = SqsStockJobs(clients.sqs(), runtime.queue_urls["stock"])
    consumer = runtime.consumers["stock"]
    inner, pages = consumer.handler, Counter[str]()

    def worker(event: dict[str, Any], context: Any) -> Any:
        pages["pages"] += len(event["Records"])
        with meter.scope("stock_worker", "fanout"):
            return inner(event, context)

    consumer.handler = worker
    runtime.clock.set(T0 + timedelta(hours=1))
    with meter.scope("admin", "fanout"):
        result = upload(repo, {**PRODUCT, "in_stock": True}, runtime.clock.now(), announcer=jobs)
    assert result.accepted == [PRODUCT["product_id"]]
    start = time.perf_counter()
    with meter.scope("esm", "fanout"):
        report = runtime.drain(depths=False)
    seconds = time.perf_counter() - start
    assert report["stock"]["failed"] == 0, report
    return seconds, pages["pages"]


@pytest.fixture(scope="module")
def measured(dynamodb_local: Any) -> Measured:
    with stack(dynamodb_local.endpoint) as runtime:
        meter = Meter()
        meter.attach_dynamodb(clients.dynamodb())
        meter.attach_sqs(clients.sqs())
        scans = Counter[str]()
        clients.dynamodb().meta.events.register(
            "before-call.dynamodb.Scan", lambda **_: scans.update(["scan"]), unique_id="bench-no-scan"
        )
        interest = interest_costs(runtime, meter)
        # the fan-out: the product out of stock, 10,000 interested customers, then back in stock
        repo = DynamoCatalogRepository(clients.dynamodb(), get_settings().table_name)
        upload(repo, {**PRODUCT, "in_stock": False}, T0)
        load(customers(INTERESTED))
        seconds, pages = fan_out(runtime, meter)
        total, patterns = Tally(), {}
        for (function, kind, pattern), tally in meter.dynamo.items():
            if kind == "fanout" and function in ("admin", "stock_worker"):
                total.add(tally)
                patterns[f"{function}: {pattern}"] = {
                    "calls": tally.calls,
                    "read": round(tally.read, 1),
                    "write": round(tally.write, 1),
                }
        sent = sum(t.send_messages for (f, k), t in meter.sqs.items() if k == "fanout")
        calls = sum(t.send_calls for (f, k), t in meter.sqs.items() if k == "fanout")
        intents = runtime.depth("intents")
        assert intents == INTERESTED and sent == intents + pages, (intents, sent, pages)
        return Measured(interest, total, patterns, intents, pages, calls, seconds, scans["scan"])


def test_interest_index_write_cost_per_product_viewed_and_product_added(measured: Measured) -> None:
    costs = measured.interest
    first = record(
        Figure(
            SECTION,
            "interest index: extra write units, first Product Viewed of a product",
            costs["view_first"]["interest_write_per_event"],
            "WCU/event",
            id="interest_wru_view_first",
            limit=2.0,
            note="PutItem PROFILE/INTEREST: the item and its gsi1 entry, 1 unit each",
            detail=costs,
        )
    )
    again = record(
        Figure(
            SECTION,
            "interest index: extra write units, Product Viewed again within a day",
            costs["view_again_same_day"]["interest_write_per_event"],
            "WCU/event",
            id="interest_wru_view_again_same_day",
            limit=0.0,
        )
    )
    added = record(
        Figure(
            SECTION,
            "interest index: extra write units, Product Added after a view",
            costs["add_to_cart"]["interest_write_per_event"],
            "WCU/event",
            id="interest_wru_add_after_view",
            limit=3.0,
            note="the item, and its gsi1 entry moved (its sort key is the time): delete + put",
        )
    )
    check(first, again, added)
    assert costs["view_again_same_day"]["interest_writes"] == 0


def test_back_in_stock_fan_out_to_10000_customers_reads_the_index_never_scans(measured: Measured) -> None:
    per_k = INTERESTED / 1000
    m = measured
    detail = {"patterns": m.patterns, "pages": m.pages, "send_calls": m.send_calls, "scans": m.scans}
    figures = [
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: read units per 1,000",
                m.fanout.read / per_k,
                "RCU/1k customers",
                id="back_in_stock_rru_per_1k",
                note="index Query + profiles, eventually consistent (merges, consent) + progress",
                detail=detail,
            )
        ),
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: write units per 1,000",
                m.fanout.write / per_k,
                "WCU/1k customers",
                id="back_in_stock_wru_per_1k",
                limit=5.0,
                note="the product and the fan-out's progress, a page at a time",
            )
        ),
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: intents per customer",
                m.intents / INTERESTED,
                "messages/customer",
                id="back_in_stock_intents_per_customer",
                limit=1.0,
            )
        ),
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: SQS messages per 1,000",
                (m.intents + m.pages) / per_k,
                "messages/1k customers",
                id="back_in_stock_sqs_messages_per_1k",
                note="intents + fan-out pages",
            )
        ),
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: worker wall time per 1,000",
                m.seconds / per_k,
                "s/1k customers",
                id="back_in_stock_seconds_per_1k",
                note="DynamoDB Local and moto's SQS on this machine",
            )
        ),
        record(
            Figure(
                SECTION,
                "back in stock, 10k interested: Scan calls",
                m.scans,
                "calls",
                limit=0.0,
                id="back_in_stock_scan_calls",
            )
        ),
    ]
    check(*figures)
    assert m.pages == INTERESTED // 500 + 1  # the last page finds the end
    assert not [p for p in m.patterns if "Scan" in p]
