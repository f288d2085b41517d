"""The local AWS: moto in-process, the table and queues built from the same specs as the CDK
stack, the fixed local keys, and the pieces of Lambda that AWS would run for us — event source
mappings (queue → consumer function as SQS batch events, partial batch failures honoured, DLQ
after max receives) and EventBridge schedules driven by the injected clock.

The queues are not moto's (whose every receive and delete recounts the whole queue) but
:class:`asusual.local.queues.LocalQueues`, answering every boto3 SQS client the package makes
(``clients.prepare``); with the table in moto, its TransactWriteItems no longer copies the table
(:mod:`asusual.local.moto_dynamodb`).

With ``dynamodb_endpoint`` the table lives in DynamoDB Local or real DynamoDB instead (created if
absent, reused if present, so the data outlives the process); everything else stays on moto. A
request to a local endpoint (http://127.0.0.1:8000) matches none of moto's AWS URL patterns and
goes out as usual; for an AWS endpoint moto is told to pass DynamoDB through and to leave the
credentials in the environment alone."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from asusual import clock as clock_module
from asusual.access.keys import hash_key
from asusual.access.models import ApiKey, Channel, KeyScope, Source
from asusual.channels.outbox import OUTBOX, Outbox
from asusual.clock import ManualClock
from asusual.local import moto_dynamodb
from asusual.local.functions import FUNCTIONS, QUEUE_CONSUMERS, SCHEDULED
from asusual.local.queues import LocalQueues
from asusual.settings import reset_settings
from asusual.store import clients
from asusual.store.access import DynamoAccessRepository
from asusual.store.dynamo import from_item, item_key, to_item
from asusual.store.queues import QUEUES, QueueSpec
from asusual.store.secrets import reset_secrets
from asusual.store.tables import TableMismatch, ensure_main_table
from asusual.store.weather import Transport, use_transport

REGION = "eu-central-1"
ACCOUNT = "123456789012"
TABLE = "asusual-local"

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LocalSource:
    key: str
    source_id: str
    name: str
    channel: Channel
    timezone: str | None = None
    store_id: str | None = None
    allowed_origins: tuple[str, ...] = ()  # a public source's (its key is in the pages)


# design.md 3.2: fixed keys that exist only in local mode. web_local_key is the web shop's backend
# (server-side); browser_local_key is in its pages, which a developer serves on any local port.
LOCAL_SOURCES = (
    LocalSource("web_local_key", "web_local", "Local web shop", Channel.WEB),
    LocalSource(
        "browser_local_key",
        "browser_local",
        "Local web shop's pages",
        Channel.WEB,
        allowed_origins=("http://127.0.0.1:*", "http://localhost:*"),
    ),
    LocalSource("app_local_key", "app_local", "Local mobile app", Channel.APP),
    LocalSource("email_local_key", "email_local", "Local email service", Channel.EMAIL),
    LocalSource(
        "store_local_key", "store_local", "Local store POS", Channel.STORE, "Europe/Moscow", "store-001"
    ),
    LocalSource(
        "call_center_local_key",
        "call_center_local",
        "Local call center",
        Channel.CALL_CENTER,
        "Europe/Moscow",
    ),
)
READ_KEY = "read_local_key"
ADMIN_KEY = "admin_local_key"
LOCAL_COUNTRY = "RU"
PUBLIC_URL = "http://127.0.0.1:8787"
LINK_SECRET_NAME = "asusual-local-link-secrets"  # noqa: S105 - the secret's name; its value is random
SUPPRESSION_SECRET_NAME = "asusual-local-suppression-key"  # noqa: S105 - the name; the value is random


class LocalSetupError(RuntimeError):
    """The local runtime cannot start: DynamoDB unreachable or refusing, or its table does not fit."""


AWS_HOST = re.compile(r"(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$")
AWS_REGION_IN_HOST = re.compile(r"(?:^|\.)dynamodb(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.")


def is_aws_endpoint(endpoint: str | None) -> bool:
    """True for real AWS (https://dynamodb.<region>.amazonaws.com and the like)."""
    host = (urlsplit(endpoint).hostname or "") if endpoint else ""
    return bool(AWS_HOST.search(host.lower()))


def dynamodb_region(endpoint: str | None) -> str:
    """The region of the local stack: the one in a real AWS endpoint's host name, else
    AWS_DEFAULT_REGION (or AWS_REGION) for an AWS endpoint without one, else ``REGION``."""
    if endpoint is None or not is_aws_endpoint(endpoint):
        return REGION
    found = AWS_REGION_IN_HOST.search((urlsplit(endpoint).hostname or "").lower())
    if found:
        return found.group(1)
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or REGION


def moto_config(endpoint: str | None) -> DefaultConfig | None:
    """mock_aws's config: its defaults, or for real AWS DynamoDB passed through (by service and
    by the endpoint's URL, which also covers hosts moto has no pattern for) and the environment's
    credentials left as they are (moto would replace them with fakes)."""
    if endpoint is None or not is_aws_endpoint(endpoint):
        return None
    return {
        "core": {
            "mock_credentials": False,
            "passthrough": {"services": ["dynamodb"], "urls": [re.escape(endpoint.rstrip("/")) + "(/.*)?$"]},
            "reset_boto3_session": True,
            "service_whitelist": None,
        }
    }


class LocalContext:
    """The parts of a Lambda context that powertools reads."""

    def __init__(self, function_name: str, region: str = REGION) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Consumer:
    function_name: str
    handler: Handler
    batch_size: int = 10


@dataclass
class Schedule:
    """An EventBridge rate schedule, fired by :meth:`LocalRuntime.run` when the clock says so."""

    name: str
    every: timedelta
    function_name: str
    handler: Handler
    next_due: datetime | None = None


@dataclass
class QueueReport:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    dead_lettered: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "waiting": self.waiting,
            "dead_lettered": self.dead_lettered,
        }


@dataclass
class LocalRuntime:
    clock: ManualClock = field(default_factory=ManualClock)
    # None: the table is in moto too; else DynamoDB Local or real DynamoDB at this URL
    dynamodb_endpoint: str | None = None
    table_name: str = TABLE
    consumers: dict[str, Consumer] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    outbox: Outbox = field(default_factory=lambda: OUTBOX)
    lock: threading.RLock = field(default_factory=threading.RLock)
    queue_urls: dict[str, str] = field(default_factory=dict)
    # a clock jump fires the missed ticks of this last stretch only: the sweeps read their own
    # look-back, so older ticks would find nothing new, and a months-long jump stays fast
    catch_up: timedelta = timedelta(hours=24)
    # with ASUSUAL_WEATHER=open-meteo: answers instead of Open-Meteo's (tests: recorded answers);
    # None: the network (docs/weather.md)
    weather_transport: Transport | None = None
    region: str = field(default=REGION, init=False)  # set by start(): see dynamodb_region
    table_created: bool = field(default=False, init=False)  # set by start(): False when reused
    queues: LocalQueues = field(default_factory=lambda: LocalQueues(ACCOUNT), init=False)
    _mock: Any = None
    _previous_clock: Any = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        """Start moto, build (or find) the table and the queues, seed the local keys. On failure
        everything started is stopped again; :class:`LocalSetupError` says what went wrong."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalRuntime:
        from moto import mock_aws

        aws = is_aws_endpoint(self.dynamodb_endpoint)
        self.region = dynamodb_region(self.dynamodb_endpoint)
        if not aws:  # requests never leave the machine: fixed fake credentials
            os.environ.update(
                {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
            )
        if self.dynamodb_endpoint:
            os.environ["ASUSUAL_DYNAMODB_ENDPOINT"] = self.dynamodb_endpoint
            os.environ.pop("ASUSUAL_PROCESSOR_THREADS", None)
        else:
            os.environ.pop("ASUSUAL_DYNAMODB_ENDPOINT", None)
            # moto checks a condition and writes without a lock: one profile group at a time, so
            # that a batch's groups never race on a shared item (a segment's size counter)
            os.environ["ASUSUAL_PROCESSOR_THREADS"] = "1"
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": self.region,
                "ASUSUAL_STAGE": "local",
                "ASUSUAL_REGION": self.region,
                "ASUSUAL_TABLE_NAME": self.table_name,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "asusual",
                "ASUSUAL_SQS_SEND_WORKERS": "1",
                "ASUSUAL_DEFAULT_COUNTRY": LOCAL_COUNTRY,  # moto serializes calls; threads only contend
                "ASUSUAL_DELIVERY_MODE": "outbox",
                "ASUSUAL_OFFER_POOL_CACHE_SECONDS": "0",  # an upload shows in the next decision
                # one process runs every function: a changed segment reaches the definitions' caches
                # at once (segments.live.definitions_changed), so its back-fill needs no delay
                "ASUSUAL_SEGMENT_BACKFILL_DELAY_SECONDS": "0",
                "ASUSUAL_CAMPAIGN_STATUS_CACHE_SECONDS": "0",  # a cancel reaches the next dispatch
                "ASUSUAL_PUBLIC_BASE_URL": PUBLIC_URL,  # until set_public_url gives the gateway's own
            }
        )
        if aws:
            self._check_credentials()
        self._mock = mock_aws(config=moto_config(self.dynamodb_endpoint))
        self._mock.start()
        if self.dynamodb_endpoint is None:
            moto_dynamodb.install()
        self.queues = LocalQueues(ACCOUNT, monotonic=LocalElapsed(self.clock))
        clients.prepare("sqs", self.queues.attach)
        self.outbox.clear()
        use_transport(self.weather_transport)
        self._reset_caches()
        self.table_created = self._ensure_table()
        for spec in QUEUES:
            self.queue_urls[spec.name] = self._create_queue(spec)
            os.environ[f"ASUSUAL_{spec.settings_field.upper()}"] = self.queue_urls[spec.name]
        os.environ.pop("ASUSUAL_LINK_SECRETS", None)
        os.environ["ASUSUAL_LINK_SECRETS_ARN"] = self._create_link_secret()
        os.environ.pop("ASUSUAL_SUPPRESSION_SECRETS", None)
        os.environ["ASUSUAL_SUPPRESSION_SECRETS_ARN"] = self._create_suppression_secret()
        self._reset_caches()
        self._seed_keys()
        for function in QUEUE_CONSUMERS:
            assert function.consumes is not None
            consumer = Consumer(function.name, function.handler, function.batch_size)
            self.add_consumer(function.consumes, consumer)
        for function in SCHEDULED:
            assert function.every is not None
            self.add_schedule(Schedule(function.name, function.every, function.name, function.handler))
        self._previous_clock = clock_module.set_clock(self.clock)
        return self

    def stop(self) -> None:
        if self._previous_clock is not None:
            clock_module.set_clock(self._previous_clock)
            self._previous_clock = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        clients.prepare("sqs", None)
        use_transport(None)
        moto_dynamodb.uninstall()
        self._reset_caches()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_public_url(self, url: str) -> None:
        """Why and unsubscribe links point at ``url`` (the gateway's address, once it listens)."""
        os.environ["ASUSUAL_PUBLIC_BASE_URL"] = url.rstrip("/")
        self._reset_caches()

    @staticmethod
    def _reset_caches() -> None:
        reset_settings()
        reset_secrets()
        clients.reset_clients()
        for function in FUNCTIONS:
            function.reset()

    def _check_credentials(self) -> None:
        import boto3

        if boto3.session.Session(region_name=self.region).get_credentials() is None:
            raise LocalSetupError(
                f"real DynamoDB at {self.dynamodb_endpoint} needs AWS credentials: none found "
                "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, or aws sso login)"
            )

    def _ensure_table(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"DynamoDB at {self.dynamodb_endpoint}" if self.dynamodb_endpoint else "DynamoDB"
        try:
            return ensure_main_table(clients.dynamodb(), self.table_name)
        except TableMismatch as exc:
            raise LocalSetupError(f"{where}: {exc}") from exc
        except ClientError as exc:
            raise LocalSetupError(f"{where} refused to set up table {self.table_name!r}: {exc}") from exc
        except BotoCoreError as exc:
            hint = "" if is_aws_endpoint(self.dynamodb_endpoint) else " (is `make dynamodb-local` running?)"
            raise LocalSetupError(f"cannot reach {where}{hint}: {exc}") from exc

    @staticmethod
    def _create_link_secret() -> str:
        """The link-signing secret, as a deployed stage has it: random, in Secrets Manager (moto's),
        read through the same code path. New on every start, so a link from an earlier run of the
        local server no longer opens."""
        created = clients.secretsmanager().create_secret(
            Name=LINK_SECRET_NAME, SecretString=secrets.token_urlsafe(32)
        )
        return str(created["ARN"])

    def _create_suppression_secret(self) -> str:
        """The key that hashes erased identifiers, in Secrets Manager as a deployed stage has it.
        With the table in memory it is random at every start, like the table; with the table in
        DynamoDB Local (or real DynamoDB) it is kept in that table, local mode only, so an erased
        customer stays suppressed across restarts of ``make serve``."""
        key = secrets.token_urlsafe(32)
        if self.dynamodb_endpoint is not None:
            db = clients.dynamodb()
            at = item_key("LOCAL#SUPPRESSION_KEY", "LOCAL")
            with contextlib.suppress(db.exceptions.ConditionalCheckFailedException):
                db.put_item(
                    TableName=self.table_name,
                    Item={**at, **to_item({"entity": "local_secret", "value": key})},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            stored = db.get_item(TableName=self.table_name, Key=at, ConsistentRead=True)
            key = str(from_item(stored["Item"])["value"])
        created = clients.secretsmanager().create_secret(Name=SUPPRESSION_SECRET_NAME, SecretString=key)
        return str(created["ARN"])

    def _create_queue(self, spec: QueueSpec) -> str:
        sqs = clients.sqs()
        dlq_url = sqs.create_queue(QueueName=spec.dlq_name)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.queue_urls[spec.dlq_name] = dlq_url
        url: str = sqs.create_queue(
            QueueName=spec.name,
            Attributes={
                "VisibilityTimeout": "180",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        return url

    def _seed_keys(self) -> None:
        """The fixed local keys; those already in the table (a reused one) stay as they are."""
        repo = self.access_repository()
        created = self.clock.now()
        for local in LOCAL_SOURCES:
            if repo.get_source(local.source_id) is not None or repo.find_key(hash_key(local.key)):
                continue
            source = Source(
                source_id=local.source_id,
                name=local.name,
                channel=local.channel,
                timezone=local.timezone,
                country=LOCAL_COUNTRY,
                store_id=local.store_id,
                public=bool(local.allowed_origins),
                allowed_origins=list(local.allowed_origins),
                created_at=created,
            )
            repo.create_source(
                source,
                ApiKey(
                    key_hash=hash_key(local.key),
                    scope=KeyScope.WRITE,
                    source=source,
                    created_at=created,
                    label="local only",
                ),
            )
        for key, scope in ((READ_KEY, KeyScope.READ), (ADMIN_KEY, KeyScope.ADMIN)):
            if repo.find_key(hash_key(key)) is not None:
                continue
            repo.add_key(ApiKey(key_hash=hash_key(key), scope=scope, created_at=created, label="local only"))

    def access_repository(self) -> DynamoAccessRepository:
        return DynamoAccessRepository(clients.dynamodb(), self.table_name)

    # -- functions ---------------------------------------------------------------------------
    def invoke(self, function_name: str, handler: Handler, event: dict[str, Any]) -> Any:
        with self.lock:
            return handler(event, LocalContext(function_name, self.region))

    def add_consumer(self, queue: str, consumer: Consumer) -> None:
        self.consumers[queue] = consumer

    def add_schedule(self, schedule: Schedule) -> None:
        self.schedules.append(schedule)

    # -- time travel ---------------------------------------------------------------------------
    def run(self, max_rounds: int = 10_000) -> dict[str, Any]:
        """Drain every queue; fire every due schedule tick at its own time and drain the queues
        right after it, at that time (in AWS the consumers run at once, so a birthday intent a
        sweep emits at 07:00 is sent at 07:00, not when the clock is next looked at); drain again."""
        totals: dict[str, dict[str, int]] = {}

        def drained(depths: bool = False) -> None:
            for name, report in self.drain(max_rounds=max_rounds, depths=depths).items():
                total = totals.setdefault(name, dict.fromkeys(report, 0))
                total["delivered"] += report["delivered"]
                total["failed"] += report["failed"]
                total["waiting"], total["dead_lettered"] = report["waiting"], report["dead_lettered"]

        with self.lock:
            drained()
            fired = self._fire_due_schedules(after_each=drained)
            drained(depths=True)
        return {"now": self.clock.now().isoformat(), "schedules": fired, "queues": totals}

    def _fire_due_schedules(self, after_each: Callable[[], None] | None = None) -> dict[str, int]:
        """Every tick a schedule missed since the last run (within ``catch_up``) fires, in time
        order, with the clock set to the tick (as EventBridge would have invoked it then), and
        ``after_each`` runs at that time too; the clock ends where it was."""
        now = self.clock.now()
        fired: dict[str, int] = {s.name: 0 for s in self.schedules}
        ticks: list[tuple[datetime, int]] = []
        for position, schedule in enumerate(self.schedules):
            due = schedule.next_due or now
            if due < now - self.catch_up:
                due = _next_tick(now - self.catch_up, schedule.every)
            while due <= now:
                ticks.append((due, position))
                due = _next_tick(due, schedule.every)
            schedule.next_due = due
        try:
            for tick, position in sorted(ticks):
                schedule = self.schedules[position]
                self.clock.set(tick)
                event = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": ACCOUNT,
                    "time": tick.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": self.region,
                    "resources": [f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{schedule.name}"],
                    "detail": {},
                }
                self.invoke(schedule.function_name, schedule.handler, event)
                fired[schedule.name] += 1
                if after_each is not None:
                    after_each()
        finally:
            self.clock.set(now)
        return fired

    @staticmethod
    def _receive_batch(url: str, size: int) -> list[dict[str, Any]]:
        """Up to ``size`` messages, as the event source mapping gathers a batch: receives of at
        most 10 (SQS's limit) until the batch is full or the queue has no more."""
        sqs = clients.sqs()
        messages: list[dict[str, Any]] = []
        while len(messages) < size:
            received = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            messages += received
            if not received:
                break
        return messages

    def drain(self, max_rounds: int = 10_000, depths: bool = True) -> dict[str, dict[str, int]]:
        """Feed queued messages to their consumers as SQS batch events until no queue has work.
        Failed items are made visible again at once; SQS moves them to the DLQ after the queue's
        max receives, as in AWS. ``depths``: also count what waits and what is dead-lettered."""
        sqs = clients.sqs()
        reports = {name: QueueReport() for name in self.queue_urls if not name.endswith("-dlq")}
        for _round in range(max_rounds):
            busy = False
            for name, consumer in self.consumers.items():
                url = self.queue_urls[name]
                messages = self._receive_batch(url, consumer.batch_size)
                if not messages:
                    continue
                busy = True
                failed = self._deliver(name, consumer, messages)
                report = reports[name]
                report.failed += len(failed)
                report.delivered += len(messages) - len(failed)
                done = [m for m in messages if m["MessageId"] not in failed]
                for start in range(0, len(done), 10):
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(done[start : start + 10])
                        ],
                    )
                for message in messages:
                    if message["MessageId"] in failed:
                        sqs.change_message_visibility(
                            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                        )
            if not busy:
                break
        for name, report in reports.items():
            if depths:
                report.waiting = self.depth(name)
                report.dead_lettered = self.depth(f"{name}-dlq")
        return {name: report.as_dict() for name, report in reports.items()}

    def _deliver(self, queue: str, consumer: Consumer, messages: list[dict[str, Any]]) -> set[str]:
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT}:{queue}"
        event = {"Records": [sqs_record(m, arn, self.region) for m in messages]}
        try:
            response = self.invoke(consumer.function_name, consumer.handler, event) or {}
        except Exception:  # the whole invocation failed: every message returns to the queue
            return {m["MessageId"] for m in messages}
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    def depth(self, queue: str) -> int:
        attributes = clients.sqs().get_queue_attributes(
            QueueUrl=self.queue_urls[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def peek(self, queue: str, limit: int = 100) -> list[dict[str, Any]]:
        """Messages waiting (visible) on ``queue``, oldest first, as the next ReceiveMessage would
        give them; they stay, and their receive counts do not move."""
        return self.queues.peek(self.queue_urls[queue], limit)


class LocalElapsed:
    """The local queues' time (delays, visibility timeouts): real elapsed time, or the local
    clock's advance when that is larger, as the two are one in AWS. A campaign sweep at 09:45
    delays an intent 900 s; the 10:00 tick moves the local clock 15 minutes and the intent is
    dispatched at 10:00, not a quarter of an hour of real time later. The clock moving back (the
    runtime replays missed ticks from their own instants) adds nothing; each step forward adds
    its length, so what a replayed tick delays becomes visible at the later tick it is due at."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._real = time.monotonic()
        self._at = clock.now()
        self._value = 0.0

    def __call__(self) -> float:
        with self._lock:
            real, at = time.monotonic(), self._clock.now()
            self._value += max(real - self._real, (at - self._at).total_seconds(), 0.0)
            self._real, self._at = real, at
            return self._value


def _next_tick(tick: datetime, every: timedelta) -> datetime:
    """The schedule's next tick, aligned to multiples of ``every`` (rate(1 hour) → on the hour)."""
    step = int(every.total_seconds())
    epoch = int(tick.timestamp())
    return datetime.fromtimestamp((epoch // step + 1) * step, tz=tick.tzinfo)


def sqs_record(message: dict[str, Any], arn: str, region: str = REGION) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to a function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", ACCOUNT),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
