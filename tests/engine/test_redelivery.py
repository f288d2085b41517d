"""At-least-once on the real engine: the profile commits before the triggers publish and the
marker is written last, so a delivery that fails in between comes again and must still end in
exactly one message."""

from __future__ import annotations

import pytest

from asusual.errors import TransientError
from asusual.store.queues import SqsIntentPublisher
from tests.engine.events import EMAIL_MARKETING, MOSCOW, identify, mine, order

pytestmark = pytest.mark.slow


@pytest.fixture
def publish_fails_once(monkeypatch):
    """The first intents publish fails (SQS unavailable) after the profile was committed."""
    published: list[list[str]] = []
    publish = SqsIntentPublisher.publish

    def flaky(self, intents):
        published.append([i.trigger for i in intents])
        if len(published) == 1:
            raise TransientError("the intents queue is unavailable; retry")
        return publish(self, intents)

    monkeypatch.setattr(SqsIntentPublisher, "publish", flaky)
    return published


def test_order_status_whose_intent_publish_failed_is_sent_once_after_the_redelivery(
    send, profile, outbox, publish_fails_once, items
):
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))  # no consent: no intent
    send("web_local_key", order("u-1", "Order Completed", "o-1", total=10, currency="RUB"))
    assert publish_fails_once == [["order_status"], ["order_status"]]  # failed, then the redelivery
    pid = profile("user_id", "u-1")["profile_id"]
    assert [m["trigger"] for m in mine(outbox, pid)] == ["order_placed"]
    assert items()[("ORDER#o-1", "ORDER")]["version"]["N"] == "1"


def test_welcome_whose_intent_publish_failed_is_sent_once_after_the_redelivery(
    send, profile, outbox, publish_fails_once
):
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
    )
    pid = profile("user_id", "u-1")["profile_id"]
    assert publish_fails_once[0] == ["welcome"]
    assert [m["trigger"] for m in mine(outbox, pid)] == ["welcome"]
