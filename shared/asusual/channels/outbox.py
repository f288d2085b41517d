"""The local outbox: where messages go when the engine runs locally (``GET /_local/outbox``).

Each record is the message as JSON (timestamps ISO-8601 with their offset: ``local_sent_at`` keeps
the customer's), the fields in :data:`OUTBOX_FIELDS` order, in send order.
"""

from __future__ import annotations

import threading
from typing import Any

from asusual.delivery.models import RECORD_FIELDS, OutgoingMessage, SendReceipt

OUTBOX_FIELDS = (
    *RECORD_FIELDS,
    "topic",
    "html",
    "unsubscribe_url",
    "preferences_url",
    "send_once_key",
    "campaign_id",
)


class Outbox:
    """Delivered messages, in memory; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._appended = 0  # all appends ever, so record numbers stay unique across clear()

    def append(self, record: dict[str, Any]) -> int:
        """Keep a copy of ``record``; returns its number (1, 2, ... since the outbox was made)."""
        with self._lock:
            self._records.append(dict(record))
            self._appended += 1
            return self._appended

    def records(self) -> list[dict[str, Any]]:
        """Copies of the records, oldest first."""
        with self._lock:
            return [dict(r) for r in self._records]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


OUTBOX = Outbox()


class OutboxSender:
    def __init__(self, outbox: Outbox = OUTBOX) -> None:
        self._outbox = outbox

    def send(self, message: OutgoingMessage) -> SendReceipt:
        n = self._outbox.append(outbox_record(message))
        return SendReceipt(provider_id=f"outbox-{n}")


def outbox_record(message: OutgoingMessage) -> dict[str, Any]:
    data = message.model_dump(mode="json")
    return {field: data[field] for field in OUTBOX_FIELDS}
