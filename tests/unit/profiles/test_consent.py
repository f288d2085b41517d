"""Confirmed opt-in rules (pure): what a public source's opt-in becomes, when it waits, and what a
confirmation grants — in any delivery order of the same events."""

from datetime import UTC, datetime, timedelta
from functools import reduce
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.identity.models import IdentityPolicy
from asusual.intake.models import IntakeEvent
from asusual.profiles.birthday import has_marketing_consent
from asusual.profiles.consent import (
    ADDRESS_TRAIT,
    Assertion,
    address_to_ask,
    awaiting_confirmation,
    confirmation_context,
    confirmed_assertion,
    needs_confirmation,
)
from asusual.profiles.facts import contribution
from asusual.profiles.processor import ProfileChange, process_event
from asusual.profiles.state import ProfileState, Stamped
from asusual.profiles.view import view

from ..events import SOURCES, event
from .test_processor import MemoryRepo

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PUBLIC, SERVER, UNSUBSCRIBE, CONFIRMATION = "browser", "web", "unsubscribe", "confirmation"


def identify(source, subscriptions, *, minutes=0, message_id=None, context=None, **traits):
    message_id = message_id or f"{SOURCES[source].source_id}-{minutes}"
    return event(source=source, minutes=minutes, message_id=message_id, start=T0, user_id="u-anna",
                 traits={**traits, "subscriptions": subscriptions}, context=context or {})  # fmt: skip


def confirmation(asserted: IntakeEvent, *, minutes=10) -> IntakeEvent:
    assertion = Assertion(at=asserted.timestamp, message_id=asserted.message_id, source_id="browser_local")
    return identify(
        CONFIRMATION,
        {"email": {"marketing": True}},
        minutes=minutes,
        message_id="consent-confirmation-1",
        context=confirmation_context(assertion),
    )


def state_of(*events: IntakeEvent) -> ProfileState:
    return reduce(ProfileState.join, (contribution(e, frozenset()) for e in events), ProfileState())


EMAIL_ON = {"email": {"marketing": True}}
ASSERTED = identify(PUBLIC, EMAIL_ON, email="Anna@Example.com")


@pytest.mark.parametrize(
    ("source", "channel", "topic", "subscribed", "expected"),
    [
        (PUBLIC, "email", "marketing", True, True),
        (PUBLIC, "sms", "marketing", True, True),
        (PUBLIC, "email", "marketing", False, False),  # a withdrawal applies at once
        (PUBLIC, "email", "transactional", True, False),
        (PUBLIC, "push", "marketing", True, False),  # the app's own permission prompt is the confirmation
        (SERVER, "email", "marketing", True, False),  # the retailer's backend vouches for it
        (CONFIRMATION, "email", "marketing", True, False),
    ],
)
def test_needs_confirmation_only_a_public_opt_in_to_email_or_sms_marketing(
    source, channel, topic, subscribed, expected
):
    assert needs_confirmation(SOURCES[source], channel, topic, subscribed) is expected


def test_contribution_public_opt_in_is_an_assertion_granting_nothing():
    state = state_of(ASSERTED)
    assert state.subscriptions == {}
    assert state.pending_consents == {
        "email.marketing": Stamped(
            value={
                "subscribed": True,
                "consent_version": None,
                "source_id": "browser_local",
                "pending": True,
                "address": "anna@example.com",
            },
            at=T0,
            msg="browser_local-0",
        )
    }
    assert awaiting_confirmation(state) == state.pending_consents
    assert has_marketing_consent(state) is False


def test_contribution_public_sms_opt_in_keeps_the_number_in_e164():
    state = state_of(identify(PUBLIC, {"sms": {"marketing": True}}, phone="8 (916) 123-45-67"))
    assert state.pending_consents["sms.marketing"].value["address"] == "+79161234567"


def test_contribution_public_opt_in_without_an_address_keeps_none():
    state = state_of(identify(PUBLIC, EMAIL_ON))
    assert "address" not in state.pending_consents["email.marketing"].value


def test_contribution_public_withdrawal_and_other_consents_apply_at_once():
    subscriptions = {"email": {"marketing": False, "transactional": True}, "push": {"marketing": True}}
    state = state_of(identify(PUBLIC, subscriptions))
    assert {k: v.value["subscribed"] for k, v in state.subscriptions.items()} == {
        "email.marketing": False,
        "email.transactional": True,
        "push.marketing": True,
    }
    assert state.pending_consents == {}


def test_contribution_server_side_opt_in_is_granted_at_once():
    state = state_of(identify(SERVER, EMAIL_ON, email="anna@example.com"))
    assert state.pending_consents == {} and state.subscriptions["email.marketing"].value["subscribed"] is True


def test_contribution_confirmation_is_stamped_right_after_the_assertion_with_both_times():
    state = state_of(ASSERTED, confirmation(ASSERTED))
    assert state.subscriptions == {
        "email.marketing": Stamped(
            value={
                "subscribed": True,
                "consent_version": None,
                "source_id": "consent_confirmation",
                "confirmed_at": "2026-11-23T09:10:00+00:00",
                "confirms": {
                    "at": "2026-11-23T09:00:00Z",
                    "message_id": "browser_local-0",
                    "source_id": "browser_local",
                },
            },
            at=T0 + timedelta(microseconds=1),
            msg="consent-confirmation-1",
            customer=True,
        )
    }
    assert awaiting_confirmation(state) == {} and has_marketing_consent(state) is True


@pytest.mark.parametrize("source", [PUBLIC, SERVER, UNSUBSCRIBE])
def test_confirmed_assertion_from_a_clients_context_is_ignored(source):
    forged = identify(
        source, EMAIL_ON, context=confirmation_context(Assertion(at=T0, message_id="x", source_id="y"))
    )
    assert confirmed_assertion(forged) is None
    assert "confirms" not in str(state_of(forged).model_dump())


def test_confirmed_assertion_malformed_block_is_no_confirmation():
    broken = identify(CONFIRMATION, EMAIL_ON, context={"consent_confirmation": {"at": "yesterday"}})
    assert confirmed_assertion(broken) is None
    assert state_of(broken).subscriptions["email.marketing"].at == T0  # an ordinary customer's opt-in


def test_awaiting_confirmation_withdrawal_after_the_assertion_ends_it():
    withdrawn = identify(PUBLIC, {"email": {"marketing": False}}, minutes=30)
    assert awaiting_confirmation(state_of(ASSERTED, withdrawn)) == {}


def test_awaiting_confirmation_withdrawal_before_the_assertion_keeps_it_waiting():
    withdrawn = identify(UNSUBSCRIBE, {"email": {"marketing": False}}, minutes=-60)
    assert list(awaiting_confirmation(state_of(withdrawn, ASSERTED))) == ["email.marketing"]


def test_awaiting_confirmation_consent_already_granted_asks_nothing():
    granted = identify(SERVER, EMAIL_ON, minutes=-60)
    state = state_of(granted, ASSERTED)
    assert awaiting_confirmation(state) == {} and has_marketing_consent(state) is True


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_confirmation_after_a_withdrawal_in_between_never_grants_in_any_order(order):
    withdrawn = identify(PUBLIC, {"email": {"marketing": False}}, minutes=5)
    events = [ASSERTED, withdrawn, confirmation(ASSERTED)]
    state = state_of(*(events[i] for i in order))
    assert state.subscriptions["email.marketing"].value["subscribed"] is False
    assert awaiting_confirmation(state) == {} and has_marketing_consent(state) is False


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_withdrawal_after_the_confirmation_wins_in_any_order(order):
    withdrawn = identify(UNSUBSCRIBE, {"email": {"marketing": False}}, minutes=20)
    events = [ASSERTED, confirmation(ASSERTED, minutes=10), withdrawn]
    state = state_of(*(events[i] for i in order))
    assert state.subscriptions["email.marketing"].value["subscribed"] is False


def test_view_pending_opt_in_is_listed_apart_from_the_subscriptions():
    shown = view("p_1", state_of(ASSERTED))
    assert shown.subscriptions == {} and shown.pending_subscriptions == {"email": {"marketing": True}}
    confirmed = view("p_1", state_of(ASSERTED, confirmation(ASSERTED)))
    assert confirmed.subscriptions == {"email": {"marketing": True}} and confirmed.pending_subscriptions == {}


# -- the consent records the processor writes ---------------------------------------------------
class RecordingRepo(MemoryRepo):
    def __init__(self):
        super().__init__()
        self.records: list[tuple[str, str, bool, bool]] = []

    def commit(self, change: ProfileChange):
        super().commit(change)
        for key, stamped in change.consents.items():
            value = stamped.value
            self.records.append((key, value["source_id"], value["subscribed"], bool(value.get("pending"))))


def records(*events: IntakeEvent) -> list[tuple[str, str, bool, bool]]:
    repo = RecordingRepo()
    for e in events:
        process_event(
            e, repo, IdentityPolicy(), now=T0 + timedelta(hours=1), dedupe_window=timedelta(days=30)
        )
    return repo.records


def test_records_assertion_then_confirmation_both_steps():
    assert records(ASSERTED, confirmation(ASSERTED)) == [
        ("email.marketing", "browser_local", True, True),
        ("email.marketing", "consent_confirmation", True, False),
    ]


def test_records_the_same_assertion_again_is_a_restatement():
    again = identify(PUBLIC, EMAIL_ON, minutes=5, email="anna@example.com")
    assert records(ASSERTED, again) == [("email.marketing", "browser_local", True, True)]


def test_records_an_assertion_of_a_consent_granted_already_is_a_restatement():
    granted = identify(SERVER, EMAIL_ON, minutes=-60, email="anna@example.com")
    assert records(granted, ASSERTED) == [("email.marketing", "web_local", True, False)]


def test_records_an_assertion_for_another_address_is_a_new_step():
    other = identify(PUBLIC, EMAIL_ON, minutes=5, email="anna.new@example.com")
    assert records(ASSERTED, other) == [
        ("email.marketing", "browser_local", True, True),
        ("email.marketing", "browser_local", True, True),
    ]


CONSENT_STREAM = [
    ASSERTED,
    identify(PUBLIC, {"sms": {"marketing": True}}, minutes=1, phone="+79161234567"),
    identify(PUBLIC, {"email": {"marketing": False}}, minutes=5),
    confirmation(ASSERTED),
    identify(PUBLIC, EMAIL_ON, minutes=30, email="anna@example.com"),
    identify(UNSUBSCRIBE, {"sms": {"marketing": False}}, minutes=40),
]


@settings(max_examples=150, deadline=None)
@given(st.permutations(CONSENT_STREAM), st.lists(st.sampled_from(CONSENT_STREAM), max_size=6))
def test_any_order_of_assertions_confirmations_and_withdrawals_with_duplicates_gives_the_same_consent(
    order, duplicates
):
    expected = state_of(*CONSENT_STREAM)
    actual = state_of(*order, *duplicates)
    assert actual == expected
    assert view("p_1", actual).subscriptions == {"email": {"marketing": False}, "sms": {"marketing": False}}
    assert view("p_1", actual).pending_subscriptions == {"email": {"marketing": True}}  # asked again at 09:30


@pytest.mark.parametrize(
    ("key", "given", "own", "expected"),
    [
        ("email.marketing", "anna@example.com", "old@example.com", "anna@example.com"),
        ("email.marketing", None, "Old@Example.com", "old@example.com"),
        ("email.marketing", None, "not an address", None),
        ("sms.marketing", None, "+79161234567", "+79161234567"),
        ("sms.marketing", None, "8 916 123-45-67", None),  # not E.164: no number to text
        ("sms.marketing", None, None, None),
    ],
)
def test_address_to_ask_the_assertions_address_else_the_profiles_own_if_usable(key, given, own, expected):
    asserted = Stamped(
        value={"subscribed": True, "pending": True, **({"address": given} if given else {})}, at=T0, msg="a"
    )
    trait = ADDRESS_TRAIT[key.split(".")[0]]
    state = ProfileState(traits={trait: Stamped(value=own, at=T0, msg="t")} if own else {})
    assert address_to_ask(state, key, asserted) == expected
