"""The consent_confirmation trigger and the welcome around it (pure, on an in-memory repository):
a public source's opt-in asks the address once a local day; only the confirmation welcomes."""

from datetime import UTC, datetime, timedelta

from asusual.identity.models import IdentityPolicy
from asusual.intake.models import IntakeEvent
from asusual.profiles.consent import Assertion, confirmation_context
from asusual.profiles.processor import Outcome, process_event
from asusual.triggers.models import ConsentConfirmationFacts, Topic
from asusual.triggers.service import confirmation_intents, welcome_intent

from ..events import SOURCES, event
from ..profiles.test_processor import MemoryRepo

T0 = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 23:30 in Moscow: the local day ends at 21:00 UTC
PUBLIC, SERVER, CONFIRMATION = "browser", "web", "confirmation"
MAX_AGE = timedelta(hours=72)


def identify(source=PUBLIC, *, minutes=0, message_id=None, subscriptions=None, context=None, **traits):
    subscriptions = subscriptions or {"email": {"marketing": True}}
    traits = {"timezone": "Europe/Moscow", **traits, "subscriptions": subscriptions}
    message_id = message_id or f"{SOURCES[source].source_id}-{minutes}"
    return event(source=source, minutes=minutes, message_id=message_id, start=T0, user_id="u-anna",
                 traits=traits, context=context or {})  # fmt: skip


class Story:
    """Events applied in turn to one repository; each step's outcome as the triggers see it."""

    def __init__(self):
        self.repo = MemoryRepo()

    def apply(self, event: IntakeEvent) -> Outcome:
        return process_event(
            event, self.repo, IdentityPolicy(), now=event.received_at, dedupe_window=timedelta(days=30)
        )

    def asks(self, event: IntakeEvent):
        return confirmation_intents(event, self.apply(event), event.received_at, MAX_AGE, "RU")


def test_confirmation_intents_public_opt_in_asks_the_address_transactionally():
    event = identify(email="anna@example.com")
    [intent] = Story().asks(event)
    assert intent.topic is Topic.TRANSACTIONAL
    assert intent.facts == ConsentConfirmationFacts(
        channel="email",
        topic="marketing",
        asserted_at=T0,
        source_id="browser_local",
        message_id="browser_local-0",
    )
    assert intent.send_once_key.startswith("consent_confirmation:email:")
    assert intent.send_once_key.endswith(":2026-11-23") and "anna" not in intent.send_once_key


def test_confirmation_intents_again_the_same_local_day_has_the_same_send_once_key():
    story = Story()
    [first] = story.asks(identify(email="anna@example.com"))
    [again] = story.asks(identify(minutes=20, email="anna@example.com"))  # 23:50 in Moscow
    assert again.send_once_key == first.send_once_key and again.facts.message_id == "browser_local-20"


def test_confirmation_intents_the_next_local_day_has_another_key():
    story = Story()
    [first] = story.asks(identify(email="anna@example.com"))
    [next_day] = story.asks(identify(minutes=31, email="anna@example.com"))  # 00:01 in Moscow
    assert next_day.send_once_key.endswith(":2026-11-24") and next_day.send_once_key != first.send_once_key


def test_confirmation_intents_another_address_the_same_day_has_another_key():
    story = Story()
    [first] = story.asks(identify(email="anna@example.com"))
    [corrected] = story.asks(identify(minutes=1, email="anna.ivanova@example.com"))
    assert corrected.send_once_key != first.send_once_key


def test_confirmation_intents_without_the_address_in_the_event_use_the_profiles_own():
    story = Story()
    story.apply(identify(SERVER, subscriptions={"email": {"transactional": True}}, email="anna@example.com"))
    [intent] = story.asks(identify(minutes=1))
    [with_address] = Story().asks(identify(minutes=1, email="anna@example.com"))
    assert intent.send_once_key == with_address.send_once_key


def test_confirmation_intents_nothing_without_any_address():
    assert Story().asks(identify()) == []


def test_confirmation_intents_nothing_for_a_consent_granted_already_or_a_server_side_one():
    story = Story()
    assert story.asks(identify(SERVER, email="anna@example.com")) == []
    assert story.asks(identify(minutes=1)) == []


def test_confirmation_intents_nothing_for_an_assertion_too_old_on_arrival():
    old = identify(email="anna@example.com").model_copy(
        update={"received_at": T0 + MAX_AGE + timedelta(minutes=1)}
    )
    assert Story().asks(old) == []


def test_welcome_intent_none_for_the_assertion_and_one_for_its_confirmation():
    story = Story()
    asserted = identify(email="anna@example.com")
    assert welcome_intent(asserted, story.apply(asserted), T0, MAX_AGE) is None
    assertion = Assertion(at=T0, message_id=asserted.message_id, source_id="browser_local")
    confirmed = identify(
        CONFIRMATION, minutes=10, message_id="consent-confirmation-1", context=confirmation_context(assertion)
    )
    outcome = story.apply(confirmed)
    welcome = welcome_intent(confirmed, outcome, confirmed.received_at, MAX_AGE)
    assert welcome is not None and welcome.topic is Topic.MARKETING
    assert (welcome.facts.channels, welcome.facts.source_id) == (("email",), "consent_confirmation")
    assert welcome.facts.subscribed_at == T0 + timedelta(minutes=10)
    assert confirmation_intents(confirmed, outcome, confirmed.received_at, MAX_AGE, "RU") == []
