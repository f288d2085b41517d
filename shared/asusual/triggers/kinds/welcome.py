"""Welcome messages to a new marketing subscriber: the day's offer, worth sending for 3 days."""

from __future__ import annotations

from datetime import timedelta

from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import WelcomeFacts


class WelcomeKind(TriggerKind[WelcomeFacts]):
    facts_model = WelcomeFacts
    shows_offer = True
    useful_life = timedelta(days=3)


KIND = WelcomeKind()
