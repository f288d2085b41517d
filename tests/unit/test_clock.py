from datetime import UTC, datetime, timedelta, timezone

import pytest

from asusual import clock
from asusual.clock import ManualClock, SystemClock

T = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_frozen_manual_clock_stays_until_moved():
    c = ManualClock(T, frozen=True)
    assert c.now() == c.now() == T
    c.advance(timedelta(days=3))
    assert c.now() == T + timedelta(days=3)


def test_running_manual_clock_moves_forward_from_the_set_instant():
    c = ManualClock(T)
    first, second = c.now(), c.now()
    assert T <= first <= second < T + timedelta(minutes=1)


def test_manual_clock_refuses_naive_and_normalizes_to_utc():
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))
    c = ManualClock(datetime(2026, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=3))), frozen=True)
    assert c.now() == datetime(2026, 1, 1, 0, 0, tzinfo=UTC) and c.now().tzinfo is UTC


def test_set_clock_replaces_the_clock_for_all_code_and_returns_the_previous():
    previous = clock.set_clock(ManualClock(T, frozen=True))
    try:
        assert clock.now() == T
    finally:
        clock.set_clock(previous)
    assert isinstance(clock.get_clock(), SystemClock)
