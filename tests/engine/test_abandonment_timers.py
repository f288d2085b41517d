"""Abandonment timers on the real engine: every condition of docs/data-model.md (Abandonment timer)
holds the way DynamoDB evaluates it — an older cart event never moves the timer back, a later due
never postpones a browse timer, a settle that read a stale version loses — and the due index
returns exactly the timers due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asusual.errors import Conflict
from asusual.store.abandonment import DynamoTimerRepository
from asusual.triggers.abandonment import TimerKind, due_bucket


@pytest.fixture
def timers(ddb, table):
    return DynamoTimerRepository(ddb, table)


def test_cart_timer_arms_forward_only_and_a_redelivery_changes_nothing(timers, engine):
    now = engine.clock.now()
    assert timers.arm("p_1", TimerKind.CART, now, now + timedelta(hours=4))
    assert not timers.arm("p_1", TimerKind.CART, now, now + timedelta(hours=4))  # the same event again
    assert not timers.arm("p_1", TimerKind.CART, now - timedelta(minutes=5), now + timedelta(hours=3))
    assert timers.arm(
        "p_1", TimerKind.CART, now + timedelta(minutes=30), now + timedelta(hours=4, minutes=30)
    )
    stored = timers.timer("p_1", TimerKind.CART)
    assert stored is not None and (stored.version, stored.armed_at, stored.due) == (
        2, now + timedelta(minutes=30), now + timedelta(hours=4, minutes=30),
    )  # fmt: skip


def test_browse_timer_keeps_the_earliest_due(timers, engine):
    now = engine.clock.now()
    assert timers.arm("p_1", TimerKind.BROWSE, now, now + timedelta(days=1))
    assert not timers.arm("p_1", TimerKind.BROWSE, now + timedelta(hours=1), now + timedelta(days=1, hours=1))
    assert timers.arm("p_1", TimerKind.BROWSE, now, now + timedelta(hours=20))
    assert timers.timer("p_1", TimerKind.BROWSE).due == now + timedelta(hours=20)


def test_settle_with_a_stale_version_conflicts_and_a_closed_timer_leaves_the_index(timers, engine):
    now = engine.clock.now()
    due = now + timedelta(hours=4)
    timers.arm("p_1", TimerKind.CART, now, due)
    read = timers.timer("p_1", TimerKind.CART)
    assert [t.profile_id for t in timers.due_timers(due_bucket(due), due)] == ["p_1"]
    assert timers.due_timers(due_bucket(due), due - timedelta(seconds=1)) == []
    timers.settle(read, None, {"cart-1": due})
    with pytest.raises(Conflict):
        timers.settle(read, due + timedelta(hours=1), {})  # read before the settle above
    closed = timers.timer("p_1", TimerKind.CART)
    assert closed.due is None and closed.reminded == {"cart-1": due}
    assert timers.due_timers(due_bucket(due), due + timedelta(days=1)) == []
    # a new cart event re-arms it; what it reminded of is kept
    assert timers.arm("p_1", TimerKind.CART, now + timedelta(days=1), due + timedelta(days=1))
    assert timers.timer("p_1", TimerKind.CART).reminded == {"cart-1": due}


def test_settle_to_a_later_due_moves_the_timer_in_the_index(timers, engine):
    now = engine.clock.now()
    due = now + timedelta(hours=4)
    timers.arm("p_1", TimerKind.CART, now, due)
    later = due + timedelta(days=1, hours=2)
    timers.settle(timers.timer("p_1", TimerKind.CART), later, {})
    assert timers.due_timers(due_bucket(due), due + timedelta(hours=20)) == []
    assert [t.due for t in timers.due_timers(due_bucket(later), later)] == [later]
