"""Build IntakeEvents for unit tests."""

from datetime import UTC, datetime, timedelta

from asusual.access.models import Channel
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.consent import CONFIRMATION_SOURCE

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SOURCES = {
    "web": SourceContext(source_id="web_local", channel=Channel.WEB, country="RU"),
    "store": SourceContext(
        source_id="store_local", channel=Channel.STORE, country="RU", timezone="Europe/Moscow"
    ),
    "email": SourceContext(source_id="email_local", channel=Channel.EMAIL, country="RU"),
    # the shop's pages: a public source (its key is known to everyone)
    "browser": SourceContext(source_id="browser_local", channel=Channel.WEB, country="RU", public=True),
    # the customer's own clicks on our links (never a source intake knows)
    "unsubscribe": SourceContext(source_id="unsubscribe_link", channel=Channel.EMAIL, customer=True),
    "confirmation": SourceContext(source_id=CONFIRMATION_SOURCE, channel=Channel.EMAIL, customer=True),
}


def event(kind="identify", *, source="web", minutes=0, message_id=None, start=T0, **fields):
    at = start + timedelta(minutes=minutes)
    return IntakeEvent(
        message_id=message_id or f"m-{kind}-{minutes}-{sorted(fields.items())!s:.40}",
        type=EventType(kind),
        source=SOURCES[source],
        timestamp=at,
        received_at=at,
        **fields,
    )
