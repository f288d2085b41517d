"""Issue 8, item 2e: read units of the hourly birthday and replenishment sweeps at 10k and 100k
profiles, as a ratio to one full scan of the same table. Target: a sweep reads at most 1/100 of
what a full scan reads at 100k profiles.

The items. A sample of ``TEMPLATES`` customers goes through the real system first, on DynamoDB
Local in a table of the project's spec, as ``make serve DYNAMODB_ENDPOINT=...`` runs it: the
catalog through the admin_api handler, then each customer's identify and Order Completed events
through the intake_api handler, drained into the event_processor handler by the local event source
mapping. The sample's table then holds every item the system writes per customer, in its exact
shape and size: the profile, the identifier claims (user id, email, phone, anonymous id), the
consent history items, the birthday index entry (only with a birthday, marketing consent and a
zone), one replenishment reminder per product bought (pending, in the due index), the orders, the
interval observation markers of repeat purchases, and the processed-message markers (kept only for
events of the last 30 days: older ones are gone by TTL). Shared items (products, interval
statistics) are copied once.

The populations. Customer ``i`` is a copy of template ``i mod TEMPLATES`` with its own identity
put into every attribute that carries one (profile id, user id, email, phone, order and message
ids: the same lengths, so the same sizes), its own birthday (uniform over 1950-2007, so uniform
over the year; the index partition and the profile's trait follow) and its own due times: each
of its 1-3 reminders is pending, due uniformly over the 60 days after the previous hourly sweep
(the one at ``NOW`` - 1 h sent everything due before). Birthday entries carry the year
congratulated last. The copies are written with parallel BatchWriteItem requests (raw HTTP:
botocore's request building would add about a quarter to the CPU DynamoDB Local spends, on a
2-core machine where the load is bound by DynamoDB Local). 10k is
the first 10,000 customers of the same generation; the 100k table is that table with the other
90,000 added (the 10k prefix's birthday entries and reminders are rewritten after the 10k sweeps,
which sent and marked some of them).

The units. The real sweep handlers (functions/birthday_sweep, functions/replenishment_sweep) run
through ``LocalRuntime`` with the table on DynamoDB Local and the intents queue on moto, the clock
set to the hour. The cached DynamoDB client gets two botocore handlers: one adds
``ReturnConsumedCapacity=INDEXES`` to every call, the other sums the units each response reports,
read and write apart. DynamoDB Local reports units for GetItem, Query, Scan and BatchGetItem as AWS
computes them (per started 4 KB, half for eventually consistent reads; a Query sums its items
first, a BatchGetItem rounds each item). Where it reports nothing, AWS's rule fills in
(``aws_rule`` in the details): a key a BatchGetItem did not find (a read of a missing item costs
a unit) and an empty Query (billed here as one eventually consistent unit of 0.5, the
conservative reading). The full scan is the naive sweep: every item of the table, eventually
consistent, ``Select=COUNT`` (a Scan is billed for the items it reads, not those it returns:
checked on one segment of the 10k table), in one parallel segment per 400 profiles (DynamoDB Local
pages a single segment in quadratic time; each segment's partial last page adds at most 0.5 unit
to what one sequential Scan would read).

One hourly run is the sweep at ``NOW`` (10:00 UTC, one of the two hours of the day when three
birthday dates exist somewhere on Earth). At 10k the day is measured too: 24 runs from ``NOW``
(at 100k the replenishment day alone takes ~100 s of DynamoDB Local round trips; the due times are
uniform, so its hours are alike). The target figures are the 100k ratios.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from asusual.clock import ManualClock
from asusual.local.functions import BIRTHDAY_SWEEP, REPLENISHMENT_SWEEP, LocalFunction
from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext, LocalRuntime
from asusual.store import clients
from asusual.store.profiles import compress_json, data_json
from asusual.store.tables import create_main_table
from asusual.triggers.reminders import Reminder, ReminderStatus, due_bucket
from tests.benchmarks.harness import Figure, check, record
from tests.benchmarks.support import item_size, process_state, quiet_logs

NOW = datetime(2027, 3, 15, 10, 0, tzinfo=UTC)  # partitions 03-14, 03-15, 03-16
SAMPLE_AT = NOW - timedelta(hours=1)  # the previous hourly sweep
POPULATIONS = (10_000, 100_000)
TARGET = 0.01  # at 100k profiles
TEMPLATES = 60
SEED = 2026
HORIZON = timedelta(days=60)  # pending reminders are due over the next 60 days
DEDUPE = timedelta(days=30)  # ASUSUAL_DEDUPE_DAYS: processed-message markers live this long
DAY_RUNS = 24
DAY_UP_TO = 10_000  # the day's 24 runs at 10k only (at 100k the replenishment day alone takes ~100 s)
SWEPT_KINDS = frozenset({"PROFILE/BIRTHDAY", "PROFILE/REMIND"})
CATALOG = 300
LOAD_THREADS = 12
BATCH_WRITE = 25
PROFILES_PER_SEGMENT = 400  # parallel Scan segments: 25 at 10k, 250 at 100k
SCAN_THREADS = 8
TOKEN_BASE = 9_000_000  # template customers are c9000000 ...; copies are c0000000 ...
BIRTHDAY_PLACEHOLDER = "1987-07-19"
BIRTH_START = date(1950, 1, 1)
BIRTH_SPAN = (date(2007, 12, 31) - BIRTH_START).days + 1

READ_OPS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

CATEGORIES = (
    ("Корм для кошек", 30),
    ("Корм для собак", 30),
    ("Наполнитель для лотка", 21),
    ("Кофе в зёрнах", 20),
    ("Чай листовой", 35),
    ("Шампунь", 45),
    ("Зубная паста", 40),
    ("Подгузники", 14),
    ("Стиральный порошок", 50),
    ("Витамины", 60),
    ("Контактные линзы", 30),
    ("Средство для посуды", 40),
)
BRANDS = (
    "Purina One",
    "Royal Canin",
    "Lavazza",
    "Greenfield",
    "Head & Shoulders",
    "Colgate",
    "Pampers",
    "Ariel",
    "Solgar",
    "Acuvue",
    "Fairy",
    "Whiskas",
)
FIRST_NAMES = (
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Дмитрий",
    "Алексей",
    "Сергей",
    "Андрей",
    "Максим",
    "Иван",
)
LAST_NAMES = ("Петрова", "Иванова", "Смирнова", "Кузнецова", "Попов", "Соколов", "Лебедев", "Новиков")
ZONES = (
    "Europe/Moscow",
    "Europe/Moscow",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Vladivostok",
    "Europe/Kaliningrad",
    "Asia/Almaty",
    "Europe/Berlin",
)
CITIES = ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск", "Нижний Новгород")


# ------------------------------------------------------------------------------------------
# Sizes (AWS's rules) and kinds of items


def kind_of(item: dict[str, Any]) -> str:
    """PROFILE, ID, PROFILE/CONSENT, PROFILE/BIRTHDAY, PROFILE/REMIND, ORDER, OBS, MSG ..."""
    pk = item["pk"]["S"].split("#", 1)[0]
    sk = item["sk"]["S"].split("#", 1)[0]
    return pk if sk == pk else f"{pk}/{sk}"


# ------------------------------------------------------------------------------------------
# The sample: template customers through the real functions


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def catalog(rng: random.Random) -> list[dict[str, Any]]:
    products = []
    for n in range(CATALOG):
        category, days = CATEGORIES[n % len(CATEGORIES)]
        products.append(
            {
                "product_id": f"sku-{n:05d}",
                "name": f"{category} {rng.choice(BRANDS)}, {rng.choice((0.4, 1.5, 2, 10))} кг, арт. {n}",
                "price": f"{rng.randrange(190, 4990)}.00",
                "currency": "RUB",
                "category": category,
                "replenish_days": float(days + rng.randrange(-5, 6)),
                "promoted": n % 10 == 0,
            }
        )
    return products


@dataclass
class TemplateCustomer:
    user: str
    phone_digits: str | None  # the national part: replaced in copies
    messages: list[tuple[str, dict[str, Any]]]  # (write key, Segment message)
    event_times: dict[str, datetime]  # messageId -> event time


def template_customer(t: int, rng: random.Random, products: list[dict[str, Any]]) -> TemplateCustomer:
    """One customer: an identify with the traits a shop knows (a share with birthday, phone,
    timezone or address, marketing consent), then 1-4 orders of 1-3 consumables over the last
    year, on the web or in a store."""
    user = f"c{TOKEN_BASE + t:07d}"
    traits: dict[str, Any] = {
        "email": f"{user}@example.com",
        "firstName": rng.choice(FIRST_NAMES),
        "lastName": rng.choice(LAST_NAMES),
    }
    phone_digits = f"916{TOKEN_BASE + t:07d}" if rng.random() < 0.65 else None
    if phone_digits:
        traits["phone"] = f"+7{phone_digits}"
    if rng.random() < 0.7:
        traits["birthday"] = BIRTHDAY_PLACEHOLDER
    where = rng.random()
    if where < 0.4:
        traits["timezone"] = rng.choice(ZONES)
    elif where < 0.6:
        traits["address"] = {"country": "RU", "city": rng.choice(CITIES)}
    consent = rng.random()
    if consent < 0.55:
        subscriptions: dict[str, Any] = {"email": {"marketing": True, "transactional": True}}
        if phone_digits and rng.random() < 0.3:
            subscriptions["sms"] = {"marketing": True}
        traits["subscriptions"] = {**subscriptions, "consent_version": "2025-03"}
    elif consent < 0.7:
        traits["subscriptions"] = {
            "email": {"marketing": False, "transactional": True},
            "consent_version": "2025-03",
        }
    first = NOW - timedelta(days=rng.uniform(60, 400))
    identify: dict[str, Any] = {
        "type": "identify",
        "userId": user,
        "traits": traits,
        "timestamp": iso(first),
        "messageId": f"m-{user}-i",
    }
    if rng.random() < 0.4:
        identify["anonymousId"] = f"a-{user}"
    messages = [("web_local_key", identify)]
    times = {identify["messageId"]: first}
    bought = rng.sample(products, rng.randint(1, 3))
    orders = rng.randint(1, 4)
    last = NOW - timedelta(days=1)
    moments = sorted(first + (last - first) * rng.random() for _ in range(orders))
    for k, at in enumerate(moments):
        lines = [p for j, p in enumerate(bought) if j % orders == k or rng.random() < 0.3]
        lines = lines or [bought[k % len(bought)]]
        quantities = [rng.choice((1, 1, 1, 2)) for _ in lines]
        message_id = f"m-{user}-o{k}"
        order = {
            "type": "track",
            "userId": user,
            "event": "Order Completed",
            "timestamp": iso(at),
            "messageId": message_id,
            "properties": {
                "order_id": f"o-{user}-{k}",
                "currency": "RUB",
                "total": sum(float(p["price"]) * q for p, q in zip(lines, quantities, strict=True)),
                "products": [
                    {
                        "product_id": p["product_id"],
                        "name": p["name"],
                        "quantity": q,
                        "price": float(p["price"]),
                        "category": p["category"],
                    }
                    for p, q in zip(lines, quantities, strict=True)
                ],
            },
        }
        messages.append(("store_local_key" if rng.random() < 0.3 else "web_local_key", order))
        times[message_id] = at
    return TemplateCustomer(user, phone_digits, messages, times)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def call_handler(module: Any, name: str, path: str, authorization: str, body: Any) -> dict[str, Any]:
    headers = {"content-type": "application/json", "authorization": authorization}
    event = api_gateway_event("POST", path, headers, json.dumps(body).encode())
    result: dict[str, Any] = module.lambda_handler(event, LocalContext(name))
    assert result["statusCode"] == 200, result
    return result


@dataclass
class Template:
    """A customer's items as the real system wrote them (DynamoDB JSON, as one text)."""

    text: str
    profile_id: str
    user: str
    phone_digits: str | None
    kinds: Counter[str]


@dataclass
class Sample:
    templates: list[Template]
    shared: list[dict[str, Any]]  # products and interval statistics: one per table
    seconds: float
    events: int


def real_sample(ddb: Any, table: str) -> Sample:
    """The template customers through the real intake and event processor, on DynamoDB Local."""
    from functions.admin_api import handler as admin
    from functions.intake_api import handler as intake

    started = time.monotonic()
    rng = random.Random(SEED)
    products = catalog(rng)
    customers = [template_customer(t, rng, products) for t in range(TEMPLATES)]
    with LocalRuntime(
        clock=ManualClock(SAMPLE_AT, frozen=True), dynamodb_endpoint=ddb.endpoint, table_name=table
    ) as runtime:
        runtime.consumers.pop("intents", None)  # the dispatcher is not part of this
        call_handler(
            admin, "admin_api", "/v1/catalog/products", "Bearer admin_local_key", {"products": products}
        )
        by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for customer in customers:
            for key, message in customer.messages:
                by_key[key].append(message)
        for key, messages in by_key.items():
            for start in range(0, len(messages), 50):
                result = call_handler(
                    intake, "intake_api", "/v1/batch", basic(key), {"batch": messages[start : start + 50]}
                )
                assert "rejected" not in json.loads(result["body"]), result
        drained = runtime.drain()["events"]
        assert drained["waiting"] == 0 and drained["dead_lettered"] == 0, drained
    pages = ddb.client().get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    items = [item for page in pages for item in page["Items"]]
    templates = [template_of(customer, items) for customer in customers]
    shared = [i for i in items if i["pk"]["S"].startswith(("PRODUCT#", "STATS#"))]
    events = sum(len(c.messages) for c in customers)
    return Sample(templates, shared, time.monotonic() - started, events)


def template_of(customer: TemplateCustomer, items: list[dict[str, Any]]) -> Template:
    claim = next(i for i in items if i["pk"]["S"] == f"ID#user_id#{customer.user}")
    pid = claim["profile_id"]["S"]
    assert customer.user not in pid and (customer.phone_digits or "-") not in pid
    recent = {m for m, at in customer.event_times.items() if at >= NOW - DEDUPE}
    own = []
    for item in items:
        pk = item["pk"]["S"]
        if (
            pk == f"PROFILE#{pid}"
            or pk.startswith(f"OBS#{pid}#")
            or (pk.startswith("ID#") and item["profile_id"]["S"] == pid)
            or (pk.startswith("ORDER#") and json.loads(item["data"]["S"]).get("profile_id") == pid)
            or (pk.startswith("MSG#") and pk.removeprefix("MSG#") in recent)
        ):
            own.append(item)
    kinds = Counter(kind_of(i) for i in own)
    assert kinds["PROFILE"] == 1 and kinds["PROFILE/REMIND"] >= 1, kinds
    # the profile's data is compressed JSON: the template holds it as text, the copies compress it
    own = [
        {**i, "data": {"S": data_json(i["data"]["B"]).decode()}} if kind_of(i) == "PROFILE" else i
        for i in own
    ]
    profile = json.loads(next(i for i in own if kind_of(i) == "PROFILE")["data"]["S"])
    assert profile["merged_into"] is None
    for item in own:  # the copies rewrite these attributes: check they are what the code writes
        if kind_of(item) == "PROFILE/BIRTHDAY":
            assert item["gsi1pk"]["S"] == f"BIRTHDAY#{BIRTHDAY_PLACEHOLDER[5:]}", item
            assert item["gsi1sk"]["S"] == f"PROFILE#{pid}", item
        if kind_of(item) == "PROFILE/REMIND":
            reminder = Reminder.model_validate_json(item["data"]["S"])
            assert reminder.status is ReminderStatus.PENDING and reminder.remind_at is not None, reminder
            assert item["gsi1pk"]["S"] == due_bucket(reminder.remind_at), item
            assert item["gsi1sk"]["S"] == f"{iso(reminder.remind_at)}#{pid}#{reminder.product_id}", item
    return Template(json.dumps(own, ensure_ascii=False), pid, customer.user, customer.phone_digits, kinds)


# ------------------------------------------------------------------------------------------
# The populations: copies of the templates


class Population:
    def __init__(self, templates: list[Template]) -> None:
        self.templates = templates

    def customer(self, i: int) -> list[dict[str, Any]]:
        """Customer ``i``'s items: template ``i mod n`` with its own identity, birthday and due
        times (deterministic: the same ``i`` gives the same items)."""
        template = self.templates[i % len(self.templates)]
        rng = random.Random(f"{SEED}:{i}")
        pid = "p_" + hashlib.sha256(f"bench-{i}".encode()).hexdigest()[:24]
        born = BIRTH_START + timedelta(days=rng.randrange(BIRTH_SPAN))
        text = template.text.replace(template.profile_id, pid).replace(template.user, f"c{i:07d}")
        if template.phone_digits:
            text = text.replace(template.phone_digits, f"916{i:07d}")
        items: list[dict[str, Any]] = json.loads(text.replace(BIRTHDAY_PLACEHOLDER, born.isoformat()))
        for item in items:
            sk = item["sk"]["S"]
            if sk == "PROFILE":  # as the repository stores it (wire format: base64)
                packed = compress_json(item["data"]["S"].encode())
                item["data"] = {"B": base64.b64encode(packed).decode()}
            if sk == "BIRTHDAY":
                item["gsi1pk"] = {"S": f"BIRTHDAY#{born:%m-%d}"}
                item["congratulated_year"] = {"N": str(NOW.year - 1)}
            elif sk.startswith("REMIND#"):
                reminder = Reminder.model_validate_json(item["data"]["S"])
                assert reminder.remind_at is not None and reminder.runout_at is not None
                due = SAMPLE_AT + timedelta(seconds=rng.randrange(1, int(HORIZON.total_seconds()) + 1))
                reminder = reminder.model_copy(
                    update={"remind_at": due, "runout_at": due + (reminder.runout_at - reminder.remind_at)}
                )
                item["data"] = {"S": reminder.model_dump_json()}
                item["gsi1pk"] = {"S": due_bucket(due)}
                item["gsi1sk"] = {"S": f"{iso(due)}#{pid}#{reminder.product_id}"}
        return items


@dataclass
class Loaded:
    customers: int = 0
    items: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, other: Loaded) -> None:
        self.customers += other.customers
        self.items.update(other.items)
        self.bytes.update(other.bytes)
        self.seconds += other.seconds


class Loader:
    """Parallel BatchWriteItem over plain HTTP (one connection per thread): DynamoDB Local takes
    any signature, and the load is bound by CPU that botocore's request building would share."""

    def __init__(self, endpoint: str, table: str) -> None:
        parts = urlsplit(endpoint)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.table = table
        self.local = threading.local()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20270315/eu-central-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        }
        for attempt in range(5):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=60
                )
            try:
                connection.request("POST", "/", body=json.dumps(body).encode(), headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self.local.connection = None
                if attempt == 4:
                    raise
                continue
            if response.status == 200:
                answer: dict[str, Any] = json.loads(payload)
                return answer
            if response.status < 500 or attempt == 4:
                raise AssertionError(f"BatchWriteItem: {response.status} {payload[:500]!r}")
            time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE]]
            for _attempt in range(20):
                unprocessed = self._post({"RequestItems": {self.table: requests}}).get("UnprocessedItems", {})
                requests = unprocessed.get(self.table, [])
                if not requests:
                    break
                time.sleep(0.05)
            assert not requests, "DynamoDB Local left items unprocessed"

    def customers(self, population: Population, indices: range, only: frozenset[str] | None = None) -> Loaded:
        started = time.monotonic()
        chunks = [indices[s : s + 200] for s in range(0, len(indices), 200)]

        def load(chunk: range) -> Loaded:
            done = Loaded(customers=len(chunk))
            batch: list[dict[str, Any]] = []
            for i in chunk:
                for item in population.customer(i):
                    kind = kind_of(item)
                    if only is not None and kind not in only:
                        continue
                    done.items[kind] += 1
                    done.bytes[kind] += item_size(item)
                    batch.append(item)
            self.write(batch)
            return done

        total = Loaded()
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            for done in pool.map(load, chunks):
                total.add(done)
        total.seconds = time.monotonic() - started
        return total


# ------------------------------------------------------------------------------------------
# Units


@dataclass
class Reads:
    units: float = 0.0  # as DynamoDB Local reported them, plus aws_rule
    aws_rule: float = 0.0
    write_units: float = 0.0
    items: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    by_call: Counter[str] = field(default_factory=Counter)  # units per access
    table_units: float = 0.0
    gsi_units: float = 0.0

    def add(self, other: Reads) -> None:
        self.units += other.units
        self.aws_rule += other.aws_rule
        self.write_units += other.write_units
        self.items += other.items
        self.calls.update(other.calls)
        self.by_call.update(other.by_call)
        self.table_units += other.table_units
        self.gsi_units += other.gsi_units

    def detail(self) -> dict[str, object]:
        return {
            "items_read": self.items,
            "calls": dict(self.calls),
            "read_units_by_access": {k: round(v, 1) for k, v in self.by_call.most_common()},
            "read_units_table": self.table_units,
            "read_units_gsi1": self.gsi_units,
            "aws_rule_read_units": self.aws_rule,
            "write_units": self.write_units,
        }


def access(op: str, params: dict[str, Any]) -> str:
    if op == "Query":
        partition = params["ExpressionAttributeValues"][":p"]["S"].split("#", 1)[0]
        return f"Query {params.get('IndexName', 'table')} {partition}#…"
    if op == "GetItem":
        return f"GetItem {kind_of(params['Key'])}" + (" (consistent)" if params.get("ConsistentRead") else "")
    if op == "BatchGetItem":
        keys = [k for request in params["RequestItems"].values() for k in request["Keys"]]
        return f"BatchGetItem {'+'.join(sorted({kind_of(k) for k in keys}))}"
    return op


class Meter:
    """Sums the units the sweep functions' DynamoDB client reports, per access."""

    def __init__(self) -> None:
        self.reads = Reads()

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.*", self._ask, unique_id="bench-sweeps-ask")
        events.register("after-call.dynamodb.*", self._count, unique_id="bench-sweeps-count")

    @contextlib.contextmanager
    def measuring(self) -> Iterator[Reads]:
        self.reads = Reads()
        yield self.reads

    @staticmethod
    def _ask(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"
        context["bench_sweeps_params"] = params

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        op = model.name
        params = context.get("bench_sweeps_params") or {}
        reads = self.reads
        reported = parsed.get("ConsumedCapacity")
        entries = reported if isinstance(reported, list) else [reported] if reported else []
        units = sum(float(e.get("CapacityUnits", 0.0)) for e in entries)
        if op in WRITE_OPS:
            reads.write_units += units
            return
        if op not in READ_OPS or "Error" in parsed:
            return
        assert entries, f"DynamoDB Local reported no capacity for {op}"
        rule = 0.0
        if op == "Query":
            reads.items += int(parsed.get("Count", 0))
            if units == 0:  # an empty Query: AWS bills at least one read of 4 KB
                rule = 1.0 if params.get("ConsistentRead") else 0.5
        elif op == "GetItem":
            reads.items += int("Item" in parsed)
        elif op == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                found = len(parsed.get("Responses", {}).get(table, []))
                unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                reads.items += found
                missing = len(request["Keys"]) - found - unprocessed
                rule += missing * (1.0 if request.get("ConsistentRead") else 0.5)
        for entry in entries:
            reads.table_units += float(entry.get("Table", {}).get("CapacityUnits", 0.0))
            reads.gsi_units += sum(
                float(i.get("CapacityUnits", 0.0)) for i in entry.get("GlobalSecondaryIndexes", {}).values()
            )
        reads.units += units + rule
        reads.aws_rule += rule
        reads.calls[op] += 1
        reads.by_call[access(op, params)] += units + rule


@dataclass
class Scan:
    units: float
    items: int
    pages: int
    seconds: float


def full_scan(
    client: Any, table: str, total: int, select: str = "COUNT", segments: Iterable[int] | None = None
) -> Scan:
    """Every item of the table, eventually consistent, in ``total`` parallel segments (each
    segment's last page is partial: at most 0.5 unit more per segment than one sequential Scan)."""
    started = time.monotonic()

    def segment(number: int) -> tuple[float, int, int]:
        units, items, pages = 0.0, 0, 0
        kwargs: dict[str, Any] = {
            "TableName": table,
            "Select": select,
            "ReturnConsumedCapacity": "TOTAL",
            "Segment": number,
            "TotalSegments": total,
        }
        while True:
            page = client.scan(**kwargs)
            units += float(page["ConsumedCapacity"]["CapacityUnits"])
            items += int(page["ScannedCount"])
            pages += 1
            if "LastEvaluatedKey" not in page:
                return units, items, pages
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    chosen = list(segments) if segments is not None else list(range(total))
    with ThreadPoolExecutor(SCAN_THREADS) as pool:
        parts = list(pool.map(segment, chosen))
    return Scan(
        units=sum(p[0] for p in parts),
        items=sum(p[1] for p in parts),
        pages=sum(p[2] for p in parts),
        seconds=time.monotonic() - started,
    )


# ------------------------------------------------------------------------------------------
# The sweeps


@dataclass
class SweepRun:
    hour: Reads  # the run at NOW
    hour_report: dict[str, Any]
    runs: int  # hourly runs from NOW: 24 (a day) or 1
    day: Reads  # all of them
    day_read: int  # candidates the sweep's own reports count
    day_emitted: int
    seconds: float


def scheduled_event(at: datetime, rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": iso(at),
        "region": "eu-central-1",
        "resources": [f"arn:aws:events:eu-central-1:123456789012:rule/{rule}"],
        "detail": {},
    }


def run_sweeps(runtime: LocalRuntime, meter: Meter, hours: int) -> dict[str, SweepRun]:
    """Both sweeps, hourly from NOW for ``hours`` hours, as EventBridge invokes them."""
    runs: dict[str, SweepRun] = {}
    sweeps: tuple[LocalFunction, ...] = (BIRTHDAY_SWEEP, REPLENISHMENT_SWEEP)
    days = {f.name: Reads() for f in sweeps}
    reports: dict[str, list[dict[str, Any]]] = {f.name: [] for f in sweeps}
    first: dict[str, Reads] = {}
    seconds: Counter[str] = Counter()
    for hour in range(hours):
        at = NOW + timedelta(hours=hour)
        runtime.clock.set(at)
        for function in sweeps:
            started = time.monotonic()
            with meter.measuring() as reads:
                report = runtime.invoke(function.name, function.handler, scheduled_event(at, function.name))
            seconds[function.name] += time.monotonic() - started
            reports[function.name].append(report)
            days[function.name].add(reads)
            if hour == 0:
                first[function.name] = reads
    for function in sweeps:
        runs[function.name] = SweepRun(
            hour=first[function.name],
            hour_report=reports[function.name][0],
            runs=hours,
            day=days[function.name],
            day_read=sum(r["read"] for r in reports[function.name]),
            day_emitted=sum(r["emitted"] for r in reports[function.name]),
            seconds=seconds[function.name],
        )
    return runs


# ------------------------------------------------------------------------------------------
# The run


@dataclass
class Measured:
    population: int
    scan: Scan
    segments: int
    sweeps: dict[str, SweepRun]
    loaded: Loaded  # every customer in the table


@dataclass
class Run:
    sample: Sample
    measured: list[Measured]
    scan_check: dict[str, float]


@pytest.fixture(scope="module")
def run(dynamodb_local: Any) -> Iterator[Run]:
    """Everything measured once; the tables are dropped afterwards (the session's DynamoDB Local
    serves the other benchmarks too)."""
    client = dynamodb_local.client(read_timeout=120)
    tables = [f"asusual-bench-sample-{uuid.uuid4().hex[:8]}", f"asusual-bench-sweeps-{uuid.uuid4().hex[:8]}"]
    try:
        with process_state(), quiet_logs():
            measured = measure(dynamodb_local, client, *tables)
        yield measured
    finally:
        for table in tables:
            with contextlib.suppress(Exception):
                client.delete_table(TableName=table)


def measure(dynamodb_local: Any, client: Any, sample_table: str, table: str) -> Run:
    sample = real_sample(dynamodb_local, sample_table)
    population = Population(sample.templates)
    create_main_table(client, table)
    loader = Loader(dynamodb_local.endpoint, table)
    loader.write(sample.shared)
    measured: list[Measured] = []
    loaded = Loaded()
    scan_check: dict[str, float] = {}
    with LocalRuntime(
        clock=ManualClock(NOW, frozen=True), dynamodb_endpoint=dynamodb_local.endpoint, table_name=table
    ) as runtime:
        runtime.consumers.clear()  # intents stay queued: delivery is not the sweeps' cost
        meter = Meter()
        meter.attach(clients.dynamodb())
        for size in POPULATIONS:
            if loaded.customers:  # the smaller population's sweeps sent and marked some: undo
                loader.customers(population, range(loaded.customers), SWEPT_KINDS)
            loaded.add(loader.customers(population, range(loaded.customers, size)))
            segments = max(16, size // PROFILES_PER_SEGMENT)
            scan = full_scan(client, table, segments)
            if not scan_check:
                whole = full_scan(client, table, segments, select="ALL_ATTRIBUTES", segments=[0])
                counted = full_scan(client, table, segments, segments=[0])
                scan_check = {"segment_0_all_attributes": whole.units, "segment_0_count": counted.units}
                assert whole.units == counted.units and whole.items == counted.items, scan_check
            hours = DAY_RUNS if size <= DAY_UP_TO else 1
            measured.append(Measured(size, scan, segments, run_sweeps(runtime, meter, hours), _copy(loaded)))
    return Run(sample, measured, scan_check)


def _copy(loaded: Loaded) -> Loaded:
    return Loaded(loaded.customers, Counter(loaded.items), Counter(loaded.bytes), loaded.seconds)


# ------------------------------------------------------------------------------------------
# Figures

NAMES = {BIRTHDAY_SWEEP.name: "birthday sweep", REPLENISHMENT_SWEEP.name: "replenishment sweep"}


def population_label(size: int) -> str:
    return f"{size // 1000}k"


def shapes(loaded: Loaded) -> dict[str, object]:
    """Per kind of item: how many per profile and their mean size (AWS's rules)."""
    return {
        kind: {
            "per_profile": round(loaded.items[kind] / loaded.customers, 3),
            "mean_bytes": round(loaded.bytes[kind] / loaded.items[kind]),
        }
        for kind in sorted(loaded.items)
    }


def test_population_and_full_scan(run: Run) -> None:
    sample = run.sample
    for m in run.measured:
        label = population_label(m.population)
        total_bytes = sum(m.loaded.bytes.values())
        items = sum(m.loaded.items.values())
        # every copy has keys of its own (nothing overwritten); the rest: shared items, local keys
        assert 0 <= m.scan.items - items - len(sample.shared) <= 20, (m.scan.items, items)
        record(
            Figure(
                "e",
                f"full scan of the table: read units, {label} profiles",
                m.scan.units,
                "RCU",
                id=f"full_scan_rru_{label}",
                note="eventually consistent Scan of every item: what a naive sweep reads",
                detail={
                    "items": m.scan.items,
                    "pages": m.scan.pages,
                    "segments": m.segments,
                    "seconds": round(m.scan.seconds, 1),
                    "profile_items_bytes": total_bytes,
                    "bytes_per_profile": round(total_bytes / m.loaded.customers),
                    "units_from_profile_item_sizes": round(total_bytes / 4096 * 0.5, 1),
                    **({"select_count_check": run.scan_check} if m is run.measured[0] else {}),
                },
            )
        )
        record(
            Figure(
                "e",
                f"load {label} profiles into DynamoDB Local",
                m.loaded.seconds,
                "s",
                id=f"load_seconds_{label}",
                note=f"BatchWriteItem, {LOAD_THREADS} threads; item shapes from the real functions",
                detail={
                    "items": items,
                    "items_per_second": round(items / m.loaded.seconds),
                    "items_per_profile": round(items / m.loaded.customers, 2),
                    "item_shapes": shapes(m.loaded),
                    "sample": {
                        "templates": TEMPLATES,
                        "events": sample.events,
                        "seconds": round(sample.seconds, 1),
                    },
                },
            )
        )


@pytest.mark.parametrize("sweep", [BIRTHDAY_SWEEP.name, REPLENISHMENT_SWEEP.name])
def test_sweep_reads_against_a_full_scan(run: Run, sweep: str) -> None:
    name = NAMES[sweep]
    sweep_id = name.replace(" ", "_")
    figures = []
    for m in run.measured:
        label = population_label(m.population)
        swept = m.sweeps[sweep]
        indexed = m.loaded.items["PROFILE/BIRTHDAY" if sweep == BIRTHDAY_SWEEP.name else "PROFILE/REMIND"]
        record(
            Figure(
                "e",
                f"{name}: read units per hourly run, {label} profiles",
                swept.hour.units,
                "RCU",
                id=f"{sweep_id}_rru_hourly_{label}",
                note=f"the run at {iso(NOW)}",
                detail={**swept.hour.detail(), "report": swept.hour_report, "indexed_in_table": indexed},
            )
        )
        record(
            Figure(
                "e",
                f"{name}: items read per hourly run, {label} profiles",
                swept.hour.items,
                "items",
                id=f"{sweep_id}_items_hourly_{label}",
                note="index entries, items and products the run's reads returned",
                detail={"candidates_in_report": swept.hour_report["read"], "table_items": m.scan.items},
            )
        )
        figures.append(
            record(
                Figure(
                    "e",
                    f"{name} / full scan, read units, {label} profiles",
                    swept.hour.units / m.scan.units,
                    "ratio",
                    id=f"{sweep_id}_vs_full_scan_{label}",
                    limit=TARGET if m.population == POPULATIONS[-1] else None,
                    note="one hourly run against one Scan of the same table",
                    detail={"sweep_units": swept.hour.units, "scan_units": m.scan.units},
                )
            )
        )
        if swept.runs == DAY_RUNS:
            record(
                Figure(
                    "e",
                    f"{name}: read units per day (24 runs), {label} profiles",
                    swept.day.units,
                    "RCU",
                    id=f"{sweep_id}_rru_daily_{label}",
                    note=f"hourly from {iso(NOW)}",
                    detail={
                        **swept.day.detail(),
                        "candidates": swept.day_read,
                        "emitted": swept.day_emitted,
                        "mean_hour_over_scan": swept.day.units / DAY_RUNS / m.scan.units,
                        "seconds": round(swept.seconds, 1),
                    },
                )
            )
    check(*figures)
