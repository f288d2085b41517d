"""The pages a customer opens from a message's links — why it was sent, the preference center,
unsubscribe and its undo — as use cases: open the link, read what the page needs, publish the
consent change the customer made (the event processor, the only writer of profiles, applies it)
and render the answer. Pure: the repositories, the publisher and ``now`` are handed in.

Every answer is a page (HTML), refusals included: a forged link 403, an expired one 403 (except
where it only lets the customer receive less: unsubscribe, and opting out in the preference
center), a form that cannot be read 400 naming the field. A GET never changes anything.

Which link lets the customer do what:

- why (90 days): read the explanation; a preference-center link that expires with it;
- unsubscribe (90 days, and afterwards still, when genuine): turn the message's channel and topic
  off; the done page offers a short-lived undo (``undo_ttl``) when they were subscribed;
- preferences (90 days): every channel on or off; once expired, only off;
- resubscribe (the undo, ``undo_ttl``): the unsubscribed channel and topic on again;
- confirm consent (90 days): the opt-in a public source asserted, confirmed by the address's owner.

A link opened from a page never outlives the link the page was opened with (the undo excepted:
it restores exactly what the customer had a moment before)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from http import HTTPStatus
from typing import Any, ParamSpec

from asusual.access.models import Channel
from asusual.delivery.confirmation import CONFIRMATION_TRIGGER, open_confirmation
from asusual.delivery.explain import (
    PREFERENCE_CENTER_SOURCE,
    UNSUBSCRIBE_SOURCE,
    address_identifier,
    consent_event,
    customer_identifier,
    event_id,
)
from asusual.delivery.links import (
    CONFIRM_CONSENT_PATH,
    PREFERENCES_PATH,
    RESUBSCRIBE_PATH,
    UNSUBSCRIBE_PATH,
    LinkSigner,
)
from asusual.delivery.models import DeliveryChannel
from asusual.delivery.records import Explanation, MessageReader, MessageRecord
from asusual.delivery.tokens import LinkClaims, LinkPurpose, verify_link
from asusual.errors import Forbidden
from asusual.identity.models import Identifier
from asusual.intake.models import IntakeEvent
from asusual.intake.service import EventPublisher
from asusual.pages.render import Look, render
from asusual.pages.requests import BadForm, browser_locale, first_locale, form_fields
from asusual.pages.strings import TEXT, how, label, sentence_case, text
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileLoader, live_profiles
from asusual.profiles.state import ProfileState
from asusual.triggers.models import Topic

MAX_FIELD_NAME = 60  # a field name quoted back in an error is cut here
# a marketing consent basis (asusual.delivery.policy.ConsentBasis) → how the why page says it
OPT_IN_BASES = {"opt_in": "opt_in_at", "confirmed_opt_in": "confirmed_opt_in_at"}
ON, OFF = "on", "off"


@dataclass(frozen=True)
class PageDeps:
    messages: MessageReader
    profiles: ProfileLoader
    events: EventPublisher
    links: LinkSigner
    look: Look
    default_locale: str
    undo_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    headers: Mapping[str, str]
    change: IntakeEvent | None = None  # the consent change published, if any


@dataclass(frozen=True)
class _Opened:
    """A genuine link with what its page needs: the message (None once past the log's retention
    or erased) and the customer's live profile (None when erased)."""

    claims: LinkClaims
    record: MessageRecord | None
    profile: Profile | None
    expired: bool
    state: ProfileState = field(default_factory=ProfileState)  # the profile's, joined once

    def locale(self, accept_language: str | None, default: str) -> str:
        """The message's language, else the customer's, else the browser's, else ``default``."""
        candidates: list[object] = []
        if self.record is not None:
            candidates.append(self.record.explanation.locale)
        declared = self.state.traits.get("locale")
        candidates.append(declared.value if declared is not None else None)
        candidates.append(self.state.context_locale.value if self.state.context_locale is not None else None)
        return first_locale(candidates, browser_locale(accept_language, default))

    def subscribed(self, channel: str, topic: str) -> bool | None:
        """The customer's consent for ``channel`` and ``topic``: None when never stated."""
        stamped = self.state.subscriptions.get(f"{channel}.{topic}")
        value = stamped.value if stamped is not None else None
        return bool(value.get("subscribed")) if isinstance(value, dict) else None

    def identifier_for_change(self) -> Identifier | None:
        """Who the change names: the message's address (the inbox that got it), else the
        profile's strongest identifier; None when neither is left (erased)."""
        claims, record = self.claims, self.record
        address = claims.to or (record.to if record is not None else None)
        found = address_identifier(claims.channel, address)
        if found is None and self.profile is not None:
            found = customer_identifier(self.profile)
        return found


def _open(
    deps: PageDeps,
    token: str,
    purpose: LinkPurpose,
    now: datetime,
    *,
    expired_ok: bool = False,
    customer: bool = True,
) -> _Opened:
    """The link's claims (Forbidden when it does not open), its message and, unless ``customer``
    is False (the why page needs only the message), the customer's live profile."""
    claims = verify_link(token, deps.links.secrets, purpose=purpose, now=now, expired_ok=expired_ok)
    record = deps.messages.message(claims.message_id)
    profile = live_profiles(deps.profiles, {claims.profile_id}).get(claims.profile_id) if customer else None
    return _Opened(
        claims=claims,
        record=record,
        profile=profile,
        expired=now >= claims.expires_at,
        state=profile.state() if profile is not None else ProfileState(),
    )


def _page(
    deps: PageDeps,
    template: str,
    locale: str,
    title_key: str,
    *,
    status: int = HTTPStatus.OK,
    personal: bool = True,
    change: IntakeEvent | None = None,
    **values: Any,
) -> Page:
    title = text(locale, title_key)
    html = render(template, locale, deps.look, title, personal=personal, **values)
    return Page(status=status, html=html.body, headers=html.headers, change=change)


def refused(deps: PageDeps, error: Forbidden, accept_language: str | None, *, undo: bool = False) -> Page:
    """The page a link that does not open answers, in the browser's language: expired, or not
    ours (forged, cut, another page's link, or a message no longer held: the same words, so no
    link tells whether its person still exists)."""
    locale = browser_locale(accept_language, deps.default_locale)
    expired = error.code == "link_expired"
    title_key = "expired_title" if expired else "invalid_title"
    line = "undo_expired_text" if expired and undo else "expired_text" if expired else "invalid_text"
    return _notice(deps, locale, title_key, [text(locale, line)], status=HTTPStatus.FORBIDDEN)


def bad_form(deps: PageDeps, error: BadForm, locale: str) -> Page:
    field = error.field if len(error.field) <= MAX_FIELD_NAME else error.field[:MAX_FIELD_NAME] + "…"
    line = text(locale, "bad_form_text", field=field, problem=text(locale, error.problem))
    return _notice(deps, locale, "bad_form_title", [line], status=HTTPStatus.BAD_REQUEST)


def _notice(
    deps: PageDeps,
    locale: str,
    title_key: str,
    lines: list[str],
    *,
    status: int = HTTPStatus.OK,
    link: tuple[str, str] | None = None,
    change: IntakeEvent | None = None,
) -> Page:
    link_url, link_text = link or ("", "")
    return _page(
        deps,
        "notice",
        locale,
        title_key,
        status=status,
        change=change,
        personal=status == HTTPStatus.OK,
        heading=text(locale, title_key),
        lines=lines,
        link_url=link_url,
        link_text=link_text,
    )


def _preferences_url(deps: PageDeps, claims: LinkClaims) -> str:
    """The preference center for the customer a link names, expiring with that link."""
    token = deps.links.token(
        LinkPurpose.PREFERENCES,
        claims.message_id,
        claims.profile_id,
        claims.channel,
        claims.topic,
        claims.expires_at,
    )
    return deps.links.url(PREFERENCES_PATH, token)


def _change(
    deps: PageDeps,
    opened: _Opened,
    source: tuple[str, Channel],
    changes: Mapping[str, Mapping[str, bool]],
    key: str,
    now: datetime,
) -> IntakeEvent | None:
    """Publish the consent ``changes`` the customer made from ``source`` (source id, channel) as
    one event naming them (``key``: its id); None (nothing published) when nobody is left to name
    (erased)."""
    identifier = opened.identifier_for_change()
    if identifier is None:
        return None
    event = consent_event(*source, identifier, changes, key, now)
    deps.events.publish([event])
    return event


P = ParamSpec("P")


def _answers_refusals(*, undo: bool = False) -> Callable[[Callable[P, Page]], Callable[P, Page]]:
    """A page use case whose link does not open (Forbidden) answers :func:`refused`, and whose
    form cannot be read (BadForm) answers :func:`bad_form`, in the browser's language. Every use
    case takes ``(deps, ..., accept_language, now)``."""

    def wrap(use_case: Callable[P, Page]) -> Callable[P, Page]:
        @wraps(use_case)
        def page(*args: P.args, **kwargs: P.kwargs) -> Page:
            deps, header = args[0], args[-2]
            assert isinstance(deps, PageDeps)
            accept_language = header if isinstance(header, str) else None
            try:
                return use_case(*args, **kwargs)
            except Forbidden as exc:
                return refused(deps, exc, accept_language, undo=undo)
            except BadForm as exc:
                return bad_form(deps, exc, browser_locale(accept_language, deps.default_locale))

        return page

    return wrap


# --- why ----------------------------------------------------------------------------------------


@_answers_refusals()
def why_page(deps: PageDeps, message_id: str, token: str, accept_language: str | None, now: datetime) -> Page:
    """``GET /v1/messages/{id}/why`` for a browser: why, on what basis, when and how, in words."""
    opened = _open(deps, token, LinkPurpose.WHY, now, customer=False)
    if opened.claims.message_id != message_id:
        raise Forbidden("token: not the link of this message", code="wrong_link")
    record = opened.record
    if record is None:
        raise Forbidden("token: the link no longer opens", code="invalid_link")
    locale = opened.locale(accept_language, deps.default_locale)
    return _page(
        deps,
        "why",
        locale,
        "why_title",
        sections=why_sections(record, locale),
        preferences_url=_preferences_url(deps, opened.claims),
    )


def why_sections(record: MessageRecord, locale: str) -> list[dict[str, Any]]:
    """The why page's sections, in ``locale``: the message, why, on what basis, when, how. Words
    only: no ids, sources, template names or counters."""
    explanation = record.explanation
    local = explanation.local_sent_at
    message = [text(locale, "subject", subject=record.subject)] if record.subject else []
    message.append(text(locale, "sent", how=how(locale, record.channel), when=_when(local, locale)))
    kind = (
        "confirmation_kind"
        if explanation.trigger == CONFIRMATION_TRIGGER
        else "marketing_kind"
        if explanation.topic == Topic.MARKETING
        else "transactional_kind"
    )
    sections = [
        {"id": "message", "heading": text(locale, "message_heading"), "lines": message},
        {"id": "why", "heading": text(locale, "why_heading"), "lines": [explanation.why, text(locale, kind)]},
    ]
    if basis := _basis(explanation, locale):
        sections.append({"id": "basis", "heading": text(locale, "basis_heading"), "lines": basis})
    if timing := _timing(explanation, locale):
        sections.append({"id": "timing", "heading": text(locale, "timing_heading"), "lines": timing})
    reason = f"reason_{explanation.channel_reason}"
    if reason in TEXT[locale]:
        heading = text(locale, "channel_heading", how=how(locale, record.channel))
        sections.append({"id": "channel", "heading": heading, "lines": [text(locale, reason)]})
    return sections


def _when(instant: datetime, locale: str) -> str:
    from babel.dates import format_date, format_time  # here, not at import: JSON clients skip Babel

    offset = instant.strftime("%z") or "+0000"
    return text(
        locale,
        "when",
        date=format_date(instant.date(), format="long", locale=locale),
        time=format_time(instant, format="HH:mm", locale=locale),
        offset=f"{offset[:3]}:{offset[3:]}",
    )


def _basis(explanation: Explanation, locale: str) -> list[str]:
    """The consent the message relied on: an opt-in (confirmed by the address, or not) and since
    when; for an order message, that it needs none; for a confirmation request, why it came."""
    consent = explanation.consent
    if explanation.trigger == CONFIRMATION_TRIGGER:
        return [text(locale, "confirmation_basis")]
    if consent is None:
        return []
    if consent.basis not in OPT_IN_BASES:
        return [text(locale, "no_opt_out")]
    what = label(locale, consent.channel, consent.topic)
    if consent.at is None:
        lines = [text(locale, "opt_in", label=what)]
    else:
        from babel.dates import format_date

        day = consent.at.astimezone(explanation.local_sent_at.tzinfo).date()
        when = format_date(day, format="long", locale=locale)
        lines = [text(locale, OPT_IN_BASES[consent.basis], label=what, date=when)]
    if consent.consent_version not in (None, ""):
        lines.append(text(locale, "consent_version", version=consent.consent_version))
    return lines


def _timing(explanation: Explanation, locale: str) -> list[str]:
    """Marketing only: the send window, and each time the message was held back and why."""
    quiet = explanation.quiet_hours
    if quiet.get("applies") is not True:
        return []
    lines = []
    window = quiet.get("send_window")
    if isinstance(window, str) and window.count("-") == 1:
        start, end = window.split("-")
        lines.append(text(locale, "quiet_hours", start=start, end=end))
    deferrals = quiet.get("deferrals")
    reasons = (
        {d.get("reason") for d in deferrals if isinstance(d, dict)} if isinstance(deferrals, list) else set()
    )
    if "quiet_hours" in reasons:
        lines.append(text(locale, "held_quiet"))
    if "frequency_cap" in reasons:
        caps = explanation.caps
        lines.append(text(locale, "held_cap", daily=caps.daily_limit, weekly=caps.weekly_limit))
    return lines


# --- unsubscribe and its undo ---------------------------------------------------------------


@_answers_refusals()
def unsubscribe_page(deps: PageDeps, token: str, accept_language: str | None, now: datetime) -> Page:
    """``GET /v1/unsubscribe``: asks to confirm; changes nothing (link scanners open it)."""
    opened = _open(deps, token, LinkPurpose.UNSUBSCRIBE, now, expired_ok=True)
    claims = opened.claims
    locale = opened.locale(accept_language, deps.default_locale)
    return _page(
        deps,
        "unsubscribe",
        locale,
        "unsubscribe_title",
        text=text(locale, "unsubscribe_text", label=label(locale, claims.channel, claims.topic)),
        action=deps.links.url(UNSUBSCRIBE_PATH, token),
        preferences_url=_preferences_url(deps, claims),
    )


@_answers_refusals()
def unsubscribe(deps: PageDeps, token: str, accept_language: str | None, now: datetime) -> Page:
    """``POST /v1/unsubscribe`` (the page's button, or the mail client's RFC 8058 one-click): the
    message's channel and topic off, stamped now, from a genuine link however old. The done page
    offers the undo when the customer was subscribed. A message whose person is gone changes
    nothing and answers the same page."""
    opened = _open(deps, token, LinkPurpose.UNSUBSCRIBE, now, expired_ok=True)
    claims = opened.claims
    locale = opened.locale(accept_language, deps.default_locale)
    change = _change(
        deps,
        opened,
        (UNSUBSCRIBE_SOURCE, _source_channel(claims.channel)),
        {claims.channel: {claims.topic: False}},
        # the same click posted twice is one event; an unsubscribe after an undo is another
        event_id("unsubscribe", claims.message_id, claims.channel, claims.topic, now.isoformat()),
        now,
    )
    undo_token = ""
    if change is not None and opened.subscribed(claims.channel, claims.topic):
        undo_token = deps.links.token(
            LinkPurpose.RESUBSCRIBE,
            claims.message_id,
            claims.profile_id,
            claims.channel,
            claims.topic,
            now + deps.undo_ttl,
        )
    return _page(
        deps,
        "unsubscribed",
        locale,
        "unsubscribed_title",
        change=change,
        text=text(locale, "unsubscribe_text", label=label(locale, claims.channel, claims.topic)),
        transactional_still=claims.topic == Topic.MARKETING,
        undo_token=undo_token,
        undo_action=deps.links.url(RESUBSCRIBE_PATH),
        preferences_url=_preferences_url(deps, claims),
    )


@_answers_refusals(undo=True)
def resubscribe(deps: PageDeps, body: bytes | str | None, accept_language: str | None, now: datetime) -> Page:
    """``POST /v1/resubscribe`` (the undo of an unsubscribe page): its channel and topic on again."""
    token = _token_field(form_fields(body))
    opened = _open(deps, token, LinkPurpose.RESUBSCRIBE, now)
    claims = opened.claims
    locale = opened.locale(accept_language, deps.default_locale)
    change = _change(
        deps,
        opened,
        (PREFERENCE_CENTER_SOURCE, Channel.WEB),
        {claims.channel: {claims.topic: True}},
        event_id("resubscribe", token),  # the same undo posted twice is one event
        now,
    )
    line = text(locale, "resubscribed_text", label=label(locale, claims.channel, claims.topic))
    return _notice(
        deps,
        locale,
        "resubscribed_title",
        [line],
        link=(_preferences_url(deps, claims), text(locale, "preferences_link")),
        change=change,
    )


def _source_channel(channel: str) -> Channel:
    """The source channel a link's own change is reported on: the message's, where it is one."""
    return Channel(channel) if channel in Channel._value2member_map_ else Channel.WEB


def _token_field(fields: Mapping[str, list[str]]) -> str:
    values = fields.get("token")
    if not values or not values[0]:
        raise BadForm("token", "problem_required")
    if len(values) > 1:
        raise BadForm("token", "problem_value")
    return values[0]


# --- the preference center --------------------------------------------------------------------


@_answers_refusals()
def preferences_page(deps: PageDeps, token: str, accept_language: str | None, now: datetime) -> Page:
    """``GET /v1/preferences``: every channel and topic with its state; changes nothing."""
    opened = _open_preferences(deps, token, now)
    return _preferences(deps, opened, token, opened.locale(accept_language, deps.default_locale), "", {})


@_answers_refusals()
def change_preferences(
    deps: PageDeps, body: bytes | str | None, accept_language: str | None, now: datetime
) -> Page:
    """``POST /v1/preferences``: the marketing consents the form changed, as one event from the
    source ``preference_center`` (one consent record per change). An expired link may only turn
    things off. The token is checked before any other field: a stranger learns nothing."""
    fields = form_fields(body)
    token = _token_field(fields)
    opened = _open_preferences(deps, token, now)
    locale = opened.locale(accept_language, deps.default_locale)
    try:
        wanted = wanted_marketing(fields)
    except BadForm as exc:  # the customer is known: their language
        return bad_form(deps, exc, locale)
    changes = {
        channel: on
        for channel, on in sorted(wanted.items())
        if on != bool(opened.subscribed(channel, Topic.MARKETING)) and not (on and opened.expired)
    }
    stated = {channel: {Topic.MARKETING.value: on} for channel, on in changes.items()}
    change = None
    if changes:
        key = event_id("preferences", opened.claims.profile_id, json.dumps(stated), now.isoformat())
        change = _change(deps, opened, (PREFERENCE_CENTER_SOURCE, Channel.WEB), stated, key, now)
    status = text(locale, "saved" if change is not None else "unchanged")
    return _preferences(deps, opened, token, locale, status, changes if change is not None else {}, change)


def _open_preferences(deps: PageDeps, token: str, now: datetime) -> _Opened:
    opened = _open(deps, token, LinkPurpose.PREFERENCES, now, expired_ok=True)
    if opened.profile is None:  # erased: the link opens nothing, and says no more than a forged one
        raise Forbidden("token: the link no longer opens", code="invalid_link")
    return opened


def wanted_marketing(fields: Mapping[str, list[str]]) -> dict[str, bool]:
    """The form's marketing choices: ``<channel>.marketing`` → on when any of its values is "on"
    (a checkbox posts "on" after its hidden "off"); ``all=off`` turns every channel off. Anything
    else is refused naming the field: order messages cannot be switched off here."""
    channels = [c.value for c in DeliveryChannel]
    wanted: dict[str, bool] = {}
    all_off = False
    for name, values in fields.items():
        if name == "token":
            continue
        if name == "all":
            if set(values) != {OFF}:
                raise BadForm(name, "problem_value")
            all_off = True
            continue
        channel, _, topic = name.partition(".")
        if channel not in channels or topic not in (Topic.MARKETING, Topic.TRANSACTIONAL):
            raise BadForm(name, "problem_unknown")
        if topic == Topic.TRANSACTIONAL:
            raise BadForm(name, "problem_fixed")
        if not values or not set(values) <= {ON, OFF}:
            raise BadForm(name, "problem_value")
        wanted[channel] = ON in values
    if all_off:
        wanted = dict.fromkeys(channels, False)
    return wanted


def _preferences(
    deps: PageDeps,
    opened: _Opened,
    token: str,
    locale: str,
    status: str,
    changed: Mapping[str, bool],
    change: IntakeEvent | None = None,
) -> Page:
    marketing, transactional = [], []
    for channel in (c.value for c in DeliveryChannel):
        on = changed.get(channel, bool(opened.subscribed(channel, Topic.MARKETING)))
        marketing.append(
            {
                "field": f"{channel}.{Topic.MARKETING.value}",
                "id": f"pref-{channel}",
                "label": sentence_case(label(locale, channel, Topic.MARKETING)),
                "on": on,
                "locked": opened.expired and not on,
            }
        )
        sent = opened.subscribed(channel, Topic.TRANSACTIONAL) is not False
        transactional.append(
            {
                "label": sentence_case(label(locale, channel, Topic.TRANSACTIONAL)),
                "state": text(locale, "state_on" if sent else "state_off"),
            }
        )
    return _page(
        deps,
        "preferences",
        locale,
        "preferences_title",
        change=change,
        status_text=status,
        old_link=opened.expired,
        action=deps.links.url(PREFERENCES_PATH),
        token=token,
        marketing=marketing,
        transactional=transactional,
    )


# --- confirmed opt-in ---------------------------------------------------------------------------


@_answers_refusals()
def confirm_page(deps: PageDeps, token: str, accept_language: str | None, now: datetime) -> Page:
    """``GET /v1/consent/confirm``: asks to confirm the subscription; changes nothing (link
    scanners open it)."""
    confirmation = open_confirmation(deps.messages, token, deps.links.secrets, now)
    locale = first_locale([confirmation.locale], browser_locale(accept_language, deps.default_locale))
    ask = "confirm_ask_sms" if confirmation.claims.channel == DeliveryChannel.SMS else "confirm_ask_email"
    return _page(
        deps,
        "confirm",
        locale,
        "confirm_title",
        text=text(locale, ask),
        action=deps.links.url(CONFIRM_CONSENT_PATH, token),
    )


@_answers_refusals()
def confirm(deps: PageDeps, token: str, accept_language: str | None, now: datetime) -> Page:
    """``POST /v1/consent/confirm``: the opt-in confirmed (asusual.delivery.confirmation); the same
    link posted again is the same event. A message whose person is gone confirms nothing and
    answers the same page."""
    confirmation = open_confirmation(deps.messages, token, deps.links.secrets, now)
    if confirmation.event is not None:
        deps.events.publish([confirmation.event])
    locale = first_locale([confirmation.locale], browser_locale(accept_language, deps.default_locale))
    return _notice(
        deps, locale, "confirmed_title", [text(locale, "confirmed_text")], change=confirmation.event
    )
