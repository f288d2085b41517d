"""Tests of the pages customers read: builders of a message, its explanation and its customer,
and in-memory ports for the page use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from asusual.delivery.links import LinkSigner
from asusual.delivery.policy import CapState, ConsentBasis
from asusual.delivery.records import Explanation, MessageRecord, MessageStatus
from asusual.identity.models import Identifier
from asusual.intake.models import IntakeEvent
from asusual.pages.render import Look
from asusual.pages.service import PageDeps
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, Stamped

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))
SECRET = b"k" * 32
LINKS = LinkSigner(base_url="https://shop.example", secrets=(SECRET,), ttl=timedelta(days=90))
# what the HTML of a page must never show: the ids of the message, the profile and the source,
# the template and variant, the caps counters' names
INTERNAL = ("m_0123456789abcdef01234567", "p_anna", "web_local", "birthday.email", "warm", "daily_used")


def explanation(**changes: Any) -> Explanation:
    fields: dict[str, Any] = {
        "message_id": "m_0123456789abcdef01234567",
        "profile_id": "p_anna",
        "why": "Вы получили это письмо, потому что подписаны на наши новости и указали дату рождения.",
        "trigger": "birthday",
        "topic": "marketing",
        "facts": {"trigger": "birthday", "year": 2026},
        "channel": "email",
        "channel_reason": "most_engaged",
        "channels_considered": {"email": "ok", "sms": "no_marketing_consent"},
        "consent": ConsentBasis(
            channel="email",
            topic="marketing",
            basis="opt_in",
            at=datetime(2026, 3, 1, 21, 30, tzinfo=UTC),
            source_id="web_local",
            consent_version="2026-01",
        ),
        "caps": CapState(daily_used=0, daily_limit=1, weekly_used=0, weekly_limit=3),
        "quiet_hours": {
            "applies": True,
            "send_window": "09:00-21:00",
            "zones": ["Europe/Moscow"],
            "deferrals": [],
        },
        "template": "birthday.email",
        "variant": "warm",
        "locale": "ru",
        "context": {"daypart": "morning"},
        "sent_at": NOW,
        "local_sent_at": NOW.astimezone(MOSCOW),
    }
    return Explanation.model_validate({**fields, **changes})


def record(**changes: Any) -> MessageRecord:
    why = changes.pop("explanation", None) or explanation()
    fields: dict[str, Any] = {
        "message_id": why.message_id,
        "profile_id": why.profile_id,
        "intent_id": "i_1",
        "send_once_key": "birthday:p_anna:2026",
        "trigger": why.trigger,
        "topic": why.topic,
        "channel": why.channel,
        "to": "anna@example.com",
        "subject": "С днём рождения, Анна!",
        "body": "...",
        "status": MessageStatus.SENT,
        "created_at": NOW,
        "explanation": why,
    }
    return MessageRecord.model_validate({**fields, **changes})


def transactional(why: str, channel_reason: str, trigger: str = "order_shipped") -> MessageRecord:
    """An order update (or another transactional message): no opt-in needed, no caps, no send window."""
    basis = ConsentBasis(channel="email", topic="transactional", basis="no_opt_out")
    return record(
        explanation=explanation(
            trigger=trigger,
            topic="transactional",
            why=why,
            consent=basis,
            caps=CapState(exempt=True),
            quiet_hours={"applies": False},
            channel_reason=channel_reason,
        ),
        topic="transactional",
        trigger=trigger,
    )


def profile(
    subscriptions: dict[str, bool] | None = None,
    *,
    locale: str | None = "ru-RU",
    identifiers: tuple[Identifier, ...] = (
        Identifier(kind="user_id", value="u-anna"),
        Identifier(kind="email", value="anna@example.com"),
    ),
    profile_id: str = "p_anna",
) -> Profile:
    def stamped(value: Any) -> Stamped:
        return Stamped(value=value, at=NOW - timedelta(days=30), msg="e-1")

    state = ProfileState(
        traits={"locale": stamped(locale)} if locale else {},
        subscriptions={
            key: stamped({"subscribed": on, "consent_version": None, "source_id": "web_local"})
            for key, on in (subscriptions or {}).items()
        },
        identifiers=frozenset(identifiers),
    )
    return Profile(profile_id=profile_id, created_at=NOW - timedelta(days=60), parts={profile_id: state})


@dataclass
class Store:
    """The messages and profiles a page reads, and the events it publishes."""

    records: dict[str, MessageRecord] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    published: list[IntakeEvent] = field(default_factory=list)

    def message(self, message_id: str) -> MessageRecord | None:
        return self.records.get(message_id)

    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        return {i: self.profiles[i] for i in profile_ids if i in self.profiles}

    def publish(self, events: Any) -> None:
        self.published.extend(events)


def deps(store: Store, *, look: Look | None = None, default_locale: str = "en") -> PageDeps:
    return PageDeps(
        messages=store,
        profiles=store,
        events=store,
        links=LINKS,
        look=look or Look(retailer="Лавка «Ромашка»", brand="#1f4e8c"),
        default_locale=default_locale,
    )


def anna(**subscriptions: bool) -> Store:
    """Anna's birthday email and her profile (email marketing on unless told otherwise)."""
    store = Store()
    message = record()
    store.records[message.message_id] = message
    store.profiles["p_anna"] = profile(subscriptions or {"email.marketing": True})
    return store
