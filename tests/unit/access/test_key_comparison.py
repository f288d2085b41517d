"""Authentication looks a key up by its hash and compares hashes in constant time."""

from datetime import UTC, datetime, timedelta

import pytest

from asusual.access import keys as keys_module
from asusual.access import service
from asusual.access.keys import generate_key, hash_key
from asusual.access.models import ApiKey, KeyScope
from asusual.errors import Unauthorized

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingLookup:
    """A KeyLookup that answers with ``record`` whatever it is asked, and remembers what it was asked."""

    def __init__(self, record: ApiKey | None) -> None:
        self.record = record
        self.asked: list[str] = []

    def find_key(self, key_hash: str) -> ApiKey | None:
        self.asked.append(key_hash)
        return self.record


@pytest.fixture
def compare_digest(monkeypatch):
    """A spy on the hmac.compare_digest asusual.access.keys calls (the real one answers)."""
    real = keys_module.hmac.compare_digest
    calls: list[tuple[object, object]] = []

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    return calls


def record_of(key: str, scope: KeyScope = KeyScope.READ) -> ApiKey:
    return ApiKey(key_hash=hash_key(key), scope=scope, created_at=NOW, label="test")


def test_authenticate_compares_the_stored_and_computed_hash_with_hmac_compare_digest(compare_digest):
    key = generate_key(KeyScope.READ)
    lookup = RecordingLookup(record_of(key))
    principal = service.authenticate(key, lookup, now=NOW, allowed=[KeyScope.READ])
    assert principal.key_id == hash_key(key)[:12]
    stored = computed = hash_key(key).encode("ascii")
    assert compare_digest == [(stored, computed)]


def test_a_record_whose_hash_differs_is_refused_by_the_constant_time_comparison(compare_digest):
    key, other = generate_key(KeyScope.ADMIN), generate_key(KeyScope.ADMIN)
    lookup = RecordingLookup(record_of(other, KeyScope.ADMIN))  # a lookup that answers the wrong record
    with pytest.raises(Unauthorized):
        service.authenticate(key, lookup, now=NOW, allowed=[KeyScope.ADMIN])
    assert compare_digest == [(hash_key(other).encode("ascii"), hash_key(key).encode("ascii"))]


def test_the_lookup_is_by_hash_and_the_raw_key_never_reaches_the_repository(compare_digest):
    key = generate_key(KeyScope.WRITE)
    found, missing = RecordingLookup(record_of(key, KeyScope.WRITE)), RecordingLookup(None)
    service.authenticate(key, found, now=NOW, allowed=[KeyScope.WRITE])
    with pytest.raises(Unauthorized):
        service.authenticate(key, missing, now=NOW, allowed=[KeyScope.WRITE])
    for lookup in (found, missing):
        assert lookup.asked == [hash_key(key)]
        assert all(key not in asked for asked in lookup.asked)


def test_the_cache_in_front_of_the_repository_is_keyed_by_hash_too():
    key = generate_key(KeyScope.READ)
    inner = RecordingLookup(record_of(key))
    cached = service.CachedKeyLookup(
        inner, ttl=timedelta(seconds=60), clock_now=lambda: NOW, monotonic=lambda: 0.0
    )
    for _ in range(3):
        service.authenticate(key, cached, now=NOW, allowed=[KeyScope.READ])
    assert inner.asked == [hash_key(key)]
    assert all(key not in k for k in cached._entries) and list(cached._entries) == [hash_key(key)]
