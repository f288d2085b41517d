"""TransactWriteItems on the real engine: a merge, an unmerge and an interval count are all or
nothing, and a cancelled transaction's reasons map to the project's Conflict / duplicate outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from asusual.errors import Conflict
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.intake.models import EventType, IntakeEvent, SourceContext
from asusual.profiles.birthday import BirthdayEntry
from asusual.profiles.model import MergeRecord, Profile, new_profile_id
from asusual.profiles.processor import ProfileChange, process_event
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.triggers import DynamoTriggerRepository
from tests.engine.events import EMAIL_MARKETING, MOSCOW, Rendezvous, concurrently, identify, mine, order

pytestmark = pytest.mark.slow


def test_profile_merge_by_an_identify_with_both_identifiers_leaves_one_profile_and_unmerge_restores_two(
    send, intents, profile, profiles_api, items, ddb, table
):
    send("web_local_key", {"type": "identify", "userId": "u-1", "messageId": "a-1",
                           "traits": {"email": "anna@example.com", "firstName": "Анна"}})  # fmt: skip
    send("app_local_key", {"type": "identify", "anonymousId": "device-1", "messageId": "b-1",
                           "traits": {"email": "anna.phone@example.com", "birthday": "1990-03-05",
                                      "timezone": MOSCOW, "subscriptions": EMAIL_MARKETING}})  # fmt: skip
    survivor, absorbed = new_profile_id("a-1"), new_profile_id("b-1")
    assert profile("user_id", "u-1")["profile_id"] == survivor
    assert profile("anonymous_id", "device-1")["profile_id"] == absorbed
    assert items()[(f"PROFILE#{absorbed}", "BIRTHDAY")]["gsi1pk"]["S"] == "BIRTHDAY#03-05"

    send(
        "app_local_key", {"type": "identify", "userId": "u-1", "anonymousId": "device-1", "messageId": "c-1"}
    )
    for kind, value in [("user_id", "u-1"), ("email", "anna@example.com"), ("anonymous_id", "device-1"),
                        ("email", "anna.phone@example.com")]:  # fmt: skip
        assert profile(kind, value)["profile_id"] == survivor, (kind, value)
    merged = items()
    repo = DynamoProfileRepository(ddb, table)
    tombstone = repo.load({absorbed})[absorbed]
    assert tombstone.merged_into == survivor and tombstone.parts == {}
    assert [sk for pk, sk in merged if pk == f"PROFILE#{survivor}" and sk.startswith("MERGE#")] != []
    # the birthday entry moved with the merge, in the same transaction: one entry, the survivor's
    assert [pk for pk, sk in merged if sk == "BIRTHDAY"] == [f"PROFILE#{survivor}"]
    # claims are not rewritten by a merge: the absorbed identifiers' claims still name the tombstone
    assert merged[("ID#anonymous_id#device-1", "ID")]["profile_id"]["S"] == absorbed

    answer = profiles_api(
        "POST", f"/v1/profiles/{survivor}/unmerge", {"merged_profile_id": absorbed}, key="admin_local_key"
    )
    assert answer.status == 200, answer.body
    assert profile("user_id", "u-1")["profile_id"] == survivor
    assert profile("email", "anna@example.com")["profile_id"] == survivor
    assert profile("anonymous_id", "device-1")["profile_id"] == absorbed
    assert profile("email", "anna.phone@example.com")["profile_id"] == absorbed
    restored = items()
    assert repo.load({absorbed})[absorbed].merged_into is None
    assert [pk for pk, sk in restored if sk == "BIRTHDAY"] == [f"PROFILE#{absorbed}"]


def test_profile_commit_whose_claim_is_taken_writes_nothing_and_raises_conflict(
    send, ddb, table, items, engine
):
    send("web_local_key", {"type": "identify", "userId": "u-1", "traits": {"email": "taken@example.com"}})
    before = items()
    now = engine.clock.now()
    repo = DynamoProfileRepository(ddb, table)
    change = ProfileChange(
        profile=Profile(profile_id="p_new", version=1, created_at=now),
        expected_version=None,
        claims=[
            Identifier(kind="user_id", value="u-new"),
            Identifier(kind="email", value="taken@example.com"),
        ],
        merges=[MergeRecord(absorbed_id="p_gone", at=now, message_id="m-1", event_time=now, identifiers=())],
        birthdays={"p_new": BirthdayEntry(birthday=date(1990, 3, 5), zones=(MOSCOW,))},
    )
    with pytest.raises(Conflict):
        repo.commit(change)
    assert items() == before  # not the profile, not the free claim, not the merge record, not the entry


def test_profile_events_applied_at_once_are_all_kept_by_the_versioned_transaction(
    send, ddb, table, engine, profile
):
    send("web_local_key", {"type": "identify", "userId": "u-1"})
    source = SourceContext(source_id="web_local", channel="web", country="RU")
    now = engine.clock.now()
    all_read = Rendezvous(parties=4)
    commits: list[str] = []

    class ReadTogether(DynamoProfileRepository):
        def load(self, profile_ids):
            loaded = super().load(profile_ids)
            all_read.meet()  # all four have read the same version before any commits
            return loaded

        def commit(self, change):
            commits.append(change.profile.profile_id)
            super().commit(change)

    repo = ReadTogether(ddb, table)
    events = [
        IntakeEvent(message_id=f"t-{n}", type=EventType.IDENTIFY, source=source, user_id="u-1",
                    traits={f"trait_{n}": n}, timestamp=now, received_at=now)
        for n in range(4)
    ]  # fmt: skip

    def apply(event: IntakeEvent):
        return lambda: process_event(event, repo, IdentityPolicy(), now=now, dedupe_window=timedelta(days=30))

    concurrently(*(apply(e) for e in events))
    assert all_read.met and len(commits) >= 4 + 3  # three lost the first round and retried
    assert {f"trait_{n}" for n in range(4)} <= set(profile("user_id", "u-1")["traits"])


def test_interval_observation_counted_once_with_its_counters_in_one_transaction(ddb, table, items):
    repo = DynamoTriggerRepository(ddb, table)
    expires = datetime(2027, 12, 1, tzinfo=UTC)
    keys = ["product#food-1", "category#pets"]
    assert repo.record_interval("p_1#food-1#2026-11-23", keys, 26.0, expires) is True
    assert repo.record_interval("p_1#food-1#2026-11-23", keys, 26.0, expires) is False  # a redelivery
    assert repo.record_interval("p_2#food-1#2026-11-20", keys[:1], 30.0, expires) is True
    stored = items()
    assert stored[("STATS#product#food-1", "STATS")]["n"]["N"] == "2"
    assert stored[("STATS#category#pets", "STATS")]["n"]["N"] == "1"
    population = repo.population(keys)
    assert set(population) == set(keys)


def test_reservation_resent_by_the_sdk_after_a_lost_answer_still_sends_the_message_once(
    send, profile, outbox, ddb, items
):
    """botocore gives every TransactWriteItems a ClientRequestToken and resends the same one when an
    answer is lost; DynamoDB (and DynamoDB Local) then answers the resend as the first call. (moto
    ignores the token: there the resend fails its own send-once condition, and the message would
    never go out.)"""
    send("web_local_key", identify("u-1", email="u1@example.com", timezone=MOSCOW))
    resent: list[int] = []

    def lose_the_first_answer(request_dict, attempts, **_):
        if not resent and attempts == 1 and b"SEND#order:o-1:placed" in request_dict["body"]:
            resent.append(attempts)
            return 0  # retry at once, as after a timeout; the first call did commit
        return None

    ddb.meta.events.register_first("needs-retry.dynamodb.TransactWriteItems", lose_the_first_answer)
    try:
        send("web_local_key", order("u-1", "Order Completed", "o-1", total=10, currency="RUB"))
    finally:
        ddb.meta.events.unregister("needs-retry.dynamodb.TransactWriteItems", lose_the_first_answer)
    assert resent == [1]
    pid = profile("user_id", "u-1")["profile_id"]
    [sent] = mine(outbox, pid)
    assert sent["send_once_key"] == "order:o-1:placed"
    assert items()[("SEND#order:o-1:placed", "SEND")]["status"]["S"] == "sent"


def test_retryable_channel_failure_releases_the_reservation_in_one_transaction_and_the_retry_sends_once(
    send, profile, outbox, ddb, table, items, monkeypatch
):
    from asusual.channels.outbox import OUTBOX
    from asusual.errors import TransientError
    from asusual.store.messages import DynamoMessageRepository

    append = type(OUTBOX).append
    attempts: list[str] = []

    def flaky(self, record):
        attempts.append(record["id"])
        if len(attempts) == 1:
            raise TransientError("the channel is unavailable; retry")
        return append(self, record)

    monkeypatch.setattr(type(OUTBOX), "append", flaky)
    send(
        "web_local_key",
        identify("u-1", email="u1@example.com", timezone=MOSCOW, subscriptions=EMAIL_MARKETING),
    )
    pid = profile("user_id", "u-1")["profile_id"]
    [welcome] = mine(outbox, pid)
    assert attempts == [welcome["id"], welcome["id"]]  # released, then sent by the queue's retry
    ledger = DynamoMessageRepository(ddb, table).caps(pid)
    assert list(ledger.sends) == [welcome["id"]]  # the released slot was given back, then taken once
    assert items()[(f"SEND#welcome:{pid}", "SEND")]["status"]["S"] == "sent"
