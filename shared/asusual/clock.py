"""The one clock of the system.

Nothing reads the wall clock directly: rules receive ``now`` as an argument, and the entry points
(handlers, CLI, local server) take it from :func:`now`. Tests and the local server install a
:class:`ManualClock` to move time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock set by hand. Running (the default), it advances with real time from the instant
    it was set to; frozen, it stays there until set or advanced again."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._anchor = _aware(start) if start else datetime.now(UTC)
        self._anchor_monotonic = time.monotonic()
        self._frozen = frozen

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._anchor
            return self._anchor + timedelta(seconds=time.monotonic() - self._anchor_monotonic)

    def set(self, instant: datetime, *, frozen: bool | None = None) -> None:
        with self._lock:
            self._anchor = _aware(instant)
            self._anchor_monotonic = time.monotonic()
            if frozen is not None:
                self._frozen = frozen

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("the clock only takes timezone-aware instants")
    return instant.astimezone(UTC)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` for all code; returns the previous one so callers can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    return _clock.now()
