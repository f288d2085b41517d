"""Erasure's order of steps, its passes and its resumption, on an in-memory repository (the
DynamoDB adapter is covered on moto in tests/integration/test_privacy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from asusual.errors import NotFound
from asusual.identity.models import Identifier, IdentityPolicy
from asusual.privacy.models import ErasureRecord, ErasureStatus, Footprint, HeldItem, SuppressionKeys
from asusual.privacy.service import erase, export, footprint, lift_suppression
from asusual.profiles.processor import process_event, unmerge

from ..events import event
from ..profiles.test_processor import MemoryRepo

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=30)
EMAIL = Identifier(kind="email", value="anna@example.com")
KEYS = SuppressionKeys([b"unit-test-suppression-key"])


def suppression_hash(identifier: Identifier) -> str:
    return KEYS.current(identifier)


class MemoryPrivacy(MemoryRepo):
    """The processor's memory repository plus what erasure needs; ``log`` records the order of
    the steps, ``before_delete`` runs once before the next delete (a concurrent event)."""

    def __init__(self):
        super().__init__()
        self.erasures: dict[str, ErasureRecord] = {}
        self.suppressed_hashes: dict[str, str] = {}
        self.log: list[str] = []
        self.before_delete = None
        self.crash_after_claims = False

    def suppressed(self, identifiers):
        return any(suppression_hash(i) in self.suppressed_hashes for i in identifiers)

    def held(self, found: Footprint, now):
        items = [
            HeldItem(kind="profile", pk=f"PROFILE#{p}", sk="PROFILE", attributes={}, version=profile.version)
            for p, profile in sorted(self.profiles.items())
            if p in found.profile_ids
        ]
        items += [
            HeldItem(kind="identifier", pk=f"ID#{i.key()}", sk="ID", attributes={}, owner=owner)
            for i, owner in sorted(self.claims.items(), key=lambda c: str(c[0]))
            if owner in found.profile_ids
        ]
        return items

    def delete(self, items):
        self.log.append("delete")
        if self.before_delete is not None:
            hook, self.before_delete = self.before_delete, None
            hook()
        deleted = []
        for item in sorted(items, key=lambda i: i.kind != "identifier"):  # claims first
            if item.kind == "identifier":
                identifier = next(i for i in self.claims if f"ID#{i.key()}" == item.pk)
                if self.claims.get(identifier) == item.owner:
                    del self.claims[identifier]
                    deleted.append(item)
            else:
                pid = item.pk.removeprefix("PROFILE#")
                if pid in self.profiles and self.profiles[pid].version == item.version:
                    if self.crash_after_claims:
                        raise RuntimeError("the function timed out")
                    del self.profiles[pid]
                    deleted.append(item)
        return deleted

    def suppress(self, identifiers, erasure_id, now):
        self.log.append("suppress")
        new = [h for h in map(suppression_hash, identifiers) if h not in self.suppressed_hashes]
        self.suppressed_hashes.update({h: erasure_id for h in new})
        return len(new)

    def lift_suppression(self, identifier):
        return self.suppressed_hashes.pop(suppression_hash(identifier), None) is not None

    def suppressed_by(self, identifier):
        return self.suppressed_hashes.get(suppression_hash(identifier))

    def save_erasure(self, record):
        self.log.append(f"audit:{record.status}")
        self.erasures[record.erasure_id] = record

    def erasure(self, erasure_id):
        return self.erasures.get(erasure_id)


STORY = [
    event("page", minutes=0, message_id="e0", anonymous_id="anon-1"),
    event(source="email", minutes=1, message_id="e1", anonymous_id="esp-1",
          traits={"email": "anna@example.com"}),
    # she signs in on the site: the visitor and the email contact are one person
    event(minutes=2, message_id="e2", user_id="u-1", anonymous_id="anon-1",
          traits={"email": "anna@example.com", "firstName": "Анна", "phone": "+7 916 123-45-67"}),
    event("track", minutes=3, message_id="e3", user_id="u-1", event="Order Completed",
          properties={"order_id": "R-1", "total": 1290, "currency": "RUB",
                      "products": [{"product_id": "food-1", "price": 1290}]}),
    event(minutes=4, message_id="e4", user_id="u-2", traits={"email": "boris@example.com"}),
]  # fmt: skip


@pytest.fixture
def repo():
    memory = MemoryPrivacy()
    for e in STORY:
        process_event(e, memory, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    return memory


def test_footprint_of_a_merged_person_covers_every_part_order_and_event(repo):
    live = repo.profiles[repo.claims[Identifier(kind="user_id", value="u-1")]]
    found = footprint([live])
    assert found.profile_ids == set(live.parts) | {live.profile_id} and len(found.profile_ids) == 2
    assert found.order_ids == {"R-1"} and found.purchases == {("food-1", "2026-11-01T09:03:00+00:00")}
    # the events whose stamps the profile holds (e1's email was restated by e2)
    assert {"e2", "e3"} <= found.message_ids and "e4" not in found.message_ids
    assert {EMAIL, Identifier(kind="anonymous_id", value="esp-1")} <= found.identifiers
    assert Identifier(kind="user_id", value="u-2") not in found.identifiers


def test_erasure_writes_the_audit_record_then_suppresses_then_deletes(repo):
    record = erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="key123")
    assert repo.log[:3] == ["audit:in_progress", "suppress", "audit:in_progress"]
    assert repo.log.index("suppress") < repo.log.index("delete")
    assert repo.log[-1] == "audit:completed"
    assert record.status is ErasureStatus.COMPLETED and record.pending_profile_ids == ()
    assert record.identifiers_suppressed == len(repo.suppressed_hashes) == 5
    assert record.profiles == 2 and record.requested_by == "key123" and record.identifier_type == "email"
    assert list(repo.profiles) == [repo.claims[Identifier(kind="user_id", value="u-2")]]  # Boris stays
    assert "anna" not in record.model_dump_json().lower()


def test_an_event_applied_during_the_erasure_takes_another_pass_and_its_identifier_is_suppressed(repo):
    late = event(minutes=9, message_id="late", user_id="u-1", traits={"email": "anna.new@example.com"})
    repo.before_delete = lambda: process_event(late, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    record = erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="key123")
    assert record.rounds >= 3 and len(repo.profiles) == 1 and len(repo.claims) == 2  # Boris
    assert suppression_hash(Identifier(kind="email", value="anna.new@example.com")) in repo.suppressed_hashes


def test_an_erasure_interrupted_after_the_claims_went_is_finished_by_the_retry(repo):
    repo.crash_after_claims = True
    with pytest.raises(RuntimeError):
        erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="key123")
    assert EMAIL not in repo.claims and len(repo.profiles) == 3  # hers are not found by email
    repo.crash_after_claims = False
    record = erase(repo, EMAIL, clock_now=lambda: NOW + timedelta(seconds=30), requested_by="key123")
    assert record.status is ErasureStatus.COMPLETED and len(repo.profiles) == 1
    assert erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="other") == record  # asked again


def test_erasure_and_export_of_an_unknown_identifier_are_not_found(repo):
    nobody = Identifier(kind="email", value="nobody@example.com")
    with pytest.raises(NotFound, match="email"):
        erase(repo, nobody, clock_now=lambda: NOW, requested_by="key123")
    with pytest.raises(NotFound, match="email"):
        export(repo, nobody, now=NOW)
    assert not repo.suppressed_hashes and not repo.erasures


def test_erasure_leaves_a_profile_an_operator_separated_from_the_person(repo):
    user = Identifier(kind="user_id", value="u-1")
    live_id = repo.claims[user]
    merged = next(m.absorbed_id for m in repo.profiles[live_id].merges)
    unmerge(repo, live_id, merged, now=NOW)  # the email contact was someone else after all
    kept = set(repo.profiles[merged].identifiers())
    record = erase(repo, user, clock_now=lambda: NOW, requested_by="key123")
    assert record.profiles == 1 and live_id not in repo.profiles
    assert merged in repo.profiles and all(repo.claims.get(i) == merged for i in kept)


def test_an_event_naming_an_erased_identifier_is_dropped_and_triggers_nothing(repo):
    erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="key123")
    called = []
    again = event(
        minutes=20, message_id="after", anonymous_id="new-device", traits={"email": "anna@example.com"}
    )
    outcome = process_event(again, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW,
                            on_applied=lambda e, o: called.append(o))  # fmt: skip
    assert outcome.suppressed and outcome.profile_id is None and not called
    assert len(repo.profiles) == 1 and "after" in repo.markers


def test_events_of_known_customers_never_read_the_suppression_list(repo, monkeypatch):
    asked = []
    monkeypatch.setattr(repo, "suppressed", lambda identifiers: asked.append(identifiers) or False)
    page = event("page", minutes=30, message_id="p-known", anonymous_id="anon-1")
    process_event(page, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    assert asked == []
    fresh = event("page", minutes=31, message_id="p-new", anonymous_id="anon-brand-new")
    process_event(fresh, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW)
    assert asked == [[Identifier(kind="anonymous_id", value="anon-brand-new")]]


def test_a_lifted_suppression_lets_that_identifier_in_again_and_only_that_one(repo):
    erase(repo, EMAIL, clock_now=lambda: NOW, requested_by="key123")
    lift_suppression(repo, EMAIL)
    with pytest.raises(NotFound, match="not suppressed"):
        lift_suppression(repo, EMAIL)
    back = event(minutes=40, message_id="back", traits={"email": "anna@example.com"}, anonymous_id="new-dev")
    assert process_event(back, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW).suppressed is False
    assert EMAIL in repo.claims
    still = event(minutes=41, message_id="still", user_id="u-1")
    assert process_event(still, repo, IdentityPolicy(), now=NOW, dedupe_window=WINDOW).suppressed


def test_suppression_hash_is_keyed_and_every_key_of_a_rotation_matches():
    import hashlib

    old, new = b"key-before-rotation", b"key-after-rotation"
    before = SuppressionKeys([old])
    rotated = SuppressionKeys([new, old])
    phone = Identifier(kind="phone", value="+79161234567")
    # not the unkeyed hash anyone could recompute by trying every phone number
    unkeyed = hashlib.sha256(f"asusual-suppression-v2\0phone\0{phone.value}".encode()).hexdigest()
    assert before.current(phone) != unkeyed and len(before.current(phone)) == 64
    assert rotated.current(phone) != before.current(phone)  # new suppressions: the new key
    assert rotated.matching(phone) == [rotated.current(phone), before.current(phone)]  # old ones still match
    with pytest.raises(ValueError, match="at least one"):
        SuppressionKeys([])
