"""The dispatcher's rules, pure: which channel, whether consent allows it, whether caps and quiet
hours allow it now (and if not, until when). Local time is the customer's: one zone when known,
else every zone plausible for them, and a local rule must then hold in all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from asusual.delivery.models import DeliveryChannel
from asusual.identity.extract import normalize_email
from asusual.localtime import local_moments, within, zone
from asusual.observability import tracer
from asusual.profiles.state import ProfileState
from asusual.triggers.kinds import kind_of
from asusual.triggers.kinds.base import Recipient
from asusual.triggers.models import Intent, Topic

# the order's channel → the channel its updates go out on (web shoppers read email, app users push)
ORDER_CHANNEL = {
    "web": DeliveryChannel.EMAIL,
    "email": DeliveryChannel.EMAIL,
    "app": DeliveryChannel.PUSH,
    "store": DeliveryChannel.SMS,
    "call_center": DeliveryChannel.SMS,
    "sms": DeliveryChannel.SMS,
}
# where engagement with a delivery channel shows up: events from these source channels
ENGAGEMENT = {
    DeliveryChannel.EMAIL: ("email",),
    DeliveryChannel.PUSH: ("app",),
    DeliveryChannel.SMS: ("sms", "store", "call_center"),
    DeliveryChannel.STORE: ("store",),
    DeliveryChannel.CALL_CENTER: ("call_center",),
}
ORDER = tuple(DeliveryChannel)  # the tie-break: email, sms, push, store, call_center
SEARCH_DAYS = 9  # a window or a cap frees up within a week; look a little further, then give up


class DeliveryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    daily_cap: int = 1
    weekly_cap: int = 3
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)

    @property
    def send_window(self) -> tuple[time, time]:
        """Marketing may go out in [quiet_end, quiet_start) local time."""
        return self.quiet_end, self.quiet_start


class ConsentBasis(BaseModel):
    """Why a channel was allowed for a topic (part of every message's explanation record)."""

    model_config = ConfigDict(frozen=True)

    channel: str
    topic: str
    basis: str = Field(
        description="opt_in or confirmed_opt_in (a double opt-in; ``at`` is the confirmation) for "
        "marketing, no_opt_out for transactional"
    )
    at: datetime | None = Field(default=None, description="when the customer gave consent")
    source_id: str | None = None
    consent_version: str | None = None


class ChannelChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: DeliveryChannel | None
    address: str | None = None
    consent: ConsentBasis | None = None
    reason: str = Field(description="why this channel, or why none")
    considered: dict[str, str] = Field(default_factory=dict, description="channel → why not / ok")


def addresses(state: ProfileState, webhooks: Iterable[str]) -> dict[DeliveryChannel, str]:
    """Where the customer can be reached: their email, phone, app push address; the store and
    call-center systems (signed webhooks) when configured and the customer has been there."""
    traits = {k: v.value for k, v in state.traits.items()}
    out: dict[DeliveryChannel, str] = {}
    for channel, trait in (
        (DeliveryChannel.EMAIL, "email"),
        (DeliveryChannel.SMS, "phone"),
        (DeliveryChannel.PUSH, "push_address"),
    ):
        value = traits.get(trait)
        if isinstance(value, str) and value.strip():
            if channel is DeliveryChannel.SMS and not value.startswith("+"):
                continue  # only numbers normalized to E.164 can be texted
            if channel is DeliveryChannel.EMAIL:
                # profiles keep only normalized addresses; one stored before that rule is read the same way
                value = normalize_email(value)
                if value is None:
                    continue
            out[channel] = value.strip()
    configured = set(webhooks)
    for channel in (DeliveryChannel.STORE, DeliveryChannel.CALL_CENTER):
        if channel.value in configured and channel.value in state.channels:
            out[channel] = channel.value
    return out


def consent_for(
    state: ProfileState, channel: DeliveryChannel, topic: Topic
) -> tuple[ConsentBasis | None, str]:
    """Marketing needs an explicit opt-in on that channel; transactional goes unless opted out."""
    stamped = state.subscriptions.get(f"{channel.value}.{topic.value}")
    value = stamped.value if stamped is not None else None
    subscribed = bool(value.get("subscribed")) if isinstance(value, dict) else None
    if topic is Topic.MARKETING:
        if not subscribed:
            return None, "no_marketing_consent" if subscribed is None else "unsubscribed"
        assert stamped is not None and isinstance(value, dict)
        confirmed_at = _instant(value.get("confirmed_at"))  # a double opt-in: when the address said yes
        return (
            ConsentBasis(
                channel=channel.value,
                topic=topic.value,
                basis="confirmed_opt_in" if confirmed_at else "opt_in",
                at=confirmed_at or stamped.at,
                source_id=value.get("source_id"),
                consent_version=_text(value.get("consent_version")),
            ),
            "ok",
        )
    if subscribed is False:
        return None, "unsubscribed"
    return ConsentBasis(channel=channel.value, topic=topic.value, basis="no_opt_out"), "ok"


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def engagement(state: ProfileState, channel: DeliveryChannel) -> int:
    """Distinct recent days the customer was seen where this channel's engagement shows."""
    days: set[str] = set()
    for source in ENGAGEMENT[channel]:
        days |= state.active_days.get(source, frozenset())
    return len(days)


@tracer.capture_method(capture_response=False, capture_error=False)  # the choice holds the address
def choose_channel(
    intent: Intent, state: ProfileState, preferred: str | None, reachable: dict[DeliveryChannel, str]
) -> ChannelChoice:
    """1. the declared preferred channel; 2. transactional: the channel of the order;
    3. the channels allowed and reachable, the one the customer engages with most first."""
    kind = kind_of(intent.facts)
    fixed = kind.recipient(intent.facts, state)
    if fixed is not None:
        return _to_recipient(intent, state, fixed)
    limited = kind.channels(intent.facts)  # a campaign's channels, those it has words for
    considered: dict[str, str] = {}
    allowed: dict[DeliveryChannel, ConsentBasis] = {}
    for channel in ORDER:
        if limited is not None and channel.value not in limited:
            considered[channel.value] = "not_offered"
            continue
        if channel not in reachable:
            considered[channel.value] = "no_address"
            continue
        basis, why = consent_for(state, channel, intent.topic)
        considered[channel.value] = why
        if basis is not None:
            allowed[channel] = basis
    if not allowed:
        return ChannelChoice(channel=None, reason="no_channel", considered=considered)

    def pick(channel: DeliveryChannel, reason: str) -> ChannelChoice:
        return ChannelChoice(
            channel=channel,
            address=reachable[channel],
            consent=allowed[channel],
            reason=reason,
            considered=considered,
        )

    if preferred in {c.value for c in allowed}:
        return pick(DeliveryChannel(preferred), "preferred_channel")
    order_channel = kind_of(intent.facts).origin_channel(intent.facts)
    if intent.topic is Topic.TRANSACTIONAL and ORDER_CHANNEL.get(order_channel or "") in allowed:
        return pick(ORDER_CHANNEL[order_channel or ""], "order_channel")
    ranked = sorted(allowed, key=lambda c: (-engagement(state, c), ORDER.index(c)))
    return pick(ranked[0], "most_engaged" if engagement(state, ranked[0]) else "first_available")


def _to_recipient(intent: Intent, state: ProfileState, fixed: Recipient) -> ChannelChoice:
    """A kind's own address (a confirmation to the address asked to confirm), still subject to the
    customer's consent for the intent's topic on that channel."""
    if fixed.address is None:
        return ChannelChoice(channel=None, reason=fixed.reason, considered={fixed.channel: fixed.reason})
    channel = DeliveryChannel(fixed.channel)
    basis, why = consent_for(state, channel, intent.topic)
    if basis is None:
        return ChannelChoice(channel=None, reason="no_channel", considered={channel.value: why})
    return ChannelChoice(
        channel=channel,
        address=fixed.address,
        consent=basis,
        reason=fixed.reason,
        considered={channel.value: why},
    )


# -- time: quiet hours and caps ------------------------------------------------------------------
def in_window(now: datetime, zones: Sequence[str], policy: DeliveryPolicy) -> bool:
    start, end = policy.send_window
    moments = local_moments(now, zones)
    return bool(moments) and all(within(m, start, end) for m in moments)


def next_window(now: datetime, zones: Sequence[str], policy: DeliveryPolicy) -> datetime | None:
    """``now`` if the send window is open in every zone, else the first instant it is; None if it
    never is within SEARCH_DAYS (zones too far apart) or no zone is known."""
    if in_window(now, zones, policy):
        return now
    start, _end = policy.send_window
    candidates: set[datetime] = set()
    for name in zones:
        tz = zone(name)
        if tz is None:
            continue
        local_today = now.astimezone(tz).date()
        for offset in range(SEARCH_DAYS):
            opening = datetime.combine(local_today + timedelta(days=offset), start, tzinfo=tz)
            candidates.add(_existing(opening).astimezone(now.tzinfo))
    for candidate in sorted(c for c in candidates if c > now):
        if in_window(candidate, zones, policy):
            return candidate
    return None


def _existing(local: datetime) -> datetime:
    """A wall-clock time that a DST gap skipped becomes the first instant after the gap."""
    tz = local.tzinfo
    assert tz is not None
    round_trip = local.astimezone(UTC).astimezone(tz)
    return local if round_trip.replace(tzinfo=None) == local.replace(tzinfo=None) else round_trip


class CapState(BaseModel):
    """What the caps looked like when a message was allowed or deferred (explanation record)."""

    model_config = ConfigDict(frozen=True)

    exempt: bool = False
    daily_used: int = 0
    daily_limit: int = 0
    weekly_used: int = 0
    weekly_limit: int = 0

    @property
    def full(self) -> bool:
        return not self.exempt and (
            self.daily_used >= self.daily_limit or self.weekly_used >= self.weekly_limit
        )


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def cap_state(
    now: datetime, zones: Sequence[str], sent: Iterable[datetime], policy: DeliveryPolicy
) -> CapState:
    """Marketing sends counted in the customer's local calendar (day, ISO week from Monday); with
    several plausible zones, the zone where the most sends fall in the current day/week counts."""
    sends = list(sent)
    daily = weekly = 0
    for name in zones:
        tz = zone(name)
        if tz is None:
            continue
        today = now.astimezone(tz).date()
        days = [s.astimezone(tz).date() for s in sends]
        daily = max(daily, sum(1 for d in days if d == today))
        weekly = max(weekly, sum(1 for d in days if _week(d) == _week(today)))
    return CapState(
        daily_used=daily, daily_limit=policy.daily_cap, weekly_used=weekly, weekly_limit=policy.weekly_cap
    )


def next_allowed(
    now: datetime, zones: Sequence[str], sent: Sequence[datetime], policy: DeliveryPolicy
) -> datetime | None:
    """The first instant from ``now`` when both the caps and the send window allow a marketing
    message; None when none comes within SEARCH_DAYS or no zone is known."""
    if not [z for z in zones if zone(z) is not None]:
        return None
    if policy.daily_cap <= 0 or policy.weekly_cap <= 0:
        return None
    candidate = now
    for _step in range(SEARCH_DAYS * 4):
        opening = next_window(candidate, zones, policy)
        if opening is None:
            return None
        if not cap_state(opening, zones, sent, policy).full:
            return opening
        candidate = _next_local_midnight(opening, zones)
    return None


def _next_local_midnight(now: datetime, zones: Sequence[str]) -> datetime:
    """The instant every plausible zone has started its next local day."""
    latest = now
    for name in zones:
        tz = zone(name)
        if tz is None:
            continue
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        midnight = _existing(datetime.combine(tomorrow, time(0, 0), tzinfo=tz)).astimezone(now.tzinfo)
        latest = max(latest, midnight)
    return latest
