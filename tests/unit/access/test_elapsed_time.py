"""The key cache and the throttle age with the time that really passes (a monotonic clock), so a
frozen business clock (local mode) neither keeps a revoked key working nor a throttled key
throttled; a key's validity is still judged by the business clock."""

from datetime import UTC, datetime, timedelta

import pytest

from asusual.access import service
from asusual.access.keys import hash_key
from asusual.access.models import KeyScope
from asusual.access.throttle import RateLimiter
from asusual.errors import Throttled, Unauthorized
from tests.unit.access.test_access_service import FakeRepo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


class Clocks:
    """A business clock and a monotonic clock, each moved by hand."""

    def __init__(self) -> None:
        self.now = NOW
        self.seconds = 1000.0

    def business(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def cached_lookup(repo, clocks, ttl=TTL):
    return service.CachedKeyLookup(repo, ttl=ttl, clock_now=clocks.business, monotonic=clocks.monotonic)


def write_key(repo):
    return service.create_source(repo, source_id="web", name="Web", channel="web", now=NOW).key


def test_cached_lookup_with_frozen_business_clock_refuses_a_revoked_key_after_61_real_seconds(clocks):
    repo = FakeRepo()
    key = write_key(repo)
    cached = cached_lookup(repo, clocks)
    service.authenticate(key, cached, now=clocks.now, allowed=[KeyScope.WRITE])
    repo.revoke_source("web")
    clocks.seconds += 59.9
    service.authenticate(key, cached, now=clocks.now, allowed=[KeyScope.WRITE])  # cached: as in AWS
    assert repo.reads == 1
    clocks.seconds += 1.1  # 61 s of real time; the business clock has not moved
    with pytest.raises(Unauthorized):
        service.authenticate(key, cached, now=clocks.now, allowed=[KeyScope.WRITE])
    assert repo.reads == 2


def test_cached_lookup_entry_expires_when_the_business_clock_jumps_past_the_ttl(clocks):
    repo = FakeRepo()
    key = write_key(repo)
    cached = cached_lookup(repo, clocks)
    cached.find_key(hash_key(key))
    clocks.now += timedelta(hours=3)  # time travel: no real time passes
    cached.find_key(hash_key(key))
    assert repo.reads == 2


def test_cached_lookup_with_business_clock_set_back_still_expires_by_real_time(clocks):
    repo = FakeRepo()
    key = write_key(repo)
    cached = cached_lookup(repo, clocks)
    cached.find_key(hash_key(key))
    clocks.now -= timedelta(days=1)
    cached.find_key(hash_key(key))
    assert repo.reads == 1
    clocks.seconds += 60.0
    cached.find_key(hash_key(key))
    assert repo.reads == 2


def test_cached_lookup_cached_key_past_its_not_after_is_refused_by_the_business_clock(clocks):
    repo = FakeRepo()
    old = write_key(repo)
    service.rotate_source_key(repo, "web", now=NOW, overlap=timedelta(hours=1))
    cached = cached_lookup(repo, clocks, ttl=timedelta(days=1))
    service.authenticate(old, cached, now=clocks.now, allowed=[KeyScope.WRITE])
    clocks.now += timedelta(hours=1, seconds=1)
    with pytest.raises(Unauthorized):
        service.authenticate(old, cached, now=clocks.now, allowed=[KeyScope.WRITE])
    assert repo.reads == 1  # the cached record, judged against the business clock


def test_rate_limiter_with_frozen_business_clock_refills_with_real_seconds(clocks):
    limiter = RateLimiter(monotonic=clocks.monotonic)
    for _ in range(2):
        limiter.take("k", rate=1.0, burst=2, now=clocks.now)
    with pytest.raises(Throttled) as err:
        limiter.take("k", rate=1.0, burst=2, now=clocks.now)
    assert err.value.retry_after == 1
    clocks.seconds += 0.5
    with pytest.raises(Throttled):
        limiter.take("k", rate=1.0, burst=2, now=clocks.now)
    clocks.seconds += 0.5
    limiter.take("k", rate=1.0, burst=2, now=clocks.now)
    with pytest.raises(Throttled):
        limiter.take("k", rate=1.0, burst=2, now=clocks.now)


def test_rate_limiter_refills_when_the_business_clock_jumps_forward(clocks):
    limiter = RateLimiter(monotonic=clocks.monotonic)
    limiter.take("k", rate=0.1, burst=1, now=clocks.now)
    with pytest.raises(Throttled) as err:
        limiter.take("k", rate=0.1, burst=1, now=clocks.now)
    assert err.value.retry_after == 10
    clocks.now += timedelta(seconds=10)
    limiter.take("k", rate=0.1, burst=1, now=clocks.now)


def test_rate_limiter_with_business_clock_set_back_refills_by_real_time_only(clocks):
    limiter = RateLimiter(monotonic=clocks.monotonic)
    limiter.take("k", rate=1.0, burst=1, now=clocks.now)
    clocks.now -= timedelta(hours=1)
    with pytest.raises(Throttled) as err:
        limiter.take("k", rate=1.0, burst=1, now=clocks.now)
    assert err.value.retry_after == 1
    clocks.seconds += 1.0
    limiter.take("k", rate=1.0, burst=1, now=clocks.now)
