"""Which web origins may call us from a browser (CORS), judged from the sources (pure).

A public source (a web shop's pages, an app) lists the origins its pages are served from. A
pattern is ``scheme://host[:port]``, where the port may be ``*`` (any port, or none) and the host
may start with ``*.`` (any subdomain, not the bare domain). Origins are compared as browsers send
them: lowercase, no path, the default port left out.

Two questions are asked:

- a preflight (``OPTIONS``) carries no key, so it is answered for an origin that any active public
  source allows (:class:`PublicOrigins`, cached like keys);
- a request that carries a key and an ``Origin`` is refused unless the key's own source is public
  and allows that origin (:func:`check_origin`): a shop's public key does not work from another
  shop's pages, and a server-side key never works from a browser.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from asusual.errors import AsusualError, Forbidden

if TYPE_CHECKING:  # models validate their patterns here: no import back at run time
    from asusual.access.models import Source

MAX_ORIGINS = 50
_PATTERN = re.compile(
    r"^(?P<scheme>https?)://(?P<wild>\*\.)?(?P<host>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(?P<port>\*|\d{1,5}))?$"
)
_DEFAULT_PORT = {"http": "80", "https": "443"}
PATTERN_DESCRIPTION = (
    "scheme://host[:port], e.g. https://shop.example, https://*.shop.example or http://localhost:*"
)


def origin_pattern(text: str) -> str:
    """``text`` as a stored pattern (lowercase, default port left out); ValueError saying what is
    wrong otherwise."""
    value = text.strip().lower()
    match = _PATTERN.match(value)
    if match is None:
        raise ValueError(f"{text[:100]!r} is not an origin pattern ({PATTERN_DESCRIPTION})")
    port = match["port"]
    if port is not None and port != "*" and not 0 < int(port) < 65536:
        raise ValueError(f"{text[:100]!r}: port out of range")
    if port == _DEFAULT_PORT[match["scheme"]]:
        value = value.rsplit(":", 1)[0]
    return value


def origin_allowed(origin: str, patterns: Iterable[str]) -> bool:
    """Whether the ``Origin`` a browser sent matches one of ``patterns`` (from :func:`origin_pattern`)."""
    parsed = _PATTERN.match(origin.strip().lower()) if len(origin) <= 300 else None
    if parsed is None or parsed["wild"] or parsed["port"] == "*":
        return False  # "null", garbage, or a pattern posing as an origin
    scheme, host = parsed["scheme"], parsed["host"]
    port = parsed["port"] or _DEFAULT_PORT[scheme]
    for pattern in patterns:
        allowed = _PATTERN.match(pattern)
        if allowed is None or allowed["scheme"] != scheme:
            continue
        if allowed["wild"]:
            if not host.endswith("." + allowed["host"]):
                continue
        elif host != allowed["host"]:
            continue
        if allowed["port"] == "*" or (allowed["port"] or _DEFAULT_PORT[scheme]) == port:
            return True
    return False


def check_origin(origin: str | None, source: Source) -> None:
    """A request without ``Origin`` (a server, a mail client) passes. A browser's request passes only
    with the key of a public source that allows its origin: 403 naming ``Origin`` otherwise."""
    if origin is None:
        return
    if not source.public:
        raise Forbidden(
            f"Origin: source {source.source_id!r} is server-side; a browser sends a public source's key",
            code="origin_not_allowed",
        )
    if not origin_allowed(origin, source.allowed_origins):
        raise Forbidden(
            f"Origin: {origin[:100]!r} is not an allowed origin of source {source.source_id!r}",
            code="origin_not_allowed",
        )


class PublicOrigins:
    """The origins every active public source allows, read at most once per ``ttl`` per container
    (as keys are: a new or revoked source takes effect within the key cache's minute)."""

    def __init__(
        self,
        sources: Callable[[], Sequence[Source]],
        ttl: timedelta,
        clock_now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._ttl = ttl.total_seconds()
        self._now = clock_now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._read: tuple[float, datetime, tuple[str, ...]] | None = None

    def patterns(self) -> tuple[str, ...]:
        at, now = self._monotonic(), self._now()
        with self._lock:
            read = self._read
            if read is not None and max(at - read[0], (now - read[1]).total_seconds()) < self._ttl:
                return read[2]
        try:
            sources = self._sources()
        except AsusualError:  # the store is unreachable: the last patterns read (a preflight never 5xx)
            return read[2] if read is not None else ()
        patterns = tuple(
            sorted(
                {
                    pattern
                    for source in sources
                    if source.public and source.active
                    for pattern in source.allowed_origins
                }
            )
        )
        with self._lock:
            self._read = (at, now, patterns)
        return patterns

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and origin_allowed(origin or "", self.patterns())
