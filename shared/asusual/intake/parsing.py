"""From raw request bytes to validated events, item by item (pure).

One bad item never costs the others: a request is refused as a whole (400) only when its body
cannot be read at all or is larger than the limits.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from asusual.errors import BadRequest
from asusual.intake.models import EventType, IntakeEvent, Rejection, SegmentMessage, SourceContext

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BODY_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500


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
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body: not valid JSON ({exc})", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object", code="invalid_json")
    return body


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
    for index, item in enumerate(items):
        result = _parse_item(index, item, envelope, source, received_at, batch=kind is None)
        if isinstance(result, Rejection):
            parsed.rejections.append(result)
        else:
            parsed.events.append(result)
    return parsed


def _parse_item(
    index: int,
    item: object,
    envelope: dict[str, Any],
    source: SourceContext,
    received_at: datetime,
    *,
    batch: bool,
) -> IntakeEvent | Rejection:
    where = f"batch[{index}]." if batch else ""
    if not isinstance(item, dict):
        return Rejection(index=index, reason=f"{where.rstrip('.') or 'body'}: must be a JSON object")
    client_id = item.get("messageId") if isinstance(item.get("messageId"), str) else None
    size = len(_canonical(item))
    if size > MAX_MESSAGE_BYTES:
        return Rejection(
            index=index, message_id=client_id, reason=f"{where}message: {size} bytes exceeds the 32 KB limit"
        )
    merged = _with_envelope(item, envelope)
    try:
        message = SegmentMessage.model_validate(merged)
    except ValidationError as exc:
        return Rejection(index=index, message_id=client_id, reason=_reason(exc, where))
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
    message_id = message.message_id or _derived_message_id(merged, source, received_at, message.timestamp)
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
        timestamp=event_time(message.timestamp, message.sent_at, received_at),
        original_timestamp=message.timestamp,
        sent_at=message.sent_at,
        received_at=received_at,
    )


def event_time(timestamp: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """Segment's clock-skew correction: ``receivedAt - (sentAt - timestamp)``.

    The client's clock may be wrong, but the interval it measured between the event and sending
    is right; our receivedAt anchors it. Without a timestamp the event happened when received."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


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
