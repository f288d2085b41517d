"""`make demo`: the story holds its expectations, prints what each customer got, and exits non-zero
when an expectation fails."""

import io
import json
import re
from dataclasses import dataclass

import pytest

from asusual.local import demo

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class DemoRun:
    status: int
    text: str  # what it printed: the story
    log: str  # the file it named: the handlers' JSON logs and metrics


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> DemoRun:
    """`make demo` played once (it takes a minute or more); the tests below each check a part of
    that one run (xdist runs a module on one worker: `make` passes --dist loadfile)."""
    out = io.StringIO()
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    status = demo.main(["--log", str(log)], out=out)
    return DemoRun(status, out.getvalue(), log.read_text(encoding="utf-8"))


def test_demo_story_holds_every_expectation(demo_run):
    assert demo_run.status == 0, demo_run.text
    assert "demo passed" in demo_run.text and "FAIL" not in demo_run.text


def test_demo_prints_each_customers_table(demo_run):
    text = demo_run.text
    for person in demo.PEOPLE.values():
        assert f"\n{person.name} · " in text
    assert text.count("local time        channel") == len(demo.PEOPLE)


def test_demo_privacy_request_comes_after_the_tables_and_its_three_checks_hold(demo_run):
    # the privacy request comes after the tables (her why links stop opening) and is checked too
    text = demo_run.text
    privacy = text.index("Vera asks what is held about her")
    assert privacy > text.rindex("local time        channel") and text.count("    ok   ", privacy) == 3


def test_demo_handler_output_goes_to_the_log_file_one_json_document_a_line_not_to_the_story(demo_run):
    records = [json.loads(line) for line in demo_run.log.splitlines() if line.startswith("{")]
    assert len(records) > 100
    assert any(r.get("message") == "intent dispatched" for r in records)
    assert '"_aws"' not in demo_run.text and '"level"' not in demo_run.text


def test_demo_log_holds_no_address_phone_number_or_name_of_the_storys_people(demo_run):
    personal = ["@example.com", "+7903", "+7916", "903 555", "916 200", "555-12-34", "200-30-40"]
    personal += ["Тверская", "125009", "кв. 12"]  # Boris's postal address
    personal += [part for person in demo.PEOPLE.values() for part in person.name.split()]
    assert [p for p in personal if _appears(p, demo_run.log)] == []


def _appears(value: str, text: str) -> bool:
    """Whether `value` is in `text`; a bare number (the postcode) only as a number of its own, not as
    six digits inside a request id, a trace id or an epoch timestamp, where 125009 turns up by chance
    about once in a hundred runs and is not a leak."""
    if not value.isdigit():
        return value in text
    return re.search(rf"(?<![0-9A-Za-z]){value}(?![0-9A-Za-z])", text) is not None


def test_demo_exits_non_zero_and_names_the_expectation_that_failed(tmp_path, monkeypatch):
    def play(story):
        story.expect(True, "a kept promise")
        story.expect(False, "a planted broken promise")

    monkeypatch.setattr(demo.Story, "play", play)
    monkeypatch.setattr(demo, "report", lambda story: None)
    monkeypatch.setattr(demo.Story, "forget_vera", lambda story: None)
    out = io.StringIO()
    assert demo.main(["--log", str(tmp_path / "demo.log")], out=out) == 1
    text = out.getvalue()
    assert "demo FAILED" in text and "1 of 2 expectations failed" in text
    assert "- a planted broken promise" in text


def test_demo_stops_with_a_failure_when_the_stack_answers_an_error(tmp_path, monkeypatch):
    def play(story):
        story.api.ok("GET", "/v1/profiles/user_id/x", None)  # no key: 401

    monkeypatch.setattr(demo.Story, "play", play)
    out = io.StringIO()
    assert demo.main(["--log", str(tmp_path / "demo.log")], out=out) == 1
    assert "the story stopped: GET /v1/profiles/user_id/x answered 401" in out.getvalue()
