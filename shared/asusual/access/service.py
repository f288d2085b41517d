"""Authentication and the life cycle of sources and keys (pure rules over a repository)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from asusual.access.identity import identity_secret
from asusual.access.keys import generate_key, hash_key, same_hash
from asusual.access.models import KEY_ID, ApiKey, Channel, KeyScope, Principal, Source, Status
from asusual.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized

MAX_OVERLAP_HOURS = 720.0  # the longest a rotated-out key may keep working


class KeyLookup(Protocol):
    def find_key(self, key_hash: str) -> ApiKey | None: ...


class AccessRepository(KeyLookup, Protocol):
    def create_source(self, source: Source, key: ApiKey) -> None:
        """Store a new source with its first key; raises Conflict if the id is taken."""
        ...

    def get_source(self, source_id: str) -> Source | None: ...

    def list_sources(self) -> list[Source]: ...

    def list_keys(self) -> list[ApiKey]: ...

    def add_key(self, key: ApiKey) -> None: ...

    def rotate_source_key(self, source_id: str, new_key: ApiKey, expire_at: datetime) -> None:
        """Add ``new_key`` and give every other active key of the source ``not_after=expire_at``."""
        ...

    def revoke_source(self, source_id: str) -> None:
        """Mark the source and all its keys revoked."""
        ...

    def revoke_key(self, key_hash: str) -> None: ...


@dataclass(frozen=True)
class IssuedKey:
    """A key as shown to the operator once; ``key`` is never stored."""

    key: str
    record: ApiKey


def authenticate(
    raw_key: str | None, lookup: KeyLookup, *, now: datetime, allowed: Sequence[KeyScope]
) -> Principal:
    if not raw_key:
        raise Unauthorized("Authorization: missing key (Basic <base64(key:)>, Bearer <key> or writeKey)")
    key_hash = hash_key(raw_key)
    record = lookup.find_key(key_hash)
    if record is None or not same_hash(record.key_hash, key_hash) or not record.usable_at(now):
        raise Unauthorized("Authorization: unknown, expired or revoked key")
    if record.scope not in allowed:
        raise Forbidden(f"Authorization: a {record.scope} key cannot call this endpoint")
    return Principal(key_id=record.key_id, scope=record.scope, source=record.source)


class CachedKeyLookup:
    """Keeps key records for ``ttl`` so a warm Lambda does not read DynamoDB per request.

    A revoked or rotated-out key stops working within ``ttl`` (default 60 s). Unknown keys are
    cached too (briefly), so a client hammering with a bad key costs no reads.

    An entry's age is the time that really passed (``monotonic``), or the business clock's advance
    (``clock_now``) when that is larger: in AWS the two are the same; in local mode a frozen clock
    no longer keeps a revoked key working, and moving the clock forward still ages the cache. A
    key's validity (``not_after``, status) is judged by the caller against the business clock."""

    def __init__(
        self,
        inner: KeyLookup,
        ttl: timedelta,
        clock_now: Callable[[], datetime],
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._inner = inner
        self._ttl = ttl.total_seconds()
        self._now = clock_now
        self._monotonic = monotonic
        self._max = max_entries
        self._entries: dict[str, tuple[float, datetime, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def find_key(self, key_hash: str) -> ApiKey | None:
        at, now = self._monotonic(), self._now()
        with self._lock:
            hit = self._entries.get(key_hash)
            if hit is not None and max(at - hit[0], (now - hit[1]).total_seconds()) < self._ttl:
                return hit[2]
        record = self._inner.find_key(key_hash)
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key_hash] = (at, now, record)
        return record


def create_source(
    repo: AccessRepository,
    *,
    source_id: str,
    name: str,
    channel: Channel,
    now: datetime,
    timezone: str | None = None,
    country: str | None = None,
    store_id: str | None = None,
    rate_limit: float | None = None,
    burst: int | None = None,
    public: bool = False,
    allowed_origins: Sequence[str] = (),
) -> IssuedKey:
    source = Source(
        source_id=source_id,
        name=name,
        channel=channel,
        timezone=timezone,
        country=country,
        store_id=store_id,
        rate_limit=rate_limit,
        burst=burst,
        public=public,
        allowed_origins=list(allowed_origins),
        created_at=now,
    )
    issued = _issue(KeyScope.WRITE, now, source=source, label=f"write key of {source_id}")
    repo.create_source(source, issued.record)
    return issued


def list_sources(repo: AccessRepository) -> list[Source]:
    """Every source, revoked ones included, by source_id."""
    return sorted(repo.list_sources(), key=lambda s: s.source_id)


def rotate_source_key(
    repo: AccessRepository, source_id: str, *, now: datetime, overlap: timedelta
) -> IssuedKey:
    source = _active_source(repo, source_id)
    issued = _issue(KeyScope.WRITE, now, source=source, label=f"write key of {source_id}")
    repo.rotate_source_key(source_id, issued.record, now + overlap)
    return issued


def rotation_overlap(query_hours: float | None, body_hours: float | None, *, default_hours: float) -> float:
    """The hours a rotated-out key keeps working: given in the query or the body (the same value if
    in both), else ``default_hours`` (ASUSUAL_ROTATION_OVERLAP_HOURS). 400 naming overlap_hours when
    the two differ or the given value is not 0 to :data:`MAX_OVERLAP_HOURS`."""
    if query_hours is not None and body_hours is not None and query_hours != body_hours:
        raise BadRequest("overlap_hours: given differently in the query and the body", code="invalid_request")
    given = query_hours if query_hours is not None else body_hours
    if given is None:
        return default_hours
    if not 0 <= given <= MAX_OVERLAP_HOURS:
        raise BadRequest(f"overlap_hours: from 0 to {MAX_OVERLAP_HOURS:g} hours", code="invalid_request")
    return given


def revoke_source(repo: AccessRepository, source_id: str) -> Source:
    source = _active_source(repo, source_id)
    repo.revoke_source(source_id)
    return source.model_copy(update={"status": Status.REVOKED})


def source_identity_secret(repo: AccessRepository, source_id: str, link_secrets: Sequence[bytes]) -> str:
    """The identity secret a public source's server signs user ids with (asusual.access.identity),
    under the first link secret. 404 for an unknown source; 409 for a revoked or a server-side one
    (its backend's events are vouched for as they are: it signs nothing)."""
    source = _active_source(repo, source_id)
    if not source.public:
        raise Conflict(
            f"source_id: source {source_id!r} is server-side: its events are vouched for as they are; "
            "only a public source's page passes signed user ids"
        )
    if not link_secrets:
        raise ValueError("source_identity_secret needs at least one link secret")
    return identity_secret(link_secrets[0], source.source_id)


def create_key(repo: AccessRepository, scope: KeyScope, *, now: datetime, label: str) -> IssuedKey:
    """A read or admin key (write keys belong to a source: use :func:`create_source`)."""
    if scope is KeyScope.WRITE:
        raise ValueError("scope: write keys are created with their source (asusual sources create)")
    issued = _issue(scope, now, label=label)
    repo.add_key(issued.record)
    return issued


def list_keys(repo: AccessRepository) -> list[ApiKey]:
    """Every key, revoked and expired ones included, oldest first."""
    return sorted(repo.list_keys(), key=lambda k: (k.created_at, k.key_id))


def parse_key_id(given: str) -> str:
    """A key id to revoke as an operator may type it: the 12 hex characters listed (or the whole
    64-hex hash), in either case; lowercased. 400 naming key_id for anything else."""
    key_id = given.lower()
    if not KEY_ID.match(key_id):
        raise BadRequest("key_id: the 12 hex characters GET /v1/keys lists", code="invalid_request")
    return key_id


def revoke_key(repo: AccessRepository, key_id: str) -> ApiKey:
    matches = [k for k in repo.list_keys() if k.key_id == key_id or k.key_hash == key_id]
    if not matches:
        raise NotFound(f"key_id: no key {key_id!r}")
    repo.revoke_key(matches[0].key_hash)
    return matches[0].model_copy(update={"status": Status.REVOKED})


def _issue(scope: KeyScope, now: datetime, *, source: Source | None = None, label: str) -> IssuedKey:
    key = generate_key(scope)
    return IssuedKey(
        key=key,
        record=ApiKey(key_hash=hash_key(key), scope=scope, source=source, created_at=now, label=label),
    )


def _active_source(repo: AccessRepository, source_id: str) -> Source:
    source = repo.get_source(source_id)
    if source is None:
        raise NotFound(f"source_id: no source {source_id!r}")
    if source.status is not Status.ACTIVE:
        raise Conflict(f"source_id: source {source_id!r} is revoked")
    return source
