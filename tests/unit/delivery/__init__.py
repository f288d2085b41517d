"""Tests of delivery: link tokens, webhooks, the local outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from asusual.delivery.models import DeliveryChannel, OutgoingMessage

SENT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def message(**changes: Any) -> OutgoingMessage:
    """A rendered marketing email; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "id": "m_1",
        "profile_id": "p_1",
        "channel": DeliveryChannel.EMAIL,
        "to": "anna@example.com",
        "subject": "Поздравляем, Анна!",
        "body": "Анна, для вас скидка 15% до воскресенья.",
        "html": "<p>Анна, для вас скидка <b>15%</b> до воскресенья.</p>",
        "trigger": "birthday",
        "template": "birthday.email.ru#warm",
        "locale": "ru-RU",
        "topic": "marketing",
        "sent_at": SENT,
        "local_sent_at": SENT.astimezone(timezone(timedelta(hours=3))),
        "why_url": "https://api.example.com/v1/messages/m_1/why?token=w",
        "unsubscribe_url": "https://api.example.com/v1/unsubscribe?token=u",
        "preferences_url": "https://api.example.com/v1/preferences?token=p",
        "send_once_key": "birthday:p_1:2026",
    }
    return OutgoingMessage.model_validate({**fields, **changes})
