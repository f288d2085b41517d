from datetime import UTC, datetime, timedelta

import pytest

from asusual.access import service
from asusual.access.keys import hash_key
from asusual.access.models import ApiKey, Channel, KeyScope, Source, Status
from asusual.access.throttle import RateLimiter
from asusual.errors import Conflict, Forbidden, NotFound, Throttled, Unauthorized

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeRepo:
    """In-memory AccessRepository."""

    def __init__(self):
        self.sources: dict[str, Source] = {}
        self.keys: dict[str, ApiKey] = {}
        self.source_keys: dict[str, list[str]] = {}
        self.reads = 0

    def find_key(self, key_hash):
        self.reads += 1
        return self.keys.get(key_hash)

    def create_source(self, source, key):
        if source.source_id in self.sources:
            raise Conflict("source_id: exists")
        self.sources[source.source_id] = source
        self.keys[key.key_hash] = key
        self.source_keys[source.source_id] = [key.key_hash]

    def get_source(self, source_id):
        return self.sources.get(source_id)

    def list_sources(self):
        return list(self.sources.values())

    def list_keys(self):
        return list(self.keys.values())

    def add_key(self, key):
        self.keys[key.key_hash] = key

    def rotate_source_key(self, source_id, new_key, expire_at):
        for h in self.source_keys[source_id]:
            self.keys[h] = self.keys[h].model_copy(update={"not_after": expire_at})
        self.keys[new_key.key_hash] = new_key
        self.source_keys[source_id].append(new_key.key_hash)

    def revoke_source(self, source_id):
        self.sources[source_id] = self.sources[source_id].model_copy(update={"status": Status.REVOKED})
        for h in self.source_keys[source_id]:
            self.keys[h] = self.keys[h].model_copy(update={"status": Status.REVOKED})

    def revoke_key(self, key_hash):
        self.keys[key_hash] = self.keys[key_hash].model_copy(update={"status": Status.REVOKED})


def web(repo):
    return service.create_source(
        repo, source_id="web", name="Web", channel=Channel.WEB, now=NOW, country="ru"
    )


def test_create_source_stores_only_the_hash_and_authenticates_the_key():
    repo = FakeRepo()
    issued = web(repo)
    assert issued.key not in repr(repo.keys) and issued.key not in repr(repo.sources)
    principal = service.authenticate(issued.key, repo, now=NOW, allowed=[KeyScope.WRITE])
    assert principal.source.source_id == "web" and principal.source.country == "RU"


def test_create_source_twice_is_conflict():
    repo = FakeRepo()
    web(repo)
    with pytest.raises(Conflict):
        web(repo)


@pytest.mark.parametrize(
    ("field", "value"),
    [("source_id", "Web Shop"), ("timezone", "Mars/Olympus"), ("country", "Russia")],
)
def test_create_source_invalid_field_names_the_field(field, value):
    kwargs = {"source_id": "web", "name": "Web", "channel": Channel.WEB, "now": NOW, field: value}
    with pytest.raises(ValueError, match=field):
        service.create_source(FakeRepo(), **kwargs)


def test_authenticate_unknown_or_missing_key_is_unauthorized():
    with pytest.raises(Unauthorized):
        service.authenticate("nope", FakeRepo(), now=NOW, allowed=[KeyScope.WRITE])
    with pytest.raises(Unauthorized, match="missing"):
        service.authenticate(None, FakeRepo(), now=NOW, allowed=[KeyScope.WRITE])


def test_authenticate_wrong_scope_is_forbidden():
    repo = FakeRepo()
    issued = service.create_key(repo, KeyScope.READ, now=NOW, label="pos")
    with pytest.raises(Forbidden, match="read key"):
        service.authenticate(issued.key, repo, now=NOW, allowed=[KeyScope.WRITE])


def test_rotate_keeps_old_key_for_the_overlap_then_refuses_it():
    repo = FakeRepo()
    old = web(repo)
    new = service.rotate_source_key(repo, "web", now=NOW, overlap=timedelta(hours=24))
    for key in (old.key, new.key):
        service.authenticate(key, repo, now=NOW + timedelta(hours=23), allowed=[KeyScope.WRITE])
    with pytest.raises(Unauthorized):
        service.authenticate(old.key, repo, now=NOW + timedelta(hours=24), allowed=[KeyScope.WRITE])
    service.authenticate(new.key, repo, now=NOW + timedelta(days=400), allowed=[KeyScope.WRITE])


def test_revoke_source_refuses_all_its_keys_and_further_rotation():
    repo = FakeRepo()
    old = web(repo)
    new = service.rotate_source_key(repo, "web", now=NOW, overlap=timedelta(hours=24))
    service.revoke_source(repo, "web")
    for key in (old.key, new.key):
        with pytest.raises(Unauthorized):
            service.authenticate(key, repo, now=NOW, allowed=[KeyScope.WRITE])
    with pytest.raises(Conflict, match="revoked"):
        service.rotate_source_key(repo, "web", now=NOW, overlap=timedelta(hours=1))


def test_rotate_unknown_source_is_not_found():
    with pytest.raises(NotFound, match="source_id"):
        service.rotate_source_key(FakeRepo(), "nope", now=NOW, overlap=timedelta(hours=1))


def test_create_key_refuses_write_scope():
    with pytest.raises(ValueError, match="scope"):
        service.create_key(FakeRepo(), KeyScope.WRITE, now=NOW, label="x")


def test_revoke_key_by_key_id():
    repo = FakeRepo()
    issued = service.create_key(repo, KeyScope.ADMIN, now=NOW, label="ops")
    service.revoke_key(repo, issued.record.key_id)
    with pytest.raises(Unauthorized):
        service.authenticate(issued.key, repo, now=NOW, allowed=[KeyScope.ADMIN])


def test_cached_lookup_reads_once_per_ttl_so_revocation_lands_within_ttl():
    repo = FakeRepo()
    issued = web(repo)
    now = [NOW]
    cached = service.CachedKeyLookup(
        repo, ttl=timedelta(seconds=60), clock_now=lambda: now[0], monotonic=lambda: 0.0
    )
    key_hash = hash_key(issued.key)
    for _ in range(5):
        assert cached.find_key(key_hash) is not None
    assert repo.reads == 1
    repo.revoke_source("web")
    now[0] = NOW + timedelta(seconds=59)
    assert cached.find_key(key_hash).usable_at(now[0])  # still cached
    now[0] = NOW + timedelta(seconds=60)
    assert not cached.find_key(key_hash).usable_at(now[0])
    assert repo.reads == 2


def test_rate_limiter_allows_burst_then_throttles_with_retry_after():
    limiter = RateLimiter(monotonic=lambda: 0.0)  # no real time passes: only the business clock moves
    for _ in range(5):
        limiter.take("k", rate=1.0, burst=5, now=NOW)
    with pytest.raises(Throttled) as err:
        limiter.take("k", rate=0.5, burst=5, now=NOW)
    assert err.value.retry_after == 2
    limiter.take("other", rate=1.0, burst=5, now=NOW)  # buckets are per key
    limiter.take("k", rate=0.5, burst=5, now=NOW + timedelta(seconds=2))  # refilled


def test_api_key_usable_at_respects_status_and_not_after():
    key = ApiKey(key_hash="0" * 64, scope=KeyScope.READ, created_at=NOW, not_after=NOW + timedelta(hours=1))
    assert key.usable_at(NOW)
    assert not key.usable_at(NOW + timedelta(hours=1))
    assert not key.model_copy(update={"status": Status.REVOKED}).usable_at(NOW)


def test_rate_limiter_forgets_the_least_recently_used_bucket_past_its_bound():
    limiter = RateLimiter(monotonic=lambda: 0.0, max_buckets=2)
    limiter.take("a", rate=1.0, burst=1, now=NOW)
    limiter.take("b", rate=1.0, burst=1, now=NOW)
    with pytest.raises(Throttled, match="too many requests for this visitor"):
        limiter.take("a", rate=1.0, burst=1, now=NOW, what="this visitor")  # touches a: b is now oldest
    limiter.take("c", rate=1.0, burst=1, now=NOW)  # three buckets: b is forgotten
    limiter.take("b", rate=1.0, burst=1, now=NOW)  # ... and starts full again; c is kept, a is dropped
    with pytest.raises(Throttled):
        limiter.take("c", rate=1.0, burst=1, now=NOW)
