"""The consent changes a customer makes on the pages, as events the processor applies: who they
name and how, and where the naming lands in the event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from asusual.access.models import Channel
from asusual.delivery.explain import address_identifier, consent_event, customer_identifier, event_id
from asusual.identity.extract import extract
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "identifier",
    [
        Identifier(kind="user_id", value="u-anna"),
        Identifier(kind="email", value="anna@example.com"),
        Identifier(kind="phone", value="+79161234567"),
        Identifier(kind="loyalty_card", value="L-7"),
        Identifier(kind="device_id", value="d-1"),
        Identifier(kind="anonymous_id", value="a-1"),
    ],
)
def test_consent_event_names_the_customer_where_the_processor_reads_that_identifier(identifier):
    event = consent_event(
        source_id="preference_center",
        channel=Channel.WEB,
        identifier=identifier,
        changes={"sms": {"marketing": True}},
        event_id="preferences-1",
        now=NOW,
    )
    assert extract(event, IdentityPolicy()).linking == [identifier]
    assert (event.traits, event.source.customer, event.timestamp, event.received_at) == (
        {"subscriptions": {"sms": {"marketing": True}}},
        True,
        NOW,
        NOW,
    )


def test_customer_identifier_is_the_profiles_strongest():
    ids = [Identifier(kind="anonymous_id", value="a-1"), Identifier(kind="phone", value="+79161234567"),
           Identifier(kind="email", value="anna@example.com")]  # fmt: skip
    profile = Profile(
        profile_id="p_1", created_at=NOW, parts={"p_1": ProfileState(identifiers=frozenset(ids))}
    )
    assert customer_identifier(profile) == Identifier(kind="email", value="anna@example.com")
    assert customer_identifier(Profile(profile_id="p_2", created_at=NOW)) is None


@pytest.mark.parametrize(
    ("channel", "address", "expected"),
    [
        ("email", "anna@example.com", Identifier(kind="email", value="anna@example.com")),
        ("sms", "+79161234567", Identifier(kind="phone", value="+79161234567")),
        ("push", "arn:aws:sns:endpoint/1", None),
        ("email", None, None),
    ],
)
def test_address_identifier_is_the_address_of_an_email_or_sms(channel, address, expected):
    assert address_identifier(channel, address) == expected


def test_event_id_is_stable_for_the_same_parts_and_differs_otherwise():
    assert event_id("unsubscribe", "m_1", "email", NOW.isoformat()) == event_id(
        "unsubscribe", "m_1", "email", NOW.isoformat()
    )
    assert event_id("unsubscribe", "m_1", "email", "a") != event_id("unsubscribe", "m_1", "email", "b")
    assert event_id("preferences", "x").startswith("preferences-") and len(event_id("preferences", "x")) == 44
