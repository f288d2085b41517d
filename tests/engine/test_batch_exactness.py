"""Issue 22, item 5: exactness on the real engine under 8 concurrent workers, with SQS batches
of up to 100 records mixing many customers, shuffled, and every record delivered at least twice.

The workload is a shop's day in three phases, two hours apart (an order is placed, later shipped,
later delivered: a status is never sent before the one it follows has been processed, as in a shop
where they are hours apart). Each phase's Segment messages go through the intake handler onto the
events queue and are taken off it as the event source mapping hands them over. Every message is
then delivered twice, in two independent shuffles cut into batches of up to 100; a few batches a
third time, at the same moment as their first delivery; and a few of the phase before's messages
once more (a late duplicate). In those first deliveries 2% of the DynamoDB calls fail, some
after the write was made (its answer lost). The batches are dealt to 8 forked worker processes
(each one Lambda execution environment: its own clients and caches) calling
``functions.event_processor.handler.lambda_handler``; a record reported in ``batchItemFailures``
(or of an invocation that raised) is delivered again in the next round, as SQS would, until none
fails. What the workers publish (the intents) is carried to the test's queues, and the
dispatcher drains them at the end of each phase, as it would run at once in AWS.

The answers are exact, derived from the workload alone: one live profile per customer holding
every identifier she used, each trait the value of her latest event by event time, her consent
the latest she stated, her order count and revenue, the members and size counters of four live
segments, and exactly one message per order and status (the send-once keys of the intents are
exactly the (order, status) pairs sent, whatever duplicates the redeliveries published)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from asusual.local.functions import DISPATCHER, EVENT_PROCESSOR, LocalFunction
from asusual.local.runtime import ACCOUNT, LocalContext, LocalRuntime, sqs_record
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.segments import DynamoSegmentRepository
from asusual.store.triggers import DynamoTriggerRepository
from tests.forked import in_forked_workers

pytestmark = pytest.mark.slow

WORKERS = 8
BATCH = EVENT_PROCESSOR.batch_size  # the most records the event source mapping hands one invocation
CUSTOMERS = 200
ORDERS = 2000
PHASE = timedelta(hours=2)
MAX_ROUNDS = 10  # deliveries of a record that keeps failing, beyond its first two
# in the first delivery of each phase, this share of the workers' DynamoDB calls fails: half
# before the call (nothing done), half of the writes after it (done, but the answer is lost)
FAULT_RATE = 0.02
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
READS = frozenset({"GetItem", "BatchGetItem", "Query", "TransactGetItems"})
SEGMENTS = {
    "tea-twice": {"purchased": {"category": "tea", "min_count": 2}},
    "many-orders": {"orders": {"count_gte": 12}},
    "points-high": {"trait": "points", "gte": 500},
    "subscribed": {"consent": {"channel": "email", "topic": "marketing"}},
}
STATUS_EVENTS = {"placed": "Order Completed", "shipped": "Order Shipped", "delivered": "Order Delivered"}


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Order:
    order_id: str
    customer: int
    tea: bool
    total: int
    statuses: list[str] = field(default_factory=list)  # in the phases' order


@dataclass
class Customer:
    n: int
    phone: bool  # half of them give a phone number too
    second_browser: bool  # a third browse anonymously in another browser, tied by a later identify
    points: list[tuple[datetime, int]] = field(default_factory=list)
    consent: list[tuple[datetime, bool]] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    @property
    def user(self) -> str:
        return f"u-{self.n}"

    @property
    def email(self) -> str:
        return f"c{self.n}@example.com"

    @property
    def phone_number(self) -> str:
        return f"+7916{self.n:07d}"

    def identifiers(self) -> list[tuple[str, str]]:
        found = [("user_id", self.user), ("email", self.email), ("anonymous_id", f"a-{self.n}")]
        if self.phone:
            found.append(("phone", self.phone_number))
        if self.second_browser:
            found.append(("anonymous_id", f"b-{self.n}"))
        return found

    def latest_points(self) -> int:
        return max(self.points)[1]

    def latest_consent(self) -> bool:
        return max(self.consent)[1]


class Workload:
    """The shop's customers and orders, and the Segment messages of each phase (by event time
    within the phase's window: the 90 minutes before the phase starts)."""

    def __init__(self, start: datetime, customers: int, orders: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.customers = [Customer(n, n % 2 == 0, n % 3 == 0) for n in range(customers)]
        self.orders = [
            Order(
                f"o-{k:05d}", self.rng.randrange(customers), self.rng.random() < 0.3, self.rng.randint(1, 90)
            )
            for k in range(orders)
        ]
        for o in self.orders:
            self.customers[o.customer].orders.append(o)
        self._seen: set[tuple[int, datetime]] = set()
        self._message = 0

    def phase_start(self, phase: int) -> datetime:
        return self.start + phase * PHASE

    def when(self, phase: int, customer: int) -> datetime:
        """A time in the phase's window, unique per customer (traits and consent never tie)."""
        while True:
            at = self.phase_start(phase) - timedelta(seconds=self.rng.randint(60, 90 * 60))
            if (customer, at) not in self._seen:
                self._seen.add((customer, at))
                return at

    def message(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self._message += 1
        return {"type": kind, "timestamp": iso(at), "messageId": f"m-{self._message:06d}", **fields}

    def identify(self, c: Customer, phase: int, **traits: Any) -> dict[str, Any]:
        return self.message("identify", self.when(phase, c.n), userId=c.user, traits=traits)

    def points(self, c: Customer, phase: int) -> dict[str, Any]:
        at, value = self.when(phase, c.n), self.rng.randint(0, 1000)
        c.points.append((at, value))
        return self.message("identify", at, userId=c.user, traits={"points": value})

    def consent(self, c: Customer, phase: int) -> dict[str, Any]:
        at, subscribed = self.when(phase, c.n), self.rng.random() < 0.5
        c.consent.append((at, subscribed))
        traits = {"subscriptions": {"email": {"marketing": subscribed}}}
        return self.message("identify", at, userId=c.user, traits=traits)

    def page(self, c: Customer, phase: int, anonymous: str | None = None) -> dict[str, Any]:
        who = {"anonymousId": anonymous} if anonymous else {"userId": c.user}
        return self.message("page", self.when(phase, c.n), name="Home", properties={"path": "/"}, **who)

    def status(self, o: Order, status: str, phase: int) -> dict[str, Any]:
        o.statuses.append(status)
        properties: dict[str, Any] = {"order_id": o.order_id}
        if status == "placed":
            category = "tea" if o.tea else "books"
            properties |= {
                "total": o.total,
                "currency": "RUB",
                "products": [{"product_id": f"sku-{category}", "category": category, "quantity": 1}],
            }
        c = self.customers[o.customer]
        return self.message("track", self.when(phase, c.n), event=STATUS_EVENTS[status], userId=c.user,
                            properties=properties)  # fmt: skip

    def phase_messages(self, phase: int) -> list[dict[str, Any]]:
        rng, out = self.rng, []
        if phase == 0:  # sign-up, anonymous browsing tied by an identify, traits, consent, orders
            for c in self.customers:
                contact = {"email": c.email, "first_name": f"C{c.n}"} | (
                    {"phone": c.phone_number} if c.phone else {}
                )
                out += [
                    self.identify(c, 0, **contact),
                    self.page(c, 0, f"a-{c.n}"),
                    self.page(c, 0, f"a-{c.n}"),
                ]
                out.append(self.message("identify", self.when(0, c.n), userId=c.user, anonymousId=f"a-{c.n}"))
                out += [self.points(c, 0), self.consent(c, 0)]
                if c.second_browser:  # a profile of its own until phase 1 ties it
                    out += [self.page(c, 0, f"b-{c.n}"), self.page(c, 0, f"b-{c.n}")]
            placed_now = self.orders[: len(self.orders) * 3 // 5]
            out += [self.status(o, "placed", 0) for o in placed_now]
        elif phase == 1:  # the second browsers tied, more traits and consent, more orders, shipping
            for c in self.customers:
                if c.second_browser:
                    out.append(
                        self.message("identify", self.when(1, c.n), userId=c.user, anonymousId=f"b-{c.n}")
                    )
                out += [self.points(c, 1), self.consent(c, 1), self.page(c, 1)]
                if rng.random() < 0.5:  # a late trait update: older than the newest already applied
                    at, value = self.when(0, c.n), rng.randint(0, 1000)
                    c.points.append((at, value))
                    out.append(self.message("identify", at, userId=c.user, traits={"points": value}))
            first = self.orders[: len(self.orders) * 3 // 5]
            out += [self.status(o, "placed", 1) for o in self.orders[len(first) :]]
            out += [self.status(o, "shipped", 1) for o in first if rng.random() < 0.6]
        else:  # deliveries and more shipping
            for o in self.orders:
                if o.statuses == ["placed", "shipped"] and rng.random() < 0.5:
                    out.append(self.status(o, "delivered", 2))
                elif o.statuses == ["placed"] and rng.random() < 0.4:
                    out.append(self.status(o, "shipped", 2))
            for c in self.customers:
                out.append(self.points(c, 2))
        return out


def take_all(runtime: LocalRuntime, queue: str = "events") -> list[dict[str, Any]]:
    """Every message on the queue, received and deleted (the test delivers them itself)."""
    sqs = clients.sqs()
    url = runtime.queue_urls[queue]
    taken: list[dict[str, Any]] = []
    while received := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"],
        VisibilityTimeout=3600,
    ).get("Messages", []):  # fmt: skip
        taken += received
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
    return taken


def batch_event(
    runtime: LocalRuntime, messages: list[dict[str, Any]], receive: int, queue: str = "events"
) -> dict[str, Any]:
    arn = f"arn:aws:sqs:{runtime.region}:{ACCOUNT}:{queue}"
    records = [sqs_record(m, arn, runtime.region) for m in messages]
    for r in records:
        r["attributes"]["ApproximateReceiveCount"] = str(receive)
    return {"Records": records}


def cut(messages: list[dict[str, Any]], rng: random.Random, size: int = BATCH) -> list[list[dict[str, Any]]]:
    shuffled = rng.sample(messages, len(messages))
    return [shuffled[i : i + size] for i in range(0, len(shuffled), size)]


def schedule(
    messages: list[dict[str, Any]], late: list[dict[str, Any]], rng: random.Random
) -> list[list[list[dict[str, Any]]]]:
    """The batches each worker runs, in order. Every message twice (two shuffles, so a message's
    batch-mates differ), ``late`` once more; the first batches of workers 0-3 again, reshuffled,
    as the first batches of workers 4-7 (delivered twice at the same moment)."""
    first, second = cut(messages, rng), cut(messages, rng)
    twins = min(WORKERS // 2, len(first))
    batches = first[twins:] + second + cut(late, rng)
    rng.shuffle(batches)
    parts: list[list[list[dict[str, Any]]]] = [[] for _ in range(WORKERS)]
    for w in range(twins):
        parts[w].append(first[w])
        parts[w + WORKERS // 2].append(rng.sample(first[w], len(first[w])))
    for i, batch in enumerate(batches):
        parts[i % WORKERS].append(batch)
    return parts


Sent = list[tuple[str, dict[str, Any]]]


def faults(rate: float, rng: random.Random, injected: list[str]) -> Callable[[Any], None]:
    """What sets up a DynamoDB client to fail ``rate`` of its calls with a 500 (InternalServerError,
    which the SDK does not retry when it is raised around the call): reads and writes before the
    call, writes also after it (the write was made; its answer is lost)."""
    from botocore.exceptions import ClientError

    def fail(operation: str, when: str) -> None:
        injected.append(f"{operation} {when}")
        error = {"Error": {"Code": "InternalServerError", "Message": f"injected {when} the call"}}
        raise ClientError(error, operation)  # type: ignore[arg-type]

    def before(model: Any, **_: Any) -> None:
        if model.name in WRITES | READS and rng.random() < rate / 2:
            fail(model.name, "before")

    def after(model: Any, **_: Any) -> None:
        if model.name in WRITES and rng.random() < rate / 2:
            fail(model.name, "after")

    def install(client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", before)
        client.meta.events.register("after-call.dynamodb", after)

    return install


@dataclass
class Worked:
    failed: list[str] = field(default_factory=list)  # record ids, as often as they failed
    sent: Sent = field(default_factory=list)  # every SQS send
    delivered: list[dict[str, Any]] = field(default_factory=list)  # outbox records
    invocations: int = 0
    faults: int = 0


def run_workers(
    runtime: LocalRuntime, function: LocalFunction, parts: list[list[dict[str, Any]]], fault_rate: float = 0.0
) -> Worked:
    """Each part (a list of SQS batch events for ``function``) in its own forked process, all
    started together, ``fault_rate`` of their DynamoDB calls failing (:func:`faults`). What the
    workers sent to a queue or delivered to the outbox is returned, to be done here again (a
    child's queues and outbox are its own copies)."""

    def main(index: int, part: list[dict[str, Any]], barrier: Any) -> Worked:
        sent: Sent = []
        failed: list[str] = []
        injected: list[str] = []
        LocalRuntime._reset_caches()  # a new execution environment: no clients, no cached wiring
        runtime.outbox.clear()
        if fault_rate:
            clients.prepare("dynamodb", faults(fault_rate, random.Random(index), injected))
        call = runtime.queues.call

        def recorded(operation: str, request: dict[str, Any], region: str | None = None) -> dict[str, Any]:
            if operation in ("SendMessage", "SendMessageBatch"):
                sent.append((operation, json.loads(json.dumps(request))))
            return call(operation, request, region)

        runtime.queues.call = recorded  # type: ignore[method-assign]
        barrier.wait(timeout=120)
        for event in part:
            try:
                answer = function.handler(event, LocalContext(function.name, runtime.region))
                failed += [f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])]
            except Exception:  # the invocation failed: every record of it comes again
                failed += [r["messageId"] for r in event["Records"]]
        return Worked(failed, sent, runtime.outbox.records(), len(part), len(injected))

    collected = in_forked_workers(parts, main)
    return Worked(
        [m for w in collected for m in w.failed],
        [s for w in collected for s in w.sent],
        [d for w in collected for d in w.delivered],
        sum(w.invocations for w in collected),
        sum(w.faults for w in collected),
    )


@dataclass
class Deliveries:
    invocations: int = 0
    records: int = 0
    failures: int = 0
    faults: int = 0
    rounds: int = 0
    intents_published: int = 0
    seconds: float = 0.0


def deliver(
    runtime: LocalRuntime,
    function: LocalFunction,
    parts: list[list[list[dict[str, Any]]]],
    rng: random.Random,
    tally: Deliveries,
    fault_rate: float = 0.0,
) -> None:
    """Deliver the batches of ``parts`` (one list per worker) to ``function``, ``fault_rate`` of the
    DynamoDB calls failing, then every failed record again (a round at a time, in new shuffled
    batches over the 8 workers, no faults injected) until none fails; do here what the workers
    sent to the queues and the outbox."""
    started = time.perf_counter()
    queue = function.consumes or ""
    by_id = {m["MessageId"]: m for part in parts for batch in part for m in batch}
    plan = [[batch_event(runtime, b, 2 if n else 1, queue) for n, b in enumerate(part)] for part in parts]
    for rounds in range(MAX_ROUNDS + 1):
        worked = run_workers(runtime, function, plan, fault_rate if rounds == 0 else 0.0)
        tally.invocations += worked.invocations
        tally.faults += worked.faults
        tally.records += sum(len(e["Records"]) for part in plan for e in part)
        tally.failures += len(worked.failed)
        for operation, request in worked.sent:
            runtime.queues.call(operation, request)
            if request["QueueUrl"] == runtime.queue_urls["intents"]:
                tally.intents_published += len(request.get("Entries", [request]))
        for record in worked.delivered:
            runtime.outbox.append(record)
        if not worked.failed:
            tally.rounds += rounds + 1
            tally.seconds += time.perf_counter() - started
            return
        again = cut([by_id[i] for i in sorted(set(worked.failed))], rng, function.batch_size)
        plan = deal([batch_event(runtime, b, 3 + rounds, queue) for b in again])
    pytest.fail(f"records still failing after {MAX_ROUNDS} redeliveries: {sorted(set(worked.failed))[:10]}")


def deal(batches: list[Any]) -> list[list[Any]]:
    """The batches dealt round-robin to the workers (as many as have one)."""
    return [batches[w::WORKERS] for w in range(min(WORKERS, len(batches)))]


def dispatch(runtime: LocalRuntime, rng: random.Random, tally: Deliveries) -> None:
    """The intents queue drained by the dispatcher in the mapping's batches, on the 8 workers;
    then every other consumer (local mode's drain)."""
    while intents := take_all(runtime, "intents"):
        deliver(runtime, DISPATCHER, deal(cut(intents, rng, DISPATCHER.batch_size)), rng, tally)
    runtime.drain()


def post(intake: Callable[..., Any], messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 100):
        answer = intake("/v1/batch", {"batch": messages[start : start + 100]})
        assert answer.status == 200 and "rejected" not in answer.json(), answer.body


@pytest.fixture
def shop(engine: LocalRuntime, admin_api: Callable[..., Any]) -> Iterator[LocalRuntime]:
    """The engine with the four live segments defined (and their back-fill run on no profile)."""
    for segment_id, rule in SEGMENTS.items():
        answer = admin_api(
            "POST", "/v1/segments", {"segment_id": segment_id, "name": segment_id, "rule": rule}
        )
        assert answer.status == 201, answer.body
    engine.drain()
    yield engine


def test_batches_shuffled_and_redelivered_to_eight_workers_lose_no_update_and_send_one_message_per_order(
    shop, intake, profile, outbox, ddb, table, items
):
    started = time.perf_counter()
    runtime = shop
    work = Workload(runtime.clock.now() + timedelta(minutes=1), CUSTOMERS, ORDERS, seed=22)
    rng = random.Random(5)
    processing, dispatching = Deliveries(), Deliveries()
    before: dict[int, tuple[str, str]] = {}  # the customer's profile and her second browser's, before the tie
    previous: list[dict[str, Any]] = []
    for phase in range(3):
        runtime.clock.set(work.phase_start(phase))
        post(intake, work.phase_messages(phase))
        messages = take_all(runtime)
        late = rng.sample(previous, len(previous) // 10)  # SQS's late duplicates of the phase before
        deliver(runtime, EVENT_PROCESSOR, schedule(messages, late, rng), rng, processing, FAULT_RATE)
        dispatch(runtime, rng, dispatching)  # at once, as in AWS
        previous = messages
        if phase == 0:
            for c in work.customers:
                if c.second_browser:
                    mine, browser = profile("user_id", c.user), profile("anonymous_id", f"b-{c.n}")
                    assert mine is not None and browser is not None, c.n
                    before[c.n] = (mine["profile_id"], browser["profile_id"])
    processed = time.perf_counter() - started
    assert processing.faults > 0 and processing.failures > 0, "the injected faults failed records"

    # one live profile per customer, holding every identifier she used
    live: dict[int, dict[str, Any]] = {}
    for c in work.customers:
        found = {(kind, value): profile(kind, value) for kind, value in c.identifiers()}
        ids = {kind_value: (p or {}).get("profile_id") for kind_value, p in found.items()}
        assert len(set(ids.values())) == 1 and None not in ids.values(), (c.n, ids)
        live[c.n] = found[("user_id", c.user)]  # type: ignore[assignment]
    assert len({p["profile_id"] for p in live.values()}) == CUSTOMERS
    # the second browsers had profiles of their own, which the ties merged
    assert before and all(mine != browser for mine, browser in before.values())
    merged = {
        n: (mine if browser == live[n]["profile_id"] else browser) for n, (mine, browser) in before.items()
    }
    # and no other profile is live (a lost claim race would leave one no identifier reaches)
    stored = items()
    every = DynamoProfileRepository(ddb, table).load(
        {pk.removeprefix("PROFILE#") for pk, sk in stored if sk == "PROFILE"}
    )
    assert {pid for pid, p in every.items() if p.merged_into is None} == {
        p["profile_id"] for p in live.values()
    }
    assert {n: every[absorbed].merged_into for n, absorbed in merged.items()} == {
        n: live[n]["profile_id"] for n in merged
    }

    # every trait the latest by event time; consent the latest stated; orders and revenue exact
    wrong: dict[str, list[Any]] = {"points": [], "consent": [], "orders": [], "revenue": [], "contact": []}
    for c in work.customers:
        view = live[c.n]
        if view["traits"].get("points") != c.latest_points():
            wrong["points"].append((c.n, view["traits"].get("points"), c.latest_points()))
        if view["subscriptions"].get("email", {}).get("marketing") is not c.latest_consent():
            wrong["consent"].append((c.n, view["subscriptions"], c.latest_consent()))
        if view["tenure"]["order_count"] != len(c.orders):
            wrong["orders"].append((c.n, view["tenure"]["order_count"], len(c.orders)))
        revenue = {"RUB": float(sum(o.total for o in c.orders))} if c.orders else {}
        if view["tenure"]["revenue"] != revenue:
            wrong["revenue"].append((c.n, view["tenure"]["revenue"], revenue))
        if (view["email"], view["phone"], view["first_name"]) != (
            c.email, c.phone_number if c.phone else None, f"C{c.n}"
        ):  # fmt: skip
            wrong["contact"].append((c.n, view["email"], view["phone"], view["first_name"]))
    assert wrong == {k: [] for k in wrong}

    # the live segments: members and size counters exact
    segments = DynamoSegmentRepository(ddb, table)
    sizes = segments.sizes()
    expected_members = {
        "tea-twice": {n for n, c in enumerate(work.customers) if sum(o.tea for o in c.orders) >= 2},
        "many-orders": {n for n, c in enumerate(work.customers) if len(c.orders) >= 12},
        "points-high": {c.n for c in work.customers if c.latest_points() >= 500},
        "subscribed": {c.n for c in work.customers if c.latest_consent()},
    }
    for segment in segments.segments():
        expected = {live[n]["profile_id"] for n in expected_members[segment.segment_id]}
        members = {
            sk.removeprefix("M#")
            for pk, sk in stored
            if pk == f"SEGMENT#{segment.segment_id}#{segment.incarnation}"
        }
        assert (members == expected, sizes.get(segment.counter, 0)) == (True, len(expected)), (
            segment.segment_id
        )
        assert {n for n in live if segment.segment_id in live[n]["segments"]} == expected_members[
            segment.segment_id
        ]
    assert {s.segment_id for s in segments.segments()} == set(SEGMENTS)

    # exactly one message per order and status; nothing sent twice; the intents' keys exactly those
    expected_keys = {f"order:{o.order_id}:{s}" for o in work.orders for s in o.statuses}
    sent = outbox()
    order_messages = Counter(m["send_once_key"] for m in sent if m["send_once_key"].startswith("order:"))
    assert len(expected_keys) == ORDERS + sum(len(o.statuses) - 1 for o in work.orders) > ORDERS
    assert set(order_messages) == expected_keys and set(order_messages.values()) == {1}
    assert Counter(m["send_once_key"] for m in sent).most_common(1)[0][1] == 1
    owner = {o.order_id: live[o.customer]["profile_id"] for o in work.orders}
    to = {m["send_once_key"]: m["profile_id"] for m in sent if m["send_once_key"].startswith("order:")}
    assert {key: pid for key, pid in to.items() if pid != owner[key.split(":")[1]]} == {}
    assert [runtime.depth(q) for q in ("events", "events-dlq", "intents", "intents-dlq")] == [0, 0, 0, 0]
    # every order's record went through exactly its statuses, each set by one of its messages
    orders = DynamoTriggerRepository(ddb, table)
    for o in work.orders:
        record = orders.load_order(o.order_id)
        assert record is not None, o.order_id
        assert (record.status, list(record.statuses)) == (o.statuses[-1], o.statuses), o.order_id
    print(  # shown with pytest -s
        f"\n{CUSTOMERS} customers, {ORDERS} orders, {len(expected_keys)} order messages, "
        f"{len(merged)} merges; processor: {processing.records} records in {processing.invocations} "
        f"invocations, {processing.faults} faults injected, {processing.failures} records failed and "
        f"delivered again ({processing.rounds} rounds), {processing.intents_published} intents published, "
        f"{processing.seconds:.1f} s; dispatcher: {dispatching.records} records in "
        f"{dispatching.invocations} invocations ({dispatching.failures} failed), "
        f"{dispatching.seconds:.1f} s; all phases {processed:.1f} s, "
        f"test {time.perf_counter() - started:.1f} s"
    )


def test_a_batch_with_poison_messages_fails_only_them_and_applies_every_other_message_once(
    engine, intake, profile, outbox
):
    """Two undecodable messages (not JSON; JSON that is no event) among a hundred of twenty
    customers: the invocation reports exactly those two, every other message is applied, and the
    batch delivered again (as SQS would after the visibility timeout) changes nothing."""
    from functions.event_processor import handler

    work = Workload(engine.clock.now() + timedelta(minutes=1), 20, 40, seed=7)
    engine.clock.set(work.phase_start(0))
    messages = []
    for c in work.customers:
        messages += [work.identify(c, 0, email=c.email), work.points(c, 0), work.points(c, 0)]
    messages += [work.status(o, "placed", 0) for o in work.orders]
    post(intake, messages)
    taken = take_all(engine)
    assert len(taken) == len(messages) == 100
    poison = [
        {"MessageId": "poison-text", "ReceiptHandle": "r-1", "Body": "not an event", "Attributes": {}},
        {
            "MessageId": "poison-json",
            "ReceiptHandle": "r-2",
            "Body": json.dumps({"type": "identify"}),
            "Attributes": {},
        },
    ]
    rng = random.Random(11)
    for delivery in (1, 2):
        batch = rng.sample(taken + poison, len(taken) + len(poison))
        answer = handler.lambda_handler(batch_event(engine, batch, delivery), LocalContext("event_processor"))
        assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == [
            "poison-json",
            "poison-text",
        ]
    engine.drain()

    for c in work.customers:
        view = profile("user_id", c.user)
        assert view is not None, c.n
        assert (view["email"], view["traits"]["points"], view["tenure"]["order_count"]) == (
            c.email,
            c.latest_points(),
            len(c.orders),
        ), c.n
    keys = Counter(m["send_once_key"] for m in outbox())
    assert keys == Counter({f"order:{o.order_id}:placed": 1 for o in work.orders})
