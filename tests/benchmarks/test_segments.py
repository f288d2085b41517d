"""Issue 20, item 7: segments and campaigns at scale, on DynamoDB Local (section g).

(1) Live membership. The capacity benchmark's workload (test_capacity.py: 200 customers sign up,
a history, then a measured day of 300 page, 300 track, 200 identify and 200 Order Completed events)
runs twice through the real intake and event processor handlers, each time in a fresh table: with
no segment, and with the 20 segments of ``SEGMENT_RULES`` created through the admin API before the
first customer (a retailer's mix: traits, purchases within days, views, orders, consent, tenure,
birthdays, country, combinations). Units are counted as test_capacity counts them (its ``Meter``:
ReturnConsumedCapacity on every call, AWS's rules where DynamoDB Local differs). The processor
reads the definitions through its cache as deployed (``ASUSUAL_SEGMENT_CACHE_SECONDS=60``; local
mode reads them at every event). The figures are the differences per event by kind, and how many of
the processor's profile transactions put or deleted a membership item.

(2) A campaign to ``MEMBERS`` members. The segment's definition and its membership items are
written directly, in the store's own format (``definition_item``, ``member_item``), by parallel
BatchWriteItem requests: no profile is created (planning reads the membership items, never the
profiles). A campaign at 10:00 local with a 10 % holdout is created through the campaign service
(its content checked as the API checks it); then the campaign sweep use case runs with the real
Dynamo repositories and a publisher that records what it would send (each intent encoded as the
SQS publisher encodes it): once at the hour planning starts (it plans everything: the deployed
sweep stops after ``ASUSUAL_CAMPAIGN_SWEEP_BUDGET_SECONDS`` and goes on at the next tick; here the
budget is unbounded so the whole plan is timed), then every 5 minutes until the campaign is sent
(the release: each recipient's intent at her local moment, delayed to it). Read and write units
per recipient, the wall time of the plan and of the release ticks, and every DynamoDB operation by
name (no Scan).

(3) The dispatcher on campaign intents: ``DISPATCHED`` customers with email consent in Moscow sign
up through intake (live membership puts them in a segment), a campaign to that segment is planned
and released as in (2), and each released intent goes through ``asusual.delivery.dispatch.dispatch``
with the dispatcher handler's own dependencies (the table on DynamoDB Local, the outbox sender), one
after another at its release moment: messages per second on one worker.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from typing import Any

from asusual.campaigns.models import CampaignRequest, CampaignStatus
from asusual.campaigns.plan import latest_moment, planning_starts
from asusual.campaigns.service import build, sweep
from asusual.clock import ManualClock
from asusual.content.render import default_pack
from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext, LocalRuntime
from asusual.profiles.derived import MemberRecord
from asusual.segments.models import Backfill, BackfillState, Segment
from asusual.segments.rules import parse_rule
from asusual.store import clients
from asusual.store.campaigns import DynamoCampaignRepository, DynamoSegmentMembers
from asusual.store.queues import encode_delayed_intent
from asusual.store.segments import definition_item, member_item
from asusual.triggers.models import CampaignFacts, Intent
from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.support import process_state, quiet_logs
from tests.benchmarks.test_capacity import (
    Driver,
    Meter,
    Workload,
    kind_costs,
    local_stack,
    play_day,
    put_catalog,
    transact_units,
)
from tests.conftest import T0

SECTION = "g"
KINDS = ("page", "track", "identify", "order")
KIND_NAMES = {
    "page": "page",
    "track": "track (Product Viewed / Added)",
    "identify": "identify (known user)",
    "order": "Order Completed (3 products)",
}
CUSTOMERS = 200
ADMIN_KEY = "admin_local_key"

# 20 segments a retailer defines (the capacity workload's categories: pets, tea, care, baby,
# household, coffee; traits: email, phone, names, birthday, loyaltyPoints, email consent)
SEGMENT_RULES: dict[str, dict[str, Any]] = {
    "loyalty-500": {"trait": "loyaltyPoints", "gte": 500},
    "has-phone": {"trait": "phone", "exists": True},
    "names-a": {"trait": "firstName", "in": ["Анна", "Мария", "Алексей"]},
    "pets-30d": {"purchased": {"category": "pets", "within_days": 30}},
    "tea-twice-90d": {"purchased": {"category": "tea", "within_days": 90, "min_count": 2}},
    "sku-001-buyers": {"purchased": {"product_id": "sku-001"}},
    "viewed-pets-7d": {"viewed": {"category": "pets", "within_days": 7}},
    "viewed-sku-005-14d": {"viewed": {"product_id": "sku-005", "within_days": 14}},
    "email-marketing": {"consent": {"channel": "email", "topic": "marketing"}},
    "sms-marketing": {"consent": {"channel": "sms", "topic": "marketing"}},
    "new": {"tenure": "new"},
    "loyal": {"tenure": "loyal"},
    "birthday-7d": {"birthday_within_days": 7},
    "birthday-30d": {"birthday_within_days": 30},
    "repeat-buyers": {"orders": {"count_gte": 2}},
    "big-spenders": {"orders": {"total_gte": 20000}},
    "lapsed-30d": {"orders": {"last_before_days": 30}},
    "russia": {"country": "RU"},
    "pets-consented": {
        "all": [
            {"consent": {"channel": "email", "topic": "marketing"}},
            {
                "any": [
                    {"purchased": {"category": "pets", "within_days": 90}},
                    {"viewed": {"category": "pets", "within_days": 14}},
                ]
            },
        ]
    },
    "coffee-not-tea": {
        "all": [
            {"purchased": {"category": "coffee", "within_days": 60}},
            {"not": {"purchased": {"category": "tea", "within_days": 60}}},
        ]
    },
}


def admin_post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    from functions.admin_api import handler as admin

    headers = {"content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"}
    event = api_gateway_event("POST", path, headers, json.dumps(body, ensure_ascii=False).encode())
    result: dict[str, Any] = admin.lambda_handler(event, LocalContext("admin_api"))
    assert result["statusCode"] in (200, 201), result
    answer: dict[str, Any] = json.loads(result["body"])
    return answer


def deployed_segment_cache() -> None:
    """The definitions cached for a minute per container, as deployed (local mode: 0)."""
    os.environ["ASUSUAL_SEGMENT_CACHE_SECONDS"] = "60"
    LocalRuntime._reset_caches()


# ------------------------------------------------------------------------------------------
# (1) units per event with 20 segments against none


def membership_transactions(meter: Meter, kind: str) -> tuple[int, int]:
    """(profile transactions of the processor, those that put or deleted a membership item)."""
    total = changed = 0
    for (function, k, pattern), tally in meter.dynamo.items():
        if function != "processor" or k != kind or not pattern.startswith("TransactWriteItems"):
            continue
        total += tally.calls
        if "SEGMENT/M" in pattern:
            changed += tally.calls
    return total, changed


def run_day(endpoint: str, rules: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], Meter]:
    work = Workload(CUSTOMERS)
    meter = Meter()
    history_start = T0 - timedelta(days=14)
    with local_stack(endpoint, history_start) as runtime, meter.moto_excluded():
        deployed_segment_cache()
        put_catalog(work.products, history_start)
        for segment_id, rule in rules.items():
            admin_post("/v1/segments", {"segment_id": segment_id, "name": segment_id, "rule": rule})
        runtime.drain(depths=False)  # the back-fills' pages (no profile yet): setup, not counted
        meter.attach_dynamodb(clients.dynamodb())
        meter.attach_sqs(clients.sqs())
        driver = Driver(runtime, meter)
        play_day(driver, runtime.clock, work)
        costs = {k: kind_costs(meter, driver, k) for k in (*KINDS, "identify_new")}
        sizes = {}
        if rules:
            from functions.admin_api import handler as admin

            headers = {"authorization": f"Bearer {ADMIN_KEY}"}
            listed = admin.lambda_handler(
                api_gateway_event("GET", "/v1/segments", headers, b""), LocalContext("admin_api")
            )
            sizes = {s["segment_id"]: s["size"] for s in json.loads(listed["body"])["segments"]}
    assert not dict(meter.local_capacity_missing)
    scans = sum(t.calls for (_, _, pattern), t in meter.dynamo.items() if pattern.startswith("Scan"))
    assert scans == 0, "a Scan in the event path"
    return {"costs": costs, "sizes": sizes}, meter


def test_segment_units_per_event(dynamodb_local):
    for rule in SEGMENT_RULES.values():
        parse_rule(rule)
    assert len(SEGMENT_RULES) == 20
    started = time.perf_counter()
    base, _ = run_day(dynamodb_local.endpoint, {})
    with_segments, meter = run_day(dynamodb_local.endpoint, SEGMENT_RULES)
    elapsed = time.perf_counter() - started
    sizes = with_segments["sizes"]
    assert set(sizes) == set(SEGMENT_RULES), sizes
    assert sum(1 for n in sizes.values() if n > 0) >= 15, sizes  # the mix is live, not empty
    figures = []
    extra_read_mix = extra_write_mix = 0.0
    events_all = changed_all = 0
    for kind in (*KINDS, "identify_new"):
        plain = base["costs"][kind]
        seg = with_segments["costs"][kind]
        transactions, changed = membership_transactions(meter, kind)
        events_all += seg.events if kind in KINDS else 0
        changed_all += changed if kind in KINDS else 0
        segment_patterns = {
            p: v for p, v in seg.by_pattern.items() if "SEG" in p or "DIR" in p or "SEGMENTS" in p
        }
        name = KIND_NAMES.get(kind, "identify (new user)")
        figures.append(
            Figure(
                SECTION,
                f"20 segments: extra write units per event, {name}",
                round(seg.write - plain.write, 3),
                "WCU/event",
                id=f"segments_extra_wru_{kind}",
                note=f"{seg.write:.2f} with, {plain.write:.2f} without; {changed} of {transactions} "
                f"profile transactions changed a membership",
                detail={
                    "events": seg.events,
                    "with_segments_wcu": round(seg.write, 3),
                    "without_wcu": round(plain.write, 3),
                    "profile_item_bytes_mean": {
                        "with": seg.what_if.get("profile_item_bytes_mean"),
                        "without": plain.what_if.get("profile_item_bytes_mean"),
                    },
                    "by_access_pattern_per_event": {"with": seg.by_pattern, "without": plain.by_pattern},
                    "profile_transactions": transactions,
                    "transactions_changing_membership": changed,
                    "segment_access_patterns_per_event": segment_patterns,
                },
            )
        )
        figures.append(
            Figure(
                SECTION,
                f"20 segments: extra read units per event, {name}",
                round(seg.read - plain.read, 3),
                "RCU/event",
                id=f"segments_extra_rru_{kind}",
                note=f"{seg.read:.2f} with, {plain.read:.2f} without",
                detail={"with_segments_rcu": round(seg.read, 3), "without_rcu": round(plain.read, 3)},
            )
        )
        if kind in KINDS:
            from tests.benchmarks.test_capacity import MIX

            extra_read_mix += MIX[kind] * (seg.read - plain.read)
            extra_write_mix += MIX[kind] * (seg.write - plain.write)
    figures.append(
        Figure(
            SECTION,
            "20 segments: extra write units per event, mix (45/40/10/5)",
            round(extra_write_mix, 3),
            "WCU/event",
            id="segments_extra_wru_mix",
            note=f"read {extra_read_mix:+.3f} RCU/event; the benchmark took {elapsed:.0f} s",
            detail={"extra_read_units_mix": round(extra_read_mix, 4), "segment_sizes": sizes},
        )
    )
    figures.append(
        Figure(
            SECTION,
            "20 segments: measured-day events whose transaction changed a membership",
            changed_all,
            "events",
            id="segments_membership_changes",
            note=f"of {events_all} page/track/identify/order events",
        )
    )
    check(*[record(f) for f in figures])


# ------------------------------------------------------------------------------------------
# Instruments for (2) and (3): units and operations by phase


READ_OPS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


class Units:
    """ReturnConsumedCapacity on every call of a client; units and operations by phase. AWS's rule
    where Local differs: an empty Query costs 0.5 (the eventually consistent minimum), a
    transaction is counted from its items (test_capacity.transact_units)."""

    def __init__(self, client: Any) -> None:
        self.phase = "setup"
        self.read: Counter[str] = Counter()
        self.write: Counter[str] = Counter()
        self.ops: dict[str, Counter[str]] = defaultdict(Counter)
        self.failed: Counter[str] = Counter()
        self.lock = threading.Lock()
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.*", self._ask, unique_id="bench-seg-cap")
        events.register("after-call.dynamodb.*", self._count, unique_id="bench-seg-count")

    @staticmethod
    def _ask(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")
        context["bench_params"] = params

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        op = model.name
        reported = parsed.get("ConsumedCapacity")
        entries = reported if isinstance(reported, list) else [reported] if reported else []
        units = sum(float(e.get("CapacityUnits", 0.0)) for e in entries)
        if op == "Query" and not units:
            units = 0.5
        if op == "TransactWriteItems" and not parsed.get("Error"):
            units = sum(transact_units(context["bench_params"]))  # Local under-reports: AWS's rule
        with self.lock:
            self.ops[self.phase][op] += 1
            if parsed.get("Error"):
                self.failed[op] += 1
            if op in READ_OPS:
                self.read[self.phase] += units
            else:
                self.write[self.phase] += units

    def all_ops(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for ops in self.ops.values():
            total.update(ops)
        return total


class RecordingPublisher:
    """The intents queue as the campaign sweep sees it: each intent encoded as the SQS publisher
    encodes it, kept instead of sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[Intent, int]] = []
        self.bytes = 0

    def publish_delayed(self, intents: Sequence[tuple[Intent, int]]) -> None:
        for delayed in intents:
            self.bytes += len(encode_delayed_intent(delayed)["MessageBody"].encode())
            self.sent.append(delayed)


CONTENT = {
    "ru": {
        "subject": "{% if has_name %}{{ name }}, {% endif %}всё для питомцев — к праздникам",
        "body": "{{ salutation }}!\n\nК праздникам мы собрали корма и уход для ваших питомцев."  # noqa: RUF001
        "{% if has_offer %} А ещё сегодня: {{ offer.name }} за {{ offer.price_text }}.{% endif %}"  # noqa: RUF001
        "\n\n{{ signature }}",
        "text": "{% if has_name %}{{ name }}, {% endif %}к праздникам — всё для питомцев.",
    }
}
SEND_DATE = date(2026, 12, 16)
SEND_TIME = wall_time(10, 0)
TICK = timedelta(minutes=5)


def campaign_request(campaign_id: str, segment_id: str, holdout: int) -> CampaignRequest:
    return CampaignRequest.model_validate(
        {
            "campaign_id": campaign_id,
            "segment_id": segment_id,
            "send_at": {"local_date": SEND_DATE.isoformat(), "local_time": SEND_TIME.strftime("%H:%M")},
            "holdout_percent": holdout,
            "conversion_window_days": 7,
            "content": CONTENT,
        }
    )


# ------------------------------------------------------------------------------------------
# (2) a campaign to MEMBERS members


# 100,000 took 6.5 minutes here (load 37 s, plan 107 s, release 227 s): `make bench` plans 50,000;
# ASUSUAL_BENCH_CAMPAIGN_MEMBERS=100000 measures the figure (docs/performance.md has both)
MEMBERS = int(os.environ.get("ASUSUAL_BENCH_CAMPAIGN_MEMBERS", "50000"))
HOLDOUT = 10
LOAD_THREADS = 8
BATCH_WRITE = 25
# plausible zones of a Russian retailer's members (one, two when a phone prefix is ambiguous,
# none when nothing tells)
MEMBER_ZONES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Europe/Moscow",), 0.55),
    (("Asia/Yekaterinburg",), 0.10),
    (("Asia/Novosibirsk",), 0.08),
    (("Europe/Samara",), 0.05),
    (("Asia/Krasnoyarsk",), 0.05),
    (("Asia/Vladivostok",), 0.05),
    (("Europe/Kaliningrad",), 0.04),
    (("Asia/Omsk",), 0.03),
    (("Europe/Moscow", "Europe/Samara"), 0.03),
    ((), 0.02),
)


def pets_segment(now: datetime, members: int) -> Segment:
    return Segment(
        segment_id="pets-90d",
        name="Покупали корм для питомцев за 90 дней",
        rule={"purchased": {"category": "pets", "within_days": 90}},
        incarnation=uuid.uuid4().hex[:12],
        created_at=now,
        updated_at=now,
        backfill=Backfill(
            version=1, state=BackfillState.DONE, profiles=members, started_at=now, finished_at=now
        ),
    )


def member_items(segment: Segment, count: int, now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(20)
    zones = [z for z, _ in MEMBER_ZONES]
    weights = [w for _, w in MEMBER_ZONES]
    items = []
    for _ in range(count):
        profile_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        record = MemberRecord(
            segment_id=segment.segment_id,
            incarnation=segment.incarnation,
            profile_id=profile_id,
            since=now - timedelta(seconds=rng.randrange(90 * 86400)),
            rule_version=1,
            zones=rng.choices(zones, weights)[0],
            country="RU",
            locale="ru",
        )
        items.append(member_item(record))
    return items


def batch_load(new_client: Any, table: str, items: list[dict[str, Any]]) -> float:
    """Parallel BatchWriteItem of ``items``; the wall seconds it took."""
    local = threading.local()

    def write(chunk: list[dict[str, Any]]) -> None:
        if not hasattr(local, "client"):
            local.client = new_client()
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        for _attempt in range(20):
            request = local.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                return
            time.sleep(0.05)
        raise AssertionError("DynamoDB Local left items unprocessed")

    started = time.perf_counter()
    chunks = [items[i : i + BATCH_WRITE] for i in range(0, len(items), BATCH_WRITE)]
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        list(pool.map(write, chunks))
    return time.perf_counter() - started


class Timed:
    def __init__(self) -> None:
        self.plan = 0.0
        self.release = 0.0  # ticks that released someone
        self.idle = 0.0  # ticks that released nobody
        self.ticks = 0
        self.release_ticks = 0
        self.planned = 0
        self.released = 0
        self.pages = 0


def plan_and_release(campaign_id: str, units: Units, publisher: RecordingPublisher) -> Timed:
    """The campaign sweep at the hour planning starts (the plan, whole), then every 5 minutes
    until the campaign is sent (the release)."""
    from asusual.settings import get_settings

    settings = get_settings()
    db = clients.dynamodb()
    repo = DynamoCampaignRepository(db, settings.table_name)
    members = DynamoSegmentMembers(db, settings.table_name)
    found = repo.campaign(campaign_id)
    assert found is not None
    send_at = found[0].send_at
    timed = Timed()
    now = planning_starts(send_at)

    def tick(at: datetime) -> Any:
        return sweep(
            repo,
            members,
            publisher,
            at,
            page_size=settings.campaign_page_size,
            budget_seconds=3600.0,
            lookback_hours=settings.deferred_lookback_hours,
        )

    units.phase = "plan"
    started = time.perf_counter()
    report = tick(now)
    timed.plan = time.perf_counter() - started
    timed.planned, timed.pages = report.planned_members, report.planned_pages
    assert report.released == 0, report
    units.phase = "release"
    end = latest_moment(send_at) + timedelta(hours=2)
    while now < end:
        now += TICK
        started = time.perf_counter()
        report = tick(now)
        spent = time.perf_counter() - started
        timed.ticks += 1
        if report.released:
            timed.release += spent
            timed.release_ticks += 1
            timed.released += report.released
        else:
            timed.idle += spent
        if report.finished:
            break
    units.phase = "after"
    found = repo.campaign(campaign_id)
    assert found is not None and found[0].status is CampaignStatus.SENT, found
    return timed


def test_campaign_to_many_members(dynamodb_local):
    now = datetime.combine(SEND_DATE - timedelta(days=2), wall_time(9, 0), tzinfo=UTC)
    table = f"bench-campaign-{uuid.uuid4().hex[:8]}"
    with (
        process_state(),
        quiet_logs(),
        LocalRuntime(
            clock=ManualClock(now, frozen=True), dynamodb_endpoint=dynamodb_local.endpoint, table_name=table
        ),
    ):
        segment = pets_segment(now, MEMBERS)
        db = clients.dynamodb()
        db.put_item(TableName=table, Item=definition_item(segment))
        items = member_items(segment, MEMBERS, now)
        load_seconds = batch_load(dynamodb_local.client, table, items)
        del items
        loader_ops = Counter({"BatchWriteItem": -(-MEMBERS // BATCH_WRITE)})
        units = Units(db)
        request = campaign_request("pets-december", segment.segment_id, HOLDOUT)
        from asusual.settings import get_settings

        campaign = build(
            DynamoSegmentMembers(db, table),
            default_pack(),
            request,
            now,
            get_settings().campaign_messages_per_second,
        )
        DynamoCampaignRepository(db, table).create(campaign)
        publisher = RecordingPublisher()
        timed = plan_and_release(campaign.campaign_id, units, publisher)
        counters = DynamoCampaignRepository(db, table).campaign(campaign.campaign_id)
        assert counters is not None
        audience, holdout = counters[1].audience, counters[1].holdout
    recipients = len(publisher.sent)
    profiles = {intent.profile_id for intent, _ in publisher.sent}
    assert audience == MEMBERS and timed.planned == MEMBERS
    assert recipients == timed.released == audience - holdout == len(profiles)
    assert 0.08 * MEMBERS < holdout < 0.12 * MEMBERS
    assert not units.failed, units.failed
    ops = units.all_ops()
    every_op = ops + loader_ops
    read = units.read["plan"] + units.read["release"]
    write = units.write["plan"] + units.write["release"]
    scale = "" if MEMBERS == 100_000 else f"; {MEMBERS:,} members: 100,000 took 6.5 min here"
    detail = {
        "members": MEMBERS,
        "recipients": recipients,
        "holdout": holdout,
        "read_units": {"plan": units.read["plan"], "release": units.read["release"]},
        "write_units": {"plan": units.write["plan"], "release": units.write["release"]},
        "operations_by_phase": {phase: dict(c) for phase, c in units.ops.items()},
        "plan_pages": timed.pages,
        "release_ticks": timed.release_ticks,
        "ticks": timed.ticks,
        "idle_tick_seconds": round(timed.idle, 2),
        "load_seconds": round(load_seconds, 1),
        "intent_bytes_mean": round(publisher.bytes / max(1, recipients)),
    }
    figures = [
        Figure(
            SECTION,
            f"campaign to {MEMBERS:,}: read units per recipient (plan + release)",
            round(read / recipients, 4),
            "RCU/recipient",
            id="campaign_rru_per_recipient",
            note=f"plan {units.read['plan'] / recipients:.3f}, "
            f"release {units.read['release'] / recipients:.3f}; {timed.ticks} sweep ticks{scale}",
            detail=detail,
        ),
        Figure(
            SECTION,
            f"campaign to {MEMBERS:,}: write units per recipient (plan + release)",
            round(write / recipients, 4),
            "WCU/recipient",
            id="campaign_wru_per_recipient",
            note=f"plan {units.write['plan'] / recipients:.3f} (exposures of holdout too), "
            f"release {units.write['release'] / recipients:.3f}",
        ),
        Figure(
            SECTION,
            f"campaign to {MEMBERS:,}: time to plan",
            round(timed.plan, 1),
            "s",
            id="campaign_plan_seconds",
            note=f"{timed.pages} pages of {get_settings_page()} members, one sweep, this machine{scale}",
        ),
        Figure(
            SECTION,
            f"campaign to {MEMBERS:,}: time to enqueue (release ticks)",
            round(timed.release, 1),
            "s",
            id="campaign_enqueue_seconds",
            note=f"{timed.release_ticks} ticks that released; intents recorded, not sent to SQS",
        ),
        Figure(
            SECTION,
            "campaign release: intents enqueued per second",
            round(timed.released / timed.release, 1),
            "intents/s",
            id="campaign_intents_per_second",
            note="one sweep: Query of the release index, encode, UpdateItem per recipient",
        ),
    ]
    scans = Figure(
        SECTION,
        "campaign load, plan and release: Scan calls",
        every_op.get("Scan", 0),
        "calls",
        id="campaign_scan_calls",
        limit=0,
        note="DynamoDB operations counted by name: "
        + ", ".join(f"{op} {n}" for op, n in sorted(every_op.items())),
    )
    check(*[record(f) for f in figures], record(scans))


def get_settings_page() -> int:
    from asusual.settings import get_settings

    return get_settings().campaign_page_size


# ------------------------------------------------------------------------------------------
# (3) the dispatcher on campaign intents


DISPATCHED = 500


def test_dispatcher_campaign_messages_per_second(dynamodb_local):
    from asusual.delivery.dispatch import DispatchStatus, dispatch
    from tests.benchmarks.test_capacity import basic

    start = datetime.combine(SEND_DATE - timedelta(days=2), wall_time(9, 0), tzinfo=UTC)
    table = f"bench-dispatch-{uuid.uuid4().hex[:8]}"
    with (
        process_state(),
        quiet_logs(),
        LocalRuntime(
            clock=ManualClock(start, frozen=True), dynamodb_endpoint=dynamodb_local.endpoint, table_name=table
        ) as rt,
    ):
        rt.consumers.pop("intents")  # intents are dispatched below, one by one
        admin_post(
            "/v1/segments",
            {
                "segment_id": "email-ok",
                "name": "email",
                "rule": {"consent": {"channel": "email", "topic": "marketing"}},
            },
        )
        rt.drain(depths=False)
        from functions.intake_api import handler as intake

        rng = random.Random(3)
        names = ("Анна", "Мария", "Елена", "Ольга", "Дмитрий", "Сергей")
        for first in range(0, DISPATCHED, 100):
            batch = [
                {
                    "type": "identify",
                    "userId": f"d-{n:04d}",
                    "messageId": f"m-d-{n:04d}",
                    "traits": {
                        "email": f"d{n:04d}@example.com",
                        "firstName": rng.choice(names),
                        "timezone": "Europe/Moscow",
                        "subscriptions": {"email": {"marketing": True}},
                    },
                }
                for n in range(first, first + 100)
            ]
            headers = {"content-type": "application/json", "authorization": basic("web_local_key")}
            event = api_gateway_event("POST", "/v1/batch", headers, json.dumps({"batch": batch}).encode())
            assert intake.lambda_handler(event, LocalContext("intake_api"))["statusCode"] == 200
        rt.drain(depths=False)
        db = clients.dynamodb()
        members = DynamoSegmentMembers(db, table)
        ref = members.segment("email-ok")
        assert ref is not None and members.size(ref) == DISPATCHED
        from asusual.settings import get_settings

        request = campaign_request("email-december", "email-ok", 0)
        campaign = build(members, default_pack(), request, start, get_settings().campaign_messages_per_second)
        DynamoCampaignRepository(db, table).create(campaign)
        units = Units(db)
        publisher = RecordingPublisher()
        plan_and_release(campaign.campaign_id, units, publisher)
        assert len(publisher.sent) == DISPATCHED
        from functions.dispatcher import handler as dispatcher_handler

        deps = dispatcher_handler.dependencies()
        moments = []
        for intent, _delay in publisher.sent:
            assert isinstance(intent.facts, CampaignFacts)
            moments.append((intent.facts.release_at, intent))
        moments.sort(key=lambda m: m[0])
        statuses: Counter[str] = Counter()
        units.phase = "dispatch"
        started = time.perf_counter()
        cpu = time.process_time()
        for at, intent in moments:
            rt.clock.set(at)
            statuses[dispatch(intent, deps, at).status.value] += 1
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - started
        outbox = len(rt.outbox.records())
    assert statuses == {DispatchStatus.SENT.value: DISPATCHED}, statuses
    assert outbox == DISPATCHED
    assert units.all_ops()["Scan"] == 0
    calls = sum(units.ops["dispatch"].values())
    figure = Figure(
        SECTION,
        "dispatcher: campaign messages delivered per second, one worker",
        round(DISPATCHED / wall, 1),
        "msgs/s",
        id="dispatcher_campaign_messages_per_second",
        note=f"{DISPATCHED} campaign intents to the outbox sender; {calls / DISPATCHED:.1f} DynamoDB calls, "
        f"{units.read['dispatch'] / DISPATCHED:.2f} RCU, "
        f"{units.write['dispatch'] / DISPATCHED:.2f} WCU per message",
        detail={
            "wall_seconds": round(wall, 2),
            "cpu_ms_per_message": round(cpu * 1000 / DISPATCHED, 2),
            "operations": dict(units.ops["dispatch"]),
            "read_units_per_message": round(units.read["dispatch"] / DISPATCHED, 3),
            "write_units_per_message": round(units.write["dispatch"] / DISPATCHED, 3),
        },
    )
    check(record(figure))
