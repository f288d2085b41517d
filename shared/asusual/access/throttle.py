"""Token-bucket throttling per key, inside one Lambda container.

API Gateway enforces the stage-wide limits; this guard keeps one noisy source from taking the
whole concurrency of the intake function and tells its client when to come back (Retry-After).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

from asusual.errors import Throttled


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, who: str, *, rate: float, burst: int, now: datetime) -> None:
        """Spend one token of ``who``'s bucket or raise :class:`Throttled` with the wait."""
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                bucket = self._buckets[who] = _Bucket(tokens=float(burst), updated=now)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())
            bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / rate
        raise Throttled(
            f"too many requests for this key (limit {rate:g}/s, burst {burst}); retry later",
            retry_after=math.ceil(wait),
        )
