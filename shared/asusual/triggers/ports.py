"""What the triggers need from the outside, as small interfaces that store/ implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from asusual.triggers.models import Intent


class IntentPublisher(Protocol):
    def publish(self, intents: Sequence[Intent]) -> None:
        """Durably enqueue every intent, or raise (the caller retries: intents are idempotent)."""
        ...
