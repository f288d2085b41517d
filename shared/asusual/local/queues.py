"""Local mode's SQS: standard queues in the process, behind the real boto3 SQS client.

moto's SQS recounts every message of a queue on each receive and delete, so draining a backlog
takes time quadratic in its length. These queues keep each message in two heaps instead (visible
ones by send order, hidden ones by the instant they reappear), so a receive, delete or visibility
change costs a logarithm of the backlog.

:meth:`LocalQueues.attach` hooks a boto3 SQS client (``before-call``, the step before botocore
would sign and send the request): the operation's parameters arrive serialized as SQS's JSON
protocol puts them on the wire, the answer goes back as the service's HTTP response and is parsed
by botocore's own parser. So callers see exactly what boto3 gives them from AWS: the same
response shapes, and errors raised as botocore ``ClientError`` subclasses with SQS's codes
(``Error.Code`` the query-compatible one, e.g. ``AWS.SimpleQueueService.NonExistentQueue``), and
every other botocore hook (metering, parameter validation) still runs.

What is kept of SQS (standard queues): CreateQueue (VisibilityTimeout, DelaySeconds,
MaximumMessageSize, RedrivePolicy ...), GetQueueUrl, GetQueueAttributes (the message counts
included), SendMessage(Batch) (≤ 10 entries, ≤ the maximum message size each and together,
distinct valid entry ids, message attributes, MD5 digests of body and attributes, per-message
delay), ReceiveMessage (MaxNumberOfMessages 1-10, a visibility timeout per request or the
queue's, system and message attribute selection, ApproximateReceiveCount), DeleteMessage(Batch),
ChangeMessageVisibility(Batch), and redrive: a message received ``maxReceiveCount`` times moves to
the dead-letter queue when it would be received once more. Not kept: retention (messages stay
until deleted), long polling (a receive answers at once), FIFO queues, permissions and tags.

Visibility timeouts and delays run on real elapsed time (``monotonic``), as in AWS: a frozen
local clock does not freeze the queues. SentTimestamp and ApproximateFirstReceiveTimestamp are
read from the business clock (``asusual.clock``), the time of the local world."""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
import re
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from asusual import clock

MAX_BATCH_ENTRIES = 10
MAX_MESSAGE_BYTES = 262_144  # 256 KiB: the queue default, and the most a batch may carry
MAX_VISIBILITY_TIMEOUT = 43_200  # 12 hours
MAX_DELAY = 900
MAX_RECEIVE = 10
BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# the characters SQS accepts in a body or string attribute (#x9 | #xA | #xD | #x20-#xD7FF | ...)
INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
QUEUE_DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
}
SETTABLE = frozenset({*QUEUE_DEFAULTS, "RedrivePolicy", "SqsManagedSseEnabled"})


class SqsError(Exception):
    """An error as SQS answers it over its JSON protocol: ``shape`` names the modelled exception
    (``__type``), ``code`` the query-compatible code botocore puts in ``Error.Code``."""

    def __init__(self, shape: str, message: str, code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.shape = shape
        self.code = code or shape
        self.message = message
        self.status = status


def queue_does_not_exist() -> SqsError:
    return SqsError(
        "QueueDoesNotExist", "The specified queue does not exist.", "AWS.SimpleQueueService.NonExistentQueue"
    )


def invalid_parameter(message: str) -> SqsError:
    return SqsError("InvalidParameterValue", message)


class State(Enum):
    VISIBLE = "visible"
    IN_FLIGHT = "in_flight"  # received, hidden for its visibility timeout
    DELAYED = "delayed"  # sent with a delay, not yet visible


@dataclass(eq=False)
class Message:
    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]  # message attributes, as on the wire
    md5_body: str
    md5_attributes: str | None
    sent_ms: int
    seq: int  # send order: visible messages are received oldest first
    state: State | None = None  # None: in no queue
    receive_count: int = 0
    first_receive_ms: int = 0
    version: int = 0  # a heap entry with an older version is stale


class Queue:
    def __init__(self, name: str, url: str, arn: str, attributes: dict[str, str], created: int) -> None:
        self.name = name
        self.url = url
        self.arn = arn
        self.attributes = attributes
        self.created = created
        self.messages: dict[str, Message] = {}
        self._visible: list[tuple[int, int, str]] = []  # (seq, version, id)
        self._hidden: list[tuple[float, int, int, str]] = []  # (visible_at, seq, version, id)
        self.counts = dict.fromkeys(State, 0)

    @property
    def visibility_timeout(self) -> int:
        return int(self.attributes["VisibilityTimeout"])

    @property
    def max_message_bytes(self) -> int:
        return int(self.attributes["MaximumMessageSize"])

    def redrive(self) -> tuple[str, int] | None:
        """(dead-letter queue ARN, maxReceiveCount), when the queue has a redrive policy."""
        policy = self.attributes.get("RedrivePolicy")
        if not policy:
            return None
        parsed = json.loads(policy)
        return str(parsed["deadLetterTargetArn"]), int(parsed["maxReceiveCount"])

    # -- the two heaps ---------------------------------------------------------------------
    def add(self, message: Message, now: float, delay: int = 0) -> None:
        self.messages[message.message_id] = message
        if delay > 0:
            self._hide(message, State.DELAYED, now + delay)
        else:
            self._show(message)

    def _show(self, message: Message) -> None:
        self._move(message, State.VISIBLE)
        message.version += 1
        heapq.heappush(self._visible, (message.seq, message.version, message.message_id))

    def _hide(self, message: Message, state: State, until: float) -> None:
        self._move(message, state)
        message.version += 1
        heapq.heappush(self._hidden, (until, message.seq, message.version, message.message_id))

    def _move(self, message: Message, state: State) -> None:
        if message.state is not None:
            self.counts[message.state] -= 1
        message.state = state
        self.counts[state] += 1

    def remove(self, message: Message) -> None:
        del self.messages[message.message_id]
        if message.state is not None:
            self.counts[message.state] -= 1
        message.state = None
        message.version += 1  # its heap entries are stale now
        self._compact()

    def _live(self, message_id: str, version: int) -> Message | None:
        message = self.messages.get(message_id)
        return message if message is not None and message.version == version else None

    def promote(self, now: float) -> None:
        """Messages whose visibility timeout or delay has passed become visible again."""
        while self._hidden and self._hidden[0][0] <= now:
            _at, _seq, version, message_id = heapq.heappop(self._hidden)
            message = self._live(message_id, version)
            if message is not None:
                self._show(message)

    def pop_visible(self) -> Message | None:
        while self._visible:
            _seq, version, message_id = heapq.heappop(self._visible)
            message = self._live(message_id, version)
            if message is not None:
                return message
        return None

    def hide(self, message: Message, until: float) -> None:
        self._hide(message, State.IN_FLIGHT, until)

    def visible(self) -> Iterator[Message]:
        """Visible messages, oldest first, left where they are."""
        for _seq, version, message_id in sorted(self._visible):
            message = self._live(message_id, version)
            if message is not None:
                yield message

    def _compact(self) -> None:
        """Drop stale heap entries once they outnumber the messages (deletes leave them behind)."""
        if len(self._visible) + len(self._hidden) <= 2 * len(self.messages) + 64:
            return
        self._visible = [e for e in self._visible if self._live(e[2], e[1])]
        self._hidden = [e for e in self._hidden if self._live(e[3], e[2])]
        heapq.heapify(self._visible)
        heapq.heapify(self._hidden)


def md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes: each attribute by name, every part length-prefixed."""
    digest = hashlib.md5()  # noqa: S324 - SQS's checksum, not a security measure
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["DataType"])
        digest.update(_prefixed(name.encode()) + _prefixed(data_type.encode()))
        if "StringValue" in value:
            digest.update(b"\x01" + _prefixed(str(value["StringValue"]).encode()))
        else:
            digest.update(b"\x02" + _prefixed(base64.b64decode(value.get("BinaryValue", ""))))
    return digest.hexdigest()


def _prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - SQS's checksum


def _attributes_size(attributes: dict[str, dict[str, Any]]) -> int:
    size = 0
    for name, value in attributes.items():
        raw = value.get("StringValue")
        data = str(raw).encode() if raw is not None else base64.b64decode(value.get("BinaryValue", ""))
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode()) + len(data)
    return size


class LocalQueues:
    """Every local queue, by name; thread-safe (the publishers send batches from threads)."""

    def __init__(
        self,
        account: str = "123456789012",
        monotonic: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: int(clock.now().timestamp() * 1000),
    ) -> None:
        self.account = account
        self._monotonic = monotonic
        self._now_ms = now_ms
        self._queues: dict[str, Queue] = {}
        self._lock = threading.RLock()
        self._seq = 0
        self._parser: Any = None

    # -- botocore ------------------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        """Answer every call of this boto3 SQS ``client`` from these queues."""
        client.meta.events.register("before-call.sqs", self._answer, unique_id="asusual-local-queues")

    def _answer(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> tuple[Any, Any]:
        from botocore.awsrequest import AWSResponse, HeadersDict
        from botocore.parsers import create_parser

        request_id = str(uuid.uuid4())
        try:
            request = json.loads(params.get("body") or b"{}")
            status, payload = 200, self.call(model.name, request, region=context.get("client_region"))
            headers = HeadersDict(
                {"x-amzn-requestid": request_id, "content-type": "application/x-amz-json-1.0"}
            )
        except SqsError as exc:
            status, payload = exc.status, {"__type": f"com.amazonaws.sqs#{exc.shape}", "message": exc.message}
            headers = HeadersDict(
                {
                    "x-amzn-requestid": request_id,
                    "content-type": "application/x-amz-json-1.0",
                    "x-amzn-query-error": f"{exc.code};Sender",
                }
            )
        body = json.dumps(payload).encode()
        if self._parser is None:
            self._parser = create_parser("json")
        parsed = self._parser.parse(
            {
                "status_code": status,
                "headers": headers,
                "body": body,
                "context": {"operation_name": model.name},
            },
            model.output_shape,
        )
        parsed.setdefault("ResponseMetadata", {}).update(
            {
                "RequestId": request_id,
                "HTTPStatusCode": status,
                "HTTPHeaders": dict(headers),
                "RetryAttempts": 0,
            }
        )
        return AWSResponse(params.get("url", ""), status, headers, _Raw(body)), parsed

    def call(self, operation: str, request: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """One SQS operation, with the parameters and answer of its JSON protocol."""
        operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateQueue": lambda r: self._create_queue(r, region or "us-east-1"),
            "GetQueueUrl": self._get_queue_url,
            "GetQueueAttributes": self._get_queue_attributes,
            "SendMessage": self._send_message,
            "SendMessageBatch": self._send_message_batch,
            "ReceiveMessage": self._receive_message,
            "DeleteMessage": self._delete_message,
            "DeleteMessageBatch": self._delete_message_batch,
            "ChangeMessageVisibility": self._change_message_visibility,
            "ChangeMessageVisibilityBatch": self._change_message_visibility_batch,
        }
        operation_of = operations.get(operation)
        if operation_of is None:
            raise SqsError(
                "UnsupportedOperation",
                f"{operation} is not supported by the local queues",
                "AWS.SimpleQueueService.UnsupportedOperation",
            )
        with self._lock:
            return operation_of(request)

    # -- direct access (the runtime) ---------------------------------------------------------------
    def peek(self, name_or_url: str, limit: int = 100) -> list[dict[str, Any]]:
        """Visible messages of a queue, oldest first, as boto3's ReceiveMessage would give them
        next (every attribute, the receive count that receive would give, a receipt handle that
        can delete the message); they stay visible, their receive counts untouched."""
        with self._lock:
            queue = self._find(name_or_url)
            queue.promote(self._monotonic())
            seen: list[dict[str, Any]] = []
            for message in queue.visible():
                if len(seen) == limit:
                    break
                count = message.receive_count + 1
                shown = self._shown(message, _receipt(queue, message, count), ["All"], ["All"], count)
                for value in shown.get("MessageAttributes", {}).values():
                    if "BinaryValue" in value:  # bytes, as botocore parses the wire's base64
                        value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
                seen.append(shown)
            return seen

    # -- operations ------------------------------------------------------------------------------
    def _create_queue(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        name = str(request["QueueName"])
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
            raise invalid_parameter(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            )
        given = {str(k): str(v) for k, v in (request.get("Attributes") or {}).items()}
        for attribute, value in given.items():
            self._check_attribute(attribute, value)
        attributes = {**QUEUE_DEFAULTS, **given}
        existing = self._queues.get(name)
        if existing is not None:
            if any(existing.attributes.get(k) != v for k, v in given.items()):
                raise SqsError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for attribute(s) "
                    + ", ".join(given),
                    "QueueAlreadyExists",
                )
            return {"QueueUrl": existing.url}
        url = f"https://sqs.{region}.amazonaws.com/{self.account}/{name}"
        arn = f"arn:aws:sqs:{region}:{self.account}:{name}"
        self._queues[name] = Queue(name, url, arn, attributes, int(self._now_ms() / 1000))
        return {"QueueUrl": url}

    def _check_attribute(self, attribute: str, value: str) -> None:
        if attribute not in SETTABLE:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {attribute}.")
        if attribute == "RedrivePolicy":
            try:
                policy = json.loads(value)
                target, count = str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])
            except (ValueError, KeyError, TypeError) as exc:
                raise SqsError(
                    "InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy."
                ) from exc
            if target.rsplit(":", 1)[-1] not in self._queues or not 1 <= count <= 1000:
                raise SqsError("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy.")
            return
        limits = {
            "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
            "DelaySeconds": (0, MAX_DELAY),
            "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
            "MessageRetentionPeriod": (60, 1_209_600),
            "ReceiveMessageWaitTimeSeconds": (0, 20),
        }
        if attribute in limits:
            low, high = limits[attribute]
            if not value.isdigit() or not low <= int(value) <= high:
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {attribute}.")

    def _get_queue_url(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"QueueUrl": self._find(str(request["QueueName"])).url}

    def _get_queue_attributes(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        queue.promote(self._monotonic())
        every = {
            **queue.attributes,
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(queue.counts[State.VISIBLE]),
            "ApproximateNumberOfMessagesNotVisible": str(queue.counts[State.IN_FLIGHT]),
            "ApproximateNumberOfMessagesDelayed": str(queue.counts[State.DELAYED]),
            "CreatedTimestamp": str(queue.created),
            "LastModifiedTimestamp": str(queue.created),
        }
        names = list(request.get("AttributeNames") or [])
        if not names:
            return {}
        if "All" in names:
            return {"Attributes": every}
        unknown = [n for n in names if n not in every and n not in SETTABLE]
        if unknown:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
        return {"Attributes": {n: every[n] for n in names if n in every}}

    def _send_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        try:
            return self._send(queue, request)
        except _EntryError as exc:
            raise invalid_parameter(exc.message) from exc

    def _send_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        entries = self._batch(request, "SendMessageBatchRequestEntry")
        total = sum(
            len(str(e.get("MessageBody", "")).encode()) + _attributes_size(e.get("MessageAttributes") or {})
            for e in entries
        )
        if total > queue.max_message_bytes:
            raise SqsError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {queue.max_message_bytes} bytes. "
                f"You have sent {total} bytes.",
                "AWS.SimpleQueueService.BatchRequestTooLong",
            )
        successful, failed = [], []
        for entry in entries:
            try:
                successful.append({"Id": entry["Id"], **self._send(queue, entry)})
            except _EntryError as exc:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message}
                )
        return {"Successful": successful, "Failed": failed}

    def _send(self, queue: Queue, entry: dict[str, Any]) -> dict[str, Any]:
        body = str(entry.get("MessageBody", ""))
        attributes = {str(k): dict(v) for k, v in (entry.get("MessageAttributes") or {}).items()}
        if not body:
            raise _EntryError("MissingParameter", "The request must contain the parameter MessageBody.")
        if INVALID_CHARACTER.search(body):
            raise _EntryError("InvalidMessageContents", "Invalid characters found in the message body.")
        for name, value in attributes.items():
            self._check_message_attribute(name, value)
        size = len(body.encode()) + _attributes_size(attributes)
        if size > queue.max_message_bytes:
            raise _EntryError(
                "InvalidParameterValue",
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{queue.max_message_bytes} bytes.",
            )
        delay = int(entry.get("DelaySeconds", queue.attributes["DelaySeconds"]))
        if not 0 <= delay <= MAX_DELAY:
            raise _EntryError(
                "InvalidParameterValue", f"Value {delay} for parameter DelaySeconds is invalid."
            )
        self._seq += 1
        message = Message(
            message_id=str(uuid.uuid4()),
            body=body,
            attributes=attributes,
            md5_body=_md5(body),
            md5_attributes=md5_of_attributes(attributes) if attributes else None,
            sent_ms=self._now_ms(),
            seq=self._seq,
        )
        queue.add(message, self._monotonic(), delay)
        sent = {"MessageId": message.message_id, "MD5OfMessageBody": message.md5_body}
        if message.md5_attributes is not None:
            sent["MD5OfMessageAttributes"] = message.md5_attributes
        return sent

    @staticmethod
    def _check_message_attribute(name: str, value: dict[str, Any]) -> None:
        data_type = str(value.get("DataType", ""))
        kind = data_type.split(".", 1)[0]
        if kind not in ("String", "Number", "Binary"):
            raise _EntryError(
                "InvalidParameterValue", f"The type of message (user) attribute '{name}' is invalid."
            )
        if kind == "Binary":
            if "BinaryValue" not in value:
                raise _EntryError(
                    "InvalidParameterValue",
                    f"Message (user) attribute '{name}' must contain a non-empty value of type '{kind}'.",
                )
            try:
                base64.b64decode(value["BinaryValue"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise _EntryError(
                    "InvalidParameterValue", f"Message (user) attribute '{name}' is invalid."
                ) from exc
            return
        text = value.get("StringValue")
        if not text:
            raise _EntryError(
                "InvalidParameterValue",
                f"Message (user) attribute '{name}' must contain a non-empty value of type '{kind}'.",
            )
        if INVALID_CHARACTER.search(str(text)):
            raise _EntryError(
                "InvalidParameterValue", f"Message (user) attribute '{name}' contains invalid characters."
            )

    def _receive_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        wanted = int(request.get("MaxNumberOfMessages", 1))
        if not 1 <= wanted <= MAX_RECEIVE:
            raise invalid_parameter(
                f"Value {wanted} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        timeout = int(request.get("VisibilityTimeout", queue.visibility_timeout))
        if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
            raise invalid_parameter(f"Value {timeout} for parameter VisibilityTimeout is invalid.")
        system = list(request.get("MessageSystemAttributeNames") or []) + list(
            request.get("AttributeNames") or []
        )
        names = list(request.get("MessageAttributeNames") or [])
        now = self._monotonic()
        queue.promote(now)
        redrive = queue.redrive()
        received: list[dict[str, Any]] = []
        while len(received) < wanted:
            message = queue.pop_visible()
            if message is None:
                break
            if redrive is not None and message.receive_count >= redrive[1]:
                self._dead_letter(queue, message, redrive[0])
                continue
            message.receive_count += 1
            if message.first_receive_ms == 0:
                message.first_receive_ms = self._now_ms()
            queue.hide(message, now + timeout)
            received.append(
                self._shown(message, _receipt(queue, message, message.receive_count), system, names)
            )
        return {"Messages": received} if received else {}

    def _dead_letter(self, queue: Queue, message: Message, target_arn: str) -> None:
        queue.remove(message)
        target = self._find(target_arn.rsplit(":", 1)[-1])
        self._seq += 1
        message.seq = self._seq
        target.add(message, self._monotonic())

    def _shown(
        self,
        message: Message,
        receipt: str,
        system: list[str],
        names: list[str],
        receive_count: int | None = None,
    ) -> dict[str, Any]:
        """A message as ReceiveMessage answers it (``receive_count``: another count to show)."""
        every = {
            "SenderId": self.account,
            "SentTimestamp": str(message.sent_ms),
            "ApproximateReceiveCount": str(receive_count or message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms or self._now_ms()),
        }
        shown: dict[str, Any] = {
            "MessageId": message.message_id,
            "ReceiptHandle": receipt,
            "MD5OfBody": message.md5_body,
            "Body": message.body,
        }
        attributes = {k: v for k, v in every.items() if "All" in system or k in system}
        if attributes:
            shown["Attributes"] = attributes
        chosen = {k: dict(v) for k, v in message.attributes.items() if _selected(k, names)}
        if chosen:
            shown["MessageAttributes"] = chosen
            shown["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
        return shown

    def _delete_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        self._delete(queue, str(request["ReceiptHandle"]))
        return {}

    def _delete_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        successful, failed = [], []
        for entry in self._batch(request, "DeleteMessageBatchRequestEntry"):
            try:
                self._delete(queue, str(entry["ReceiptHandle"]))
                successful.append({"Id": entry["Id"]})
            except SqsError as exc:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message}
                )
        return {"Successful": successful, "Failed": failed}

    def _delete(self, queue: Queue, receipt: str) -> None:
        message_id = _message_of(queue, receipt)
        message = queue.messages.get(message_id)
        if message is not None:  # deleting a deleted message succeeds, as in SQS
            queue.remove(message)

    def _change_message_visibility(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        self._change(queue, str(request["ReceiptHandle"]), int(request["VisibilityTimeout"]))
        return {}

    def _change_message_visibility_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._find(request["QueueUrl"])
        successful, failed = [], []
        for entry in self._batch(request, "ChangeMessageVisibilityBatchRequestEntry"):
            try:
                self._change(queue, str(entry["ReceiptHandle"]), int(entry.get("VisibilityTimeout", 0)))
                successful.append({"Id": entry["Id"]})
            except SqsError as exc:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message}
                )
        return {"Successful": successful, "Failed": failed}

    def _change(self, queue: Queue, receipt: str, timeout: int) -> None:
        if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
            raise invalid_parameter(f"Value {timeout} for parameter VisibilityTimeout is invalid.")
        message = queue.messages.get(_message_of(queue, receipt))
        if message is None or message.state is not State.IN_FLIGHT:
            raise SqsError(
                "MessageNotInflight",
                "The message referred to isn't in flight.",
                "AWS.SimpleQueueService.MessageNotInflight",
            )
        now = self._monotonic()
        queue.hide(message, now + timeout)
        queue.promote(now)  # a timeout of 0: visible at once

    # -- helpers ---------------------------------------------------------------------------------
    def _find(self, name_or_url: str) -> Queue:
        queue = self._queues.get(str(name_or_url).rstrip("/").rsplit("/", 1)[-1])
        if queue is None:
            raise queue_does_not_exist()
        return queue

    @staticmethod
    def _batch(request: dict[str, Any], entry_shape: str) -> list[dict[str, Any]]:
        entries = list(request.get("Entries") or [])
        if not entries:
            raise SqsError(
                "EmptyBatchRequest",
                f"There should be at least one {entry_shape} in the request.",
                "AWS.SimpleQueueService.EmptyBatchRequest",
            )
        if len(entries) > MAX_BATCH_ENTRIES:
            raise SqsError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
                f"You have sent {len(entries)}.",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            )
        seen: set[str] = set()
        for entry in entries:
            entry_id = str(entry.get("Id", ""))
            if not BATCH_ID.fullmatch(entry_id):
                raise SqsError(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                    "It can be at most 80 letters long.",
                    "AWS.SimpleQueueService.InvalidBatchEntryId",
                )
            if entry_id in seen:
                raise SqsError(
                    "BatchEntryIdsNotDistinct",
                    f"Id {entry_id} repeated.",
                    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                )
            seen.add(entry_id)
        return entries


class _EntryError(Exception):
    """One entry of a batch refused (the batch answers it in ``Failed``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Raw:
    """The raw body of an answer, as botocore's AWSResponse reads it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _receipt(queue: Queue, message: Message, receive_count: int) -> str:
    raw = f"{queue.name}\n{message.message_id}\n{receive_count}\n{uuid.uuid4().hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _message_of(queue: Queue, receipt: str) -> str:
    """The message id a receipt handle of ``queue`` names; ReceiptHandleIsInvalid for anything else."""
    try:
        name, message_id, _count, _nonce = base64.urlsafe_b64decode(receipt.encode()).decode().split("\n")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SqsError(
            "ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not a valid receipt handle.'
        ) from exc
    if name != queue.name:
        raise SqsError(
            "ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not a valid for this queue.'
        )
    return message_id


def _selected(name: str, names: list[str]) -> bool:
    """ReceiveMessage's MessageAttributeNames: All, .*, a name, or a prefix ending in .*."""
    for wanted in names:
        if wanted in ("All", ".*") or wanted == name:
            return True
        if wanted.endswith(".*") and name.startswith(wanted[:-1]):
            return True
    return False
