"""Confirmed opt-in through the dispatcher and the link (pure, on the in-memory fakes): the
confirmation goes to the address asked, transactionally, with a link that carries ids only; the
link's POST becomes the consent event; nothing else opens it."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from asusual.content.render import default_pack
from asusual.delivery.confirmation import open_confirmation
from asusual.delivery.dispatch import DispatchDeps, DispatchStatus, dispatch
from asusual.delivery.links import LinkSigner
from asusual.delivery.models import DeliveryChannel, OutgoingMessage, SendReceipt
from asusual.delivery.policy import consent_for
from asusual.delivery.tokens import LinkPurpose, verify_link
from asusual.errors import Forbidden
from asusual.profiles.consent import CONFIRMATION_SOURCE, confirmed_assertion
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, Stamped
from asusual.triggers.models import ConsentConfirmationFacts, Topic, make_intent

from .fakes import FakeCatalog, FakeDecisions, FakeMessages, FakeProfiles, SimClock

NOW = datetime(2027, 3, 5, 23, 30, tzinfo=UTC)  # 02:30 in Moscow: quiet hours hold no transactional message
SECRETS = (b"k",)
ASSERTED_AT = NOW - timedelta(minutes=1)
FACTS = ConsentConfirmationFacts(
    channel="email", asserted_at=ASSERTED_AT, source_id="browser_local", message_id="m-asserted"
)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(provider_id=None)


def stamped(value, msg="t-1", at=ASSERTED_AT, **kw):
    return Stamped(value=value, at=at, msg=msg, **kw)


def customer(**subscriptions: Stamped) -> ProfileState:
    asserted = {
        "subscribed": True,
        "source_id": "browser_local",
        "pending": True,
        "address": "anna@example.com",
    }
    return ProfileState(
        traits={"email": stamped("old@example.com"), "timezone": stamped("Europe/Moscow")},
        pending_consents={"email.marketing": stamped(asserted, msg="m-asserted")},
        subscriptions=subscriptions,
    )


def deps(state: ProfileState) -> tuple[DispatchDeps, FakeMessages, Outbox]:
    profiles, messages, outbox, clock = FakeProfiles(), FakeMessages(), Outbox(), SimClock(NOW)
    profiles.put(Profile(profile_id="p_1", created_at=NOW, parts={"p_1": state}))
    catalog = FakeCatalog(clock, [], {})
    links = LinkSigner(base_url="https://shop.example", secrets=SECRETS, ttl=timedelta(days=90))
    made = DispatchDeps(
        profiles=profiles,
        messages=messages,
        decisions=FakeDecisions(clock),
        catalog=catalog,
        offers=catalog,
        senders={DeliveryChannel.EMAIL: outbox, DeliveryChannel.SMS: outbox},
        pack=default_pack(),
        links=links,
    )
    return made, messages, outbox


def intent(facts=FACTS):
    return make_intent("p_1", Topic.TRANSACTIONAL, "consent_confirmation:email:abc:2027-03-06", facts, NOW)


def link_in(body: str) -> str:
    [url] = [word for word in body.split() if "/v1/consent/confirm" in word]
    return url


def sent_confirmation() -> tuple[FakeMessages, OutgoingMessage]:
    made, messages, outbox = deps(customer())
    result = dispatch(intent(), made, NOW)
    assert result.status is DispatchStatus.SENT, result
    [message] = outbox.sent
    return messages, message


def token(message: OutgoingMessage) -> str:
    return parse_qs(urlsplit(link_in(message.body)).query)["token"][0]


def test_dispatch_confirmation_goes_at_once_to_the_asserted_address_with_a_link_of_ids_only():
    messages, message = sent_confirmation()
    assert (message.to, message.trigger, message.topic, message.unsubscribe_url) == (
        "anna@example.com", "consent_confirmation", "transactional", None
    )  # fmt: skip
    assert message.sent_at == NOW  # 02:30 local: a confirmation is not held for the morning
    claims = verify_link(token(message), SECRETS, purpose=LinkPurpose.CONFIRM_CONSENT, now=NOW)
    assert (claims.message_id, claims.profile_id, claims.channel, claims.topic, claims.to) == (
        message.id, "p_1", "email", "marketing", None
    )  # fmt: skip
    assert "anna" not in link_in(message.body)
    assert messages.ledgers == {}  # transactional: no cap counted
    record = messages.records[message.id]
    assert record.explanation.channel_reason == "requested_address"
    assert record.explanation.consent is not None and record.explanation.consent.basis == "no_opt_out"


@pytest.mark.parametrize(
    ("subscriptions", "reason"),
    [
        ({"email.transactional": stamped({"subscribed": False}, msg="o")}, "no_channel"),
        ({"email.marketing": stamped({"subscribed": True}, msg="g")}, "not_pending"),
        ({"email.marketing": stamped({"subscribed": False}, msg="w", at=NOW)}, "not_pending"),
    ],
    ids=["opted_out_of_transactional", "granted_meanwhile", "withdrawn_meanwhile"],
)
def test_dispatch_confirmation_skipped_when_it_may_not_or_need_not_go(subscriptions, reason):
    made, _, outbox = deps(customer(**subscriptions))
    result = dispatch(intent(), made, NOW)
    assert (result.status, result.reason) == (DispatchStatus.SKIPPED, reason)
    assert outbox.sent == []


def test_open_confirmation_makes_the_customers_consent_event_naming_the_address():
    messages, message = sent_confirmation()
    later = NOW + timedelta(minutes=10)
    opened = open_confirmation(messages, token(message), SECRETS, later)
    assert opened.locale == "ru" and opened.event is not None
    event = opened.event
    source = event.source
    assert (source.source_id, source.channel.value, source.customer, source.public) == (
        CONFIRMATION_SOURCE, "email", True, False
    )  # fmt: skip
    assert event.traits == {"subscriptions": {"email": {"marketing": True}}}
    assert event.context["externalIds"] == [
        {"type": "email", "id": "anna@example.com", "collection": "users"}
    ]
    assert event.timestamp == later and event.received_at == later
    assertion = confirmed_assertion(event)
    assert assertion is not None
    assert (assertion.at, assertion.message_id, assertion.source_id) == (
        ASSERTED_AT,
        "m-asserted",
        "browser_local",
    )
    again = open_confirmation(messages, token(message), SECRETS, later + timedelta(days=3))
    assert again.event is not None and again.event.message_id == event.message_id  # the same link, one event


def test_open_confirmation_of_a_message_no_longer_held_confirms_nothing():
    messages, message = sent_confirmation()
    messages.records.clear()
    opened = open_confirmation(messages, token(message), SECRETS, NOW)
    assert (opened.event, opened.locale) == (None, None)


def test_open_confirmation_other_links_are_refused():
    messages, message = sent_confirmation()
    links = LinkSigner(base_url="https://shop.example", secrets=SECRETS, ttl=timedelta(days=90))
    unsubscribe = parse_qs(
        urlsplit(links.unsubscribe_url(message.id, "p_1", "email", "marketing", NOW)).query
    )
    cases = {
        "forged": (f"{token(message)}x", NOW),
        "another_purpose": (unsubscribe["token"][0], NOW),
        "expired": (token(message), NOW + timedelta(days=91)),
    }
    codes = {}
    for name, (text, now) in cases.items():
        with pytest.raises(Forbidden) as refused:
            open_confirmation(messages, text, SECRETS, now)
        codes[name] = refused.value.code
    assert codes == {"forged": "invalid_link", "another_purpose": "wrong_link", "expired": "link_expired"}


def test_consent_for_a_confirmed_opt_in_is_its_basis_with_the_confirmation_time():
    confirmed = {
        "subscribed": True,
        "source_id": CONFIRMATION_SOURCE,
        "confirmed_at": "2027-03-05T23:40:00+00:00",
        "confirms": {"at": ASSERTED_AT.isoformat(), "message_id": "m-asserted", "source_id": "browser_local"},
    }
    state = ProfileState(
        subscriptions={"email.marketing": stamped(confirmed, at=ASSERTED_AT + timedelta(microseconds=1))}
    )
    basis, why = consent_for(state, DeliveryChannel.EMAIL, Topic.MARKETING)
    assert why == "ok" and basis is not None
    assert (basis.basis, basis.at, basis.source_id) == (
        "confirmed_opt_in", datetime(2027, 3, 5, 23, 40, tzinfo=UTC), CONFIRMATION_SOURCE
    )  # fmt: skip
