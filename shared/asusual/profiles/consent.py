"""Confirmed (double) opt-in: marketing consent that a public source asserts for email or SMS
waits for the customer to confirm it through a link sent to that address.

A public source's key is in every page of the shop (asusual.access): anyone can send
``identify {userId: "victim", traits: {email, subscriptions: {email: {marketing: true}}}}``. Its
word that someone wants marketing at an address is a claim, not consent. So:

- a public source's ``true`` for email or SMS marketing is kept as an *assertion*
  (``ProfileState.pending_consents``), apart from the consents the profile holds, and grants
  nothing: no marketing, no welcome, no birthday greeting;
- the assertion asks for a ``consent_confirmation`` message (transactional) to the address it was
  made for; the customer's click on its link becomes a consent from the source
  ``consent_confirmation``, stamped one microsecond after the assertion it confirms
  (:func:`confirmed_stamp`): any decision taken after the assertion — a withdrawal in between,
  from any source — is later and still wins ("later wins" by event time), and nothing the customer
  withdrew before confirming comes back;
- a withdrawal (``false``) from any source, and anything a server-side source says (the retailer's
  backend vouches for it), apply at once, as before.

Everything here is a pure function of a profile's state or an event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from asusual.identity.extract import normalize_email
from asusual.intake.models import IntakeEvent, SourceContext
from asusual.profiles.state import ProfileState, Stamped

CONFIRMATION_SOURCE = "consent_confirmation"  # the source of a confirmed consent
CONFIRMED_CHANNELS = ("email", "sms")  # where an address can be asked to confirm
CONFIRMED_TOPIC = "marketing"
ADDRESS_TRAIT = {"email": "email", "sms": "phone"}
# the block of a confirmation event's context naming the assertion it confirms (honoured only on
# the engine's own confirmation events, see confirmed_assertion)
CONTEXT_KEY = "consent_confirmation"
AFTER_ASSERTION = timedelta(microseconds=1)


class Assertion(BaseModel):
    """The public source's assertion a confirmation confirms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime = Field(description="event time of the assertion")
    message_id: str = Field(description="the event that asserted it")
    source_id: str = Field(description="the public source that sent it")


def needs_confirmation(source: SourceContext, channel: str, topic: str, subscribed: bool) -> bool:
    """A public source's opt-in to email or SMS marketing: only the address can confirm it."""
    return source.public and subscribed and topic == CONFIRMED_TOPIC and channel in CONFIRMED_CHANNELS


def granted(stamped: Stamped | None) -> bool:
    value = stamped.value if stamped is not None else None
    return isinstance(value, dict) and bool(value.get("subscribed"))


def awaiting_confirmation(state: ProfileState) -> dict[str, Stamped]:
    """'<channel>.<topic>' → the assertion still waiting for the customer: no consent decision
    stamped at or after it, and the consent not granted already (an assertion of a consent the
    customer has is a restatement and asks nothing)."""
    waiting: dict[str, Stamped] = {}
    for key, asserted in sorted(state.pending_consents.items()):
        held = state.subscriptions.get(key)
        if held is not None and (granted(held) or held.stamp() >= asserted.stamp()):
            continue
        waiting[key] = asserted
    return waiting


def address_to_ask(state: ProfileState, key: str, asserted: Stamped) -> str | None:
    """Where the confirmation of ``asserted`` ('<channel>.<topic>' ``key``) goes: the address the
    assertion gave, else the profile's own; None when neither can be written to (an email that is
    not one address, a phone number not in E.164)."""
    channel = key.split(".", 1)[0]
    given = asserted.value.get("address") if isinstance(asserted.value, dict) else None
    own = state.traits.get(ADDRESS_TRAIT.get(channel, ""))
    for candidate in (given, own.value if own is not None else None):
        if not isinstance(candidate, str):
            continue
        address = normalize_email(candidate) if channel == "email" else candidate.strip()
        if address and (channel == "email" or address.startswith("+")):
            return address
    return None


def confirmed_stamp(assertion: Assertion) -> datetime:
    """The event time a confirmation takes: right after the assertion it confirms, so that a
    consent decision made after the assertion (a withdrawal in between) stays the later one."""
    return assertion.at + AFTER_ASSERTION


def confirmation_context(assertion: Assertion) -> dict[str, Any]:
    """The context block of a confirmation event (asusual.delivery.confirmation builds the event)."""
    return {CONTEXT_KEY: assertion.model_dump(mode="json")}


def confirmed_assertion(event: IntakeEvent) -> Assertion | None:
    """The assertion a confirmation event confirms. Only the engine's own confirmation event (the
    customer's click, ``SourceContext.customer``, from the source ``consent_confirmation``) carries
    one: intake never marks an event as the customer's, so a client's ``context`` cannot."""
    if not (event.source.customer and event.source.source_id == CONFIRMATION_SOURCE):
        return None
    raw = event.context.get(CONTEXT_KEY)
    try:
        return Assertion.model_validate(raw)
    except ValidationError:
        return None
