"""From raw request bytes to validated events, item by item (pure).

One bad item never costs the others: a request is refused as a whole (400) only when its body
cannot be read at all or is larger than the limits. Each message is judged as it will be queued:
with the batch's ``context`` and ``integrations`` merged in, within 32 KB, nested at most 32
levels, valid Unicode throughout (asusual.shape); the messages of one request together
stay within 4 MB once merged, so a small body cannot become a flood on the queue.

Event time never runs ahead of arrival: a timestamp in the future (a client's wrong clock, or a
forged one) is clamped to the moment we received it, and a time that cannot be real (before 1970,
or out of range) is replaced by it; the event records the correction (``time_corrected``).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from asusual.errors import BadRequest
from asusual.intake.models import (
    EventType,
    IntakeEvent,
    Rejection,
    SegmentMessage,
    SourceContext,
    TimeCorrection,
)
from asusual.shape import shape_problem

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BODY_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_REQUEST_QUEUED_BYTES = 4 * 1024 * 1024  # all messages of one request, envelope merged in
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # before this, a time is not an event's


def decode_body(raw: bytes, content_encoding: str | None) -> dict[str, Any]:
    """The JSON object of a request body, gunzipped if needed, within the 500 KB limit."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        raw = _gunzip(raw)
    elif encoding not in ("", "identity"):
        raise BadRequest(
            f"Content-Encoding: {content_encoding!r} is not supported (gzip is)", code="bad_encoding"
        )
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"body: {len(raw)} bytes exceeds the 500 KB limit", code="body_too_large")
    if not raw.strip():
        raise BadRequest("body: empty, a JSON object is required", code="invalid_json")
    try:
        body = json.loads(raw, parse_int=_int)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body: not valid JSON ({exc})", code="invalid_json") from exc
    except RecursionError as exc:  # thousands of levels: no message in it could be accepted
        raise BadRequest("body: nested too deeply to read", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object", code="invalid_json")
    return body


def _int(digits: str) -> int | float:
    """JSON integers as Python reads them, but one too long for int() (over 4,300 digits) becomes
    infinity, which the item's shape check then rejects alone, instead of the whole body."""
    return int(digits) if len(digits) <= 4000 else float(digits)


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise BadRequest(f"body: not valid gzip ({exc})", code="bad_encoding") from exc
    if len(out) > MAX_BODY_BYTES:
        raise BadRequest("body: exceeds the 500 KB limit once decompressed", code="body_too_large")
    if not inflater.eof:
        raise BadRequest("body: truncated gzip stream", code="bad_encoding")
    return out


def write_key_in_body(body: dict[str, Any]) -> str | None:
    key = body.get("writeKey")
    return key if isinstance(key, str) and key else None


@dataclass
class ParsedRequest:
    events: list[IntakeEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    queued_bytes: int = 0

    @property
    def corrected_times(self) -> int:
        return sum(1 for e in self.events if e.time_corrected is not None)


def parse_request(
    body: dict[str, Any], *, kind: EventType | None, source: SourceContext, received_at: datetime
) -> ParsedRequest:
    """Validate a batch (``kind`` None: /v1/batch) or a single message of type ``kind``."""
    if kind is None:
        items = body.get("batch")
        if not isinstance(items, list):
            raise BadRequest("batch: required, must be an array of messages", code="invalid_batch")
        if len(items) > MAX_BATCH_MESSAGES:
            raise BadRequest(
                f"batch: {len(items)} messages exceeds the limit of 2500", code="batch_too_large"
            )
        envelope = body
    else:
        items = [{**body, "type": kind.value}]
        envelope = {}
    parsed = ParsedRequest()
    # the batch's context, integrations and sentAt go into every message: judged once, named as theirs
    if problem := _envelope_problem(envelope):
        parsed.rejections = [
            Rejection(index=index, reason=f"batch {problem} (merged into every message)")
            for index in range(len(items))
        ]
        return parsed
    for index, item in enumerate(items):
        result = _parse_item(index, item, envelope, source, received_at, parsed, batch=kind is None)
        if isinstance(result, Rejection):
            parsed.rejections.append(result)
        else:
            parsed.events.append(result)
    return parsed


_SENT_AT = TypeAdapter(datetime | None)


def _envelope_problem(envelope: dict[str, Any]) -> str | None:
    shared = {k: envelope[k] for k in ("context", "integrations", "sentAt") if k in envelope}
    if problem := shape_problem(shared):
        return problem
    try:
        _SENT_AT.validate_python(shared.get("sentAt"))
    except ValidationError as exc:
        return f"sentAt: {exc.errors(include_url=False)[0]['msg']}"
    return None


def _parse_item(
    index: int,
    item: object,
    envelope: dict[str, Any],
    source: SourceContext,
    received_at: datetime,
    parsed: ParsedRequest,
    *,
    batch: bool,
) -> IntakeEvent | Rejection:
    where = f"batch[{index}]" if batch else ""
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        return Rejection(index=index, reason=f"{where or 'body'}: must be a JSON object")
    raw_id = item.get("messageId")
    client_id = raw_id if isinstance(raw_id, str) and shape_problem(raw_id) is None else None
    merged = _with_envelope(item, envelope)
    if problem := shape_problem(merged, where=where):
        return Rejection(index=index, message_id=client_id, reason=problem)
    size = len(_canonical(merged))
    if size > MAX_MESSAGE_BYTES:
        return Rejection(
            index=index,
            message_id=client_id,
            reason=f"{prefix}message: {size} bytes with the batch context merged in exceeds the 32 KB limit",
        )
    if parsed.queued_bytes + size > MAX_REQUEST_QUEUED_BYTES:
        return Rejection(
            index=index,
            message_id=client_id,
            reason=f"{prefix}message: the request's messages, each with the batch context merged in, "
            "exceed 4 MB together; send smaller batches",
        )
    try:
        message = SegmentMessage.model_validate(merged)
    except ValidationError as exc:
        return Rejection(index=index, message_id=client_id, reason=_reason(exc, prefix))
    parsed.queued_bytes += size
    return _event(message, merged, source, received_at)


def _with_envelope(item: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
    """Batch-level context/integrations merge into each item (the item wins); the batch sentAt
    applies to items that carry none (analytics-python sets it only on the batch)."""
    merged = dict(item)
    for name in ("context", "integrations"):
        outer = envelope.get(name)
        if isinstance(outer, dict) and outer:
            inner = item.get(name)
            merged[name] = _deep_merge(outer, inner) if isinstance(inner, dict) else (inner or dict(outer))
    if merged.get("sentAt") is None and envelope.get("sentAt") is not None:
        merged["sentAt"] = envelope["sentAt"]
    return merged


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _event(
    message: SegmentMessage, merged: dict[str, Any], source: SourceContext, received_at: datetime
) -> IntakeEvent:
    generated = message.message_id is None
    message_id = message.message_id or _derived_message_id(merged, source, received_at, message.client_time)
    at, correction = event_time(message.client_time, message.sent_at, received_at)
    return IntakeEvent(
        message_id=message_id,
        message_id_generated=generated,
        type=message.type,
        source=source,
        user_id=message.user_id,
        anonymous_id=message.anonymous_id,
        event=message.event,
        name=message.name,
        group_id=message.group_id,
        previous_id=message.previous_id,
        traits=message.traits,
        properties=message.properties,
        context=message.context,
        integrations=message.integrations,
        timestamp=at,
        time_corrected=correction,
        original_timestamp=message.client_time,
        sent_at=message.sent_at,
        received_at=received_at,
    )


def _plausible(instant: datetime | None) -> bool:
    return instant is not None and instant >= EARLIEST_EVENT_TIME


def event_time(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> tuple[datetime, TimeCorrection | None]:
    """When the event happened, and what had to be corrected (None: nothing).

    Segment's clock-skew correction, ``receivedAt - (sentAt - timestamp)``: the client's clock may
    be wrong, but the interval it measured between the event and sending is right, and our
    receivedAt anchors it. Without a timestamp the event happened when received. Then two rules
    no client can bend: an event never happens after it arrived (a later time is clamped to the
    arrival: ``future``), and a time before 1970 or out of range is no event's time (the arrival
    is used: ``implausible``; a .NET client's unset DateTime sends 0001-01-01)."""
    if timestamp is None:
        return received_at, None
    if not _plausible(timestamp):
        return received_at, TimeCorrection.IMPLAUSIBLE
    at = timestamp
    if _plausible(sent_at):
        assert sent_at is not None
        try:
            at = received_at - (sent_at - timestamp)
        except OverflowError:
            return received_at, TimeCorrection.IMPLAUSIBLE
        if at < EARLIEST_EVENT_TIME:
            return received_at, TimeCorrection.IMPLAUSIBLE
    if at > received_at:
        return received_at, TimeCorrection.FUTURE
    return at, None


def _derived_message_id(
    merged: dict[str, Any], source: SourceContext, received_at: datetime, timestamp: datetime | None
) -> str:
    """A messageId for a client that sent none, derived from the content so that a retried
    request yields the same id (and is deduplicated downstream). A message without a timestamp
    has nothing that tells two sends apart, so its arrival time is part of the id."""
    material = _canonical({"source": source.source_id, "message": merged})
    if timestamp is None:
        material += received_at.isoformat().encode()
    return "auto-" + hashlib.sha256(material).hexdigest()[:40]


def _canonical(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str).encode()


_ALIASES = {name: f.alias or name for name, f in SegmentMessage.model_fields.items()}


def _reason(exc: ValidationError, where: str) -> str:
    """One line naming each field at fault, in the client's (camelCase) names."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(_ALIASES.get(str(p), p)) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}{loc}: {message}" if loc else f"{where}{message}")
    return "; ".join(parts)
