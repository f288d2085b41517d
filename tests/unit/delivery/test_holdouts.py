"""Trigger holdouts: the group is a pure function of kind and send-once key, the share matches the
percent, the policy refuses what it must, and the dispatcher sends the holdout nothing while both
groups are written at the same point (on the in-memory fakes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from asusual.content.render import default_pack
from asusual.delivery.dispatch import DispatchDeps, DispatchStatus, dispatch
from asusual.delivery.holdouts import (
    Group,
    HoldoutPolicy,
    TriggerExposure,
    held_out_kinds,
    holdout_policy,
    in_holdout,
    trigger_program,
)
from asusual.delivery.links import LinkSigner
from asusual.delivery.models import DeliveryChannel, OutgoingMessage, SendReceipt
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, Stamped
from asusual.settings import NEVER_HELD_OUT
from asusual.triggers.kinds import KINDS
from asusual.triggers.models import OrderStatus, OrderStatusFacts, Topic, WelcomeFacts, make_intent

from .fakes import FakeCatalog, FakeDecisions, FakeMessages, FakeProfiles, SimClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: marketing may go


def test_in_holdout_of_the_same_seed_is_the_same_every_time():
    assert [in_holdout("welcomewelcome:p_1", 50) for _ in range(3)] == [True, True, True]
    assert [in_holdout("welcomewelcome:p_4", 50) for _ in range(3)] == [False, False, False]


def test_in_holdout_at_zero_holds_nobody_and_at_one_hundred_everybody():
    seeds = [f"welcomewelcome:p_{i}" for i in range(1000)]
    assert not any(in_holdout(s, 0) for s in seeds)
    assert all(in_holdout(s, 100) for s in seeds)


@pytest.mark.parametrize(("percent", "held"), [(10, 1018), (25, 2492), (50, 5003)])
def test_in_holdout_over_ten_thousand_keys_holds_the_percent(percent, held):
    seeds = [f"welcomewelcome:p_{i}" for i in range(10_000)]
    count = sum(in_holdout(s, percent) for s in seeds)
    assert count == held  # deterministic: the same keys give the same count on every machine
    assert abs(count / 10_000 - percent / 100) < 0.01


def test_in_holdout_groups_grow_with_the_percent():
    """Raising the percent only moves recipients into the holdout, never the reverse."""
    seeds = [f"birthdaybirthday:p_{i}:2026" for i in range(2000)]
    at_10 = {s for s in seeds if in_holdout(s, 10)}
    at_20 = {s for s in seeds if in_holdout(s, 20)}
    assert at_10 < at_20


def test_trigger_program_names_the_kind_and_a_hash_of_the_key():
    # sha256("welcome:p_1") = 67563ec3f36106573519e7ff…
    assert trigger_program("welcome", "welcome:p_1") == "trigger#welcome#67563ec3f36106573519e7ff"


def test_policy_assigns_nothing_to_a_kind_without_a_holdout():
    assert HoldoutPolicy({"welcome": 10}).assign("birthday", "p_1", "birthday:p_1:2026", NOW) is None


def test_policy_assigns_a_group_with_its_window():
    policy = HoldoutPolicy({"welcome": 50}, conversion_window=timedelta(days=7))

    exposure = policy.assign("welcome", "p_1", "welcome:p_1", NOW)

    assert exposure == TriggerExposure(
        profile_id="p_1",
        kind="welcome",
        program=trigger_program("welcome", "welcome:p_1"),
        group=Group.HOLDOUT if in_holdout("welcomewelcome:p_1", 50) else Group.RECIPIENT,
        assigned_at=NOW,
        window_end=NOW + timedelta(days=7),
    )


def test_holdout_policy_of_valid_percents_keeps_them_and_the_window():
    policy = holdout_policy({"welcome": 10, "birthday": 0, "replenishment": 50}, conversion_days=14)
    assert policy.percents == {"welcome": 10, "birthday": 0, "replenishment": 50}
    assert policy.conversion_window == timedelta(days=14)


@pytest.mark.parametrize(
    ("percents", "message"),
    [
        (
            {"welcom": 10},
            "unknown trigger kind 'welcom'; one of back_in_stock, birthday, browse_abandonment, "
            "cart_abandonment, price_drop, replenishment, welcome",
        ),
        ({"order_status": 10}, "'order_status' is never held out"),
        ({"consent_confirmation": 5}, "'consent_confirmation' is never held out"),
        ({"welcome": 51}, "'welcome': 51 is not a whole percent from 0 to 50"),
        ({"welcome": -1}, "'welcome': -1 is not a whole percent from 0 to 50"),
    ],
)
def test_holdout_policy_refuses_and_names_the_kind(percents, message):
    with pytest.raises(ValueError, match=message):
        holdout_policy(percents)


def test_kinds_never_held_out_are_the_ones_settings_refuse():
    assert {name for name, kind in KINDS.items() if not kind.may_hold_out} == NEVER_HELD_OUT
    assert held_out_kinds() == sorted(set(KINDS) - NEVER_HELD_OUT)


# -- the dispatcher ------------------------------------------------------------------------------
@dataclass
class FakeExposures:
    """ExposureRecorder: an exposure put once, an outcome set once, each with its counters."""

    exposures: dict[tuple[str, str], TriggerExposure] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)

    def _count(self, kind: str, name: str) -> None:
        program = self.counters.setdefault(kind, {})
        program[name] = program.get(name, 0) + 1

    def assign(self, exposure: TriggerExposure) -> bool:
        key = (exposure.profile_id, exposure.program)
        if key in self.exposures:
            return False
        self.exposures[key] = exposure
        self._count(exposure.kind, "audience")
        if exposure.group is Group.HOLDOUT:
            self._count(exposure.kind, "holdout")
        return True

    def record_outcome(self, exposure: TriggerExposure, outcome: str) -> bool:
        key = (exposure.profile_id, exposure.program)
        if key not in self.exposures or key in self.outcomes:
            return False
        self.outcomes[key] = outcome
        self._count(exposure.kind, outcome.replace(":", "_"))
        return True


class Outbox:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(provider_id=None)


def subscriber(profile_id: str) -> Profile:
    def stamped(value: object) -> Stamped:
        return Stamped(value=value, at=NOW - timedelta(minutes=5), msg=f"m-{profile_id}")

    state = ProfileState(
        traits={"email": stamped(f"{profile_id}@example.com"), "timezone": stamped("Europe/Moscow")},
        subscriptions={"email.marketing": stamped({"subscribed": True})},
    )
    return Profile(profile_id=profile_id, created_at=NOW, parts={profile_id: state})


def world(percents: dict[str, int], *profile_ids: str) -> tuple[DispatchDeps, FakeExposures, Outbox]:
    profiles, outbox, exposures, clock = FakeProfiles(), Outbox(), FakeExposures(), SimClock(NOW)
    for pid in profile_ids:
        profiles.put(subscriber(pid))
    catalog = FakeCatalog(clock, [], {})
    deps = DispatchDeps(
        profiles=profiles,
        messages=FakeMessages(),
        decisions=FakeDecisions(clock),
        catalog=catalog,
        offers=catalog,
        senders={DeliveryChannel.EMAIL: outbox},
        pack=default_pack(),
        links=LinkSigner(base_url="https://shop.example", secrets=(b"k",), ttl=timedelta(days=90)),
        holdouts=holdout_policy(percents),
        exposures=exposures,
    )
    return deps, exposures, outbox


def welcome(profile_id: str):
    facts = WelcomeFacts(channels=("email",), subscribed_at=NOW, source_id="web")
    return make_intent(profile_id, Topic.MARKETING, f"welcome:{profile_id}", facts, NOW)


# p_1 falls in a 50 % holdout of welcome, p_4 does not (test_in_holdout_of_the_same_seed...)
def test_dispatch_of_a_held_out_welcome_sends_nothing_and_writes_its_exposure_once():
    deps, exposures, outbox = world({"welcome": 50}, "p_1")

    first = dispatch(welcome("p_1"), deps, NOW)
    again = dispatch(welcome("p_1"), deps, NOW + timedelta(minutes=1))  # redelivered

    assert (first.status, first.reason, first.channel) == (DispatchStatus.SKIPPED, "holdout", "email")
    assert (again.status, again.reason) == (DispatchStatus.SKIPPED, "holdout")
    assert outbox.sent == []
    assert [e.group for e in exposures.exposures.values()] == [Group.HOLDOUT]
    assert exposures.counters == {"welcome": {"audience": 1, "holdout": 1}}


def test_dispatch_of_a_recipient_sends_and_records_the_exposure_and_its_outcome():
    deps, exposures, outbox = world({"welcome": 50}, "p_4")

    result = dispatch(welcome("p_4"), deps, NOW)
    again = dispatch(welcome("p_4"), deps, NOW)

    assert result.status is DispatchStatus.SENT
    assert again.status is DispatchStatus.DUPLICATE
    assert [m.profile_id for m in outbox.sent] == ["p_4"]
    [exposure] = exposures.exposures.values()
    assert (exposure.group, exposure.assigned_at, exposure.window_end) == (
        Group.RECIPIENT,
        NOW,
        NOW + timedelta(days=7),
    )
    assert exposures.outcomes == {("p_4", exposure.program): "sent"}
    assert exposures.counters == {"welcome": {"audience": 1, "sent": 1}}


def test_dispatch_redelivered_after_a_crash_before_the_outcome_records_it_as_sent_once():
    deps, exposures, outbox = world({"welcome": 50}, "p_4")
    recorded = exposures.record_outcome
    exposures.record_outcome = lambda exposure, outcome: False  # type: ignore[method-assign]  # the crash
    dispatch(welcome("p_4"), deps, NOW)
    exposures.record_outcome = recorded  # type: ignore[method-assign]

    again = dispatch(welcome("p_4"), deps, NOW + timedelta(minutes=1))
    third = dispatch(welcome("p_4"), deps, NOW + timedelta(minutes=2))

    assert (again.status, third.status) == (DispatchStatus.DUPLICATE, DispatchStatus.DUPLICATE)
    assert [m.profile_id for m in outbox.sent] == ["p_4"]
    assert exposures.counters == {"welcome": {"audience": 1, "sent": 1}}


def test_dispatch_in_quiet_hours_defers_without_assigning_a_group():
    deps, exposures, outbox = world({"welcome": 50}, "p_1")
    night = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 23:00 in Moscow

    result = dispatch(welcome("p_1"), deps, night)

    assert result.status is DispatchStatus.DEFERRED
    assert exposures.exposures == {} and exposures.counters == {}
    assert outbox.sent == []


def test_dispatch_of_a_transactional_message_is_never_held_out():
    deps, exposures, outbox = world({"welcome": 50}, "p_1")
    facts = OrderStatusFacts(
        order_id="o-1",
        status=OrderStatus.PLACED,
        previous_status=None,
        order_channel="web",
        status_at=NOW,
        message_id="m-o1",
    )
    intent = make_intent("p_1", Topic.TRANSACTIONAL, "order:o-1:placed", facts, NOW)

    assert dispatch(intent, deps, NOW).status is DispatchStatus.SENT
    assert [m.trigger for m in outbox.sent] == ["order_placed"]
    assert exposures.exposures == {}


def test_dispatch_of_a_kind_without_a_holdout_writes_no_exposure():
    deps, exposures, outbox = world({"birthday": 10}, "p_1", "p_4")

    assert [dispatch(welcome(p), deps, NOW).status for p in ("p_1", "p_4")] == [DispatchStatus.SENT] * 2
    assert [m.profile_id for m in outbox.sent] == ["p_1", "p_4"]
    assert exposures.exposures == {}
