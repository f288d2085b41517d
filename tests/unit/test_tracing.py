"""The domain steps worth seeing in X-Ray open a subsegment of the package's one Tracer, and none of
them records what it returns or raises (customer data: addresses, identifiers, the message)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from asusual.content.render import ContentUnavailable, compose, default_pack
from asusual.delivery.dispatch import DispatchStatus, _send
from asusual.delivery.models import SendReceipt
from asusual.delivery.policy import addresses, choose_channel
from asusual.delivery.records import MessageRecord
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.identity.resolve import resolve
from asusual.observability import tracer
from asusual.profiles.processor import Outcome
from asusual.triggers.service import Processed, evaluate_triggers
from tests.unit.content import profile, request
from tests.unit.delivery import message
from tests.unit.delivery.test_policy import birthday_intent, state
from tests.unit.events import T0, event


class Subsegment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.metadata: list[tuple[Any, ...]] = []

    def put_metadata(self, *args: Any, **kwargs: Any) -> None:
        self.metadata.append((args, kwargs))

    def add_exception(self, *args: Any, **kwargs: Any) -> None:
        self.metadata.append(("exception", args, kwargs))


class Recorder:
    """Stands in for the X-Ray recorder: remembers each subsegment opened and what was put on it."""

    def __init__(self) -> None:
        self.opened: list[Subsegment] = []

    @contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any) -> Iterator[Subsegment]:
        subsegment = Subsegment(name or "")
        self.opened.append(subsegment)
        yield subsegment


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    fake = Recorder()
    monkeypatch.setattr(tracer, "provider", fake)
    return fake


class Sender:
    def send(self, outgoing: Any) -> SendReceipt:
        return SendReceipt(provider_id="ses-1")


class Messages:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def mark_sent(self, record: MessageRecord, provider_id: str | None) -> None:
        self.sent.append(record.message_id)


def run_every_step() -> None:
    resolve([Identifier(kind="email", value="anna@example.com")], {}, {}, IdentityPolicy())
    evaluate_triggers(Processed(outcome=Outcome(profile_id=None)), event(), Outcome(profile_id="p_1"),
                      SimpleNamespace(news_max_age=None, interests=None, timers=None), T0)  # fmt: skip
    customer = state()
    choice = choose_channel(birthday_intent(), customer, None, addresses(customer, ()))
    assert choice.reason == "no_channel"
    assert compose(default_pack(), request("birthday", "email", profile(first_name="Анна"))).body
    outgoing = message()
    record = MessageRecord.model_construct(message_id="m_1", channel="email")
    messages = Messages()
    deps = SimpleNamespace(senders={outgoing.channel: Sender()}, messages=messages)
    assert _send(record, outgoing, deps).status is DispatchStatus.SENT  # type: ignore[arg-type]
    assert messages.sent == ["m_1"]


def test_domain_steps_each_open_one_subsegment_in_order(recorder: Recorder):
    run_every_step()
    assert [s.name for s in recorder.opened] == [
        "## asusual.identity.resolve.resolve",
        "## asusual.triggers.service.evaluate_triggers",
        "## asusual.delivery.policy.choose_channel",
        "## asusual.content.render.compose",
        "## asusual.delivery.dispatch._send",
    ]


def test_domain_steps_put_nothing_they_return_on_the_trace(recorder: Recorder):
    run_every_step()
    assert [(s.name, s.metadata) for s in recorder.opened if s.metadata] == []


def test_domain_step_that_raises_puts_nothing_it_raised_on_the_trace(recorder: Recorder):
    with pytest.raises(
        ContentUnavailable, match=r"^the content pack has no template no_such_trigger\.email$"
    ):
        compose(default_pack(), request("no_such_trigger", "email", profile(email="anna@example.com")))
    assert [(s.name, s.metadata) for s in recorder.opened] == [("## asusual.content.render.compose", [])]
