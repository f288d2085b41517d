"""Confirmation of an opt-in a public source asserted (asusual.profiles.consent): transactional,
to the very address asked to confirm, and only while that assertion still waits for the customer."""

from __future__ import annotations

from asusual.profiles.consent import address_to_ask, awaiting_confirmation
from asusual.profiles.state import ProfileState
from asusual.triggers.kinds.base import Recipient, TriggerKind
from asusual.triggers.models import ConsentConfirmationFacts


class ConsentConfirmationKind(TriggerKind[ConsentConfirmationFacts]):
    facts_model = ConsentConfirmationFacts
    may_hold_out = False  # the customer is owed it: never held out

    def recipient(self, facts: ConsentConfirmationFacts, state: ProfileState) -> Recipient:
        """The address asked (the assertion's, else the profile's own), while that assertion is
        still the one waiting: one confirmed, withdrawn, granted otherwise or asserted again since
        asks nothing more (a newer assertion has its own intent)."""
        key = f"{facts.channel}.{facts.topic}"
        waiting = awaiting_confirmation(state).get(key)
        if waiting is None or waiting.msg != facts.message_id:
            return Recipient(channel=facts.channel, address=None, reason="not_pending")
        address = address_to_ask(state, key, waiting)
        if address is None:
            return Recipient(channel=facts.channel, address=None, reason="no_address")
        return Recipient(channel=facts.channel, address=address)

    def confirms(self, facts: ConsentConfirmationFacts) -> tuple[str, str]:
        return facts.channel, facts.topic


KIND = ConsentConfirmationKind()
