"""Token-bucket throttling per key, inside one Lambda container.

API Gateway enforces the stage-wide limits; this guard keeps one noisy source from taking the
whole concurrency of the intake function and tells its client when to come back (Retry-After).

A bucket refills with the time that really passed (a monotonic clock), or with the business
clock's advance when that is larger: in AWS the two are the same, and in local mode a frozen clock
no longer keeps a throttled key throttled for ever, while moving the clock forward still counts as
time passing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from asusual.errors import Throttled


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic seconds of the last refill
    now: datetime  # the business clock then


MAX_BUCKETS = 10_000  # per container: a bucket is ~200 bytes


class RateLimiter:
    """Buckets by name (a key id; a key and a visitor's anonymous id), the least recently used
    forgotten past ``max_buckets``: a forgotten bucket starts full again, so a caller inventing names
    to shed its own bucket is still held by the key's bucket, which every request spends."""

    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, max_buckets: int = MAX_BUCKETS
    ) -> None:
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._max = max_buckets

    def take(self, who: str, *, rate: float, burst: int, now: datetime, what: str = "this key") -> None:
        """Spend one token of ``who``'s bucket or raise :class:`Throttled` with the wait (the
        message says ``what`` is throttled)."""
        at = self._monotonic()
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                bucket = self._buckets[who] = _Bucket(tokens=float(burst), at=at, now=now)
                while len(self._buckets) > self._max:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(who)
            elapsed = max(0.0, at - bucket.at, (now - bucket.now).total_seconds())
            bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
            bucket.at, bucket.now = at, now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / rate
        raise Throttled(
            f"too many requests for {what} (limit {rate:g}/s, burst {burst}); retry later",
            retry_after=math.ceil(wait),
        )
