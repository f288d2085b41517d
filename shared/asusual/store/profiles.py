"""Profiles, identifier claims, merge records and processed-message markers (docs/data-model.md).

Profile   pk=PROFILE#<id>        sk=PROFILE                 data (JSON), version
Merge     pk=PROFILE#<survivor>  sk=MERGE#<at>#<absorbed>   data (JSON)
Claim     pk=ID#<kind>#<value>   sk=ID                      profile_id
Marker    pk=MSG#<message_id>    sk=MSG                     expires_at (TTL)
Suppressed pk=SUPPRESS#<hmac>    sk=SUPPRESS                erasure_id, at: an erased person's identifier
Consent   pk=PROFILE#<id>        sk=CONSENT#<at>#<channel.topic>#<message_id>   data (JSON): the history
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import Binary

from asusual.errors import Conflict
from asusual.identity.models import Identifier
from asusual.privacy.models import SuppressionKeys
from asusual.profiles.batch import MAX_TRANSACTION_ITEMS, GroupChange, Prefetched, TooManyWrites
from asusual.profiles.model import MergeRecord, Profile
from asusual.profiles.processor import ProfileChange
from asusual.profiles.state import Stamped
from asusual.store.dynamo import (
    Item,
    batch_get,
    batch_write,
    data_of,
    epoch_seconds,
    from_item,
    item_key,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.profile_dictionary import CURRENT, DICTIONARIES
from asusual.store.secrets import suppression_keys
from asusual.store.segments import segment_writes
from asusual.store.triggers import birthday_write


def _profile_key(profile_id: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", "PROFILE")


def profile_data(profile: Profile) -> bytes:
    """The profile's ``data`` attribute (Binary): its JSON, zlib-compressed against the profile
    dictionary (asusual.store.profile_dictionary). A profile is rewritten by every batch that
    touches it; a typical 4.8 KB profile compresses to about 0.8 KB: one write unit, not five."""
    return compress_json(profile.model_dump_json().encode())


def compress_json(raw: bytes) -> bytes:
    """``raw`` (a profile's JSON) as stored: zlib with the current dictionary."""
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, CURRENT)
    return packer.compress(raw) + packer.flush()


def _inflate(packed: bytes) -> bytes:
    """A zlib stream with or without a preset dictionary (its header names it by Adler-32)."""
    if len(packed) >= 6 and packed[1] & 0x20:  # FDICT: the dictionary's Adler-32 follows
        dictionary = DICTIONARIES.get(int.from_bytes(packed[2:6], "big"))
        if dictionary is None:
            raise zlib.error("compressed with a dictionary this version does not have")
        unpacker = zlib.decompressobj(zdict=dictionary)
        raw = unpacker.decompress(packed) + unpacker.flush()
        if not unpacker.eof:
            raise zlib.error("incomplete compressed data")
        return raw
    return zlib.decompress(packed)


def profile_item(profile: Profile) -> Item:
    return {
        **_profile_key(profile.profile_id),
        **to_item({"entity": "profile", "version": profile.version, "data": profile_data(profile)}),
    }


def data_json(data: Any) -> bytes:
    """The JSON of a decoded ``data`` attribute: zlib-compressed (Binary, profiles; with the
    profile dictionary, or without it as written before) or plain (String); TypeError for any
    other type, zlib.error for bytes that are not a stream this version reads."""
    if isinstance(data, Binary | bytes):
        return _inflate(bytes(data))
    if isinstance(data, str):
        return data.encode()
    raise TypeError(f"data: {type(data).__name__} is neither Binary nor String")


DECODE_DEPTH = 64  # deeper values (none since intake's 32-level limit) are read as null


class UndecodableProfile(ValueError):
    """A profile item whose data cannot be read at all (corrupt bytes, not a profile)."""


def decode_json(raw: bytes) -> Any:
    """JSON of any depth, without a RecursionError: values nested deeper than DECODE_DEPTH are
    read as null. Intake accepts nothing that deep; this reads what an older version stored."""
    try:
        return json.loads(raw)
    except RecursionError:
        return json.loads(_flatten(raw.decode(), DECODE_DEPTH))


def _flatten(text: str, limit: int) -> str:
    """``text`` (JSON) with every object or array that opens deeper than ``limit`` replaced by
    null; one pass that knows strings and escapes, no recursion."""
    out: list[str] = []
    depth = 0
    skipping_from = 0  # the depth at which a skipped value opened (0: not skipping)
    in_string = escaped = False
    start = 0
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit and not skipping_from:
                out.append(text[start:index] + "null")
                skipping_from = depth
        elif char in "]}":
            if skipping_from and depth == skipping_from:
                skipping_from = 0
                start = index + 1
            depth -= 1
    out.append(text[start:] if not skipping_from else "")
    return "".join(out)


def profile_from_item(item: dict[str, Any]) -> Profile:
    """A profile item's ``data``: compressed JSON, or plain JSON as written before compression.
    Pydantic's fast JSON reader stops at 200 levels; a profile an older version stored deeper is
    read the slow way (json, then validation), so no stored profile is ever unreadable for depth."""
    try:
        raw = data_json(data_of(item))
    except (KeyError, TypeError, zlib.error) as exc:
        raise UndecodableProfile("profile data: not readable") from exc
    try:
        return Profile.model_validate_json(raw)
    except ValueError:
        pass
    try:
        return Profile.model_validate(decode_json(raw))
    except ValueError as exc:  # not JSON, not a profile: pydantic's errors are ValueErrors
        raise UndecodableProfile("profile data: not a profile") from exc


def suppression_key(hash_: str) -> Item:
    return item_key(f"SUPPRESS#{hash_}", "SUPPRESS")


def suppression_item(hash_: str, erasure_id: str, at: datetime) -> Item:
    """An erased person's identifier, by its hash: which erasure, when."""
    return {
        **suppression_key(hash_),
        **to_item({"entity": "suppression", "erasure_id": erasure_id, "at": utc_stamp(at)}),
    }


def _claim_pk(identifier: Identifier) -> str:
    return f"ID#{identifier.kind}#{identifier.value}"


def _claim_key(identifier: Identifier) -> Item:
    return item_key(_claim_pk(identifier), "ID")


def _claim_item(identifier: Identifier, profile_id: str) -> Item:
    return {**_claim_key(identifier), **to_item({"entity": "identifier", "profile_id": profile_id})}


def marker_key(message_id: str) -> Item:
    return item_key(f"MSG#{message_id}", "MSG")


def _marker_item(message_id: str, expires_at: datetime) -> Item:
    # the marker names no profile: it outlives nothing personal and needs no erasure
    return {
        **marker_key(message_id),
        **to_item({"entity": "message_marker", "expires_at": epoch_seconds(expires_at)}),
    }


def _merge_item(profile_id: str, record: MergeRecord) -> Item:
    return {
        **item_key(f"PROFILE#{profile_id}", f"MERGE#{record.at.isoformat()}#{record.absorbed_id}"),
        **to_item({"entity": "merge", "data": record.model_dump_json()}),
    }


def _consent_item(profile_id: str, consent: str, stamped: Stamped) -> Item:
    """A consent change (``consent``: '<channel>.<topic>'), as stated by one event (a replay
    writes the same item again)."""
    channel, topic = consent.split(".", 1)
    value = stamped.value if isinstance(stamped.value, dict) else {}
    record = {
        "channel": channel,
        "topic": topic,
        "subscribed": bool(value.get("subscribed")),
        "at": stamped.at.isoformat(),
        "message_id": stamped.msg,
        "source_id": value.get("source_id"),
        "consent_version": value.get("consent_version"),
    }
    # confirmed opt-in (asusual.profiles.consent): the assertion awaiting confirmation is marked
    # pending; a confirmation says when the customer confirmed and which assertion
    record.update({k: value[k] for k in ("pending", "confirmed_at", "confirms") if k in value})
    return {
        **item_key(f"PROFILE#{profile_id}", f"CONSENT#{stamped.at.isoformat()}#{consent}#{stamped.msg}"),
        **to_item({"entity": "consent", "data": json.dumps(record, sort_keys=True)}),
    }


class DynamoProfileRepository:
    def __init__(self, client: Any, table_name: str, *, suppression: SuppressionKeys | None = None) -> None:
        self._db = client
        self._table = table_name
        self._suppression = suppression  # None: the suppression secret, read when first needed

    @property
    def suppression(self) -> SuppressionKeys:
        if self._suppression is None:
            self._suppression = suppression_keys()
        return self._suppression

    @translate_errors
    def seen(self, message_id: str) -> bool:
        response = self._db.get_item(
            TableName=self._table, Key=marker_key(message_id), ConsistentRead=True, ProjectionExpression="pk"
        )
        return "Item" in response

    @translate_errors
    def mark_seen(self, message_id: str, expires_at: datetime) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_marker_item(message_id, expires_at),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @translate_errors
    def owners(self, identifiers: list[Identifier]) -> dict[Identifier, str]:
        by_key = {_claim_pk(i): i for i in identifiers}
        items = batch_get(self._db, self._table, [_claim_key(i) for i in by_key.values()], "pk, profile_id")
        claims = (from_item(item) for item in items)
        return {by_key[claim["pk"]]: claim["profile_id"] for claim in claims}

    @translate_errors
    def suppressed(self, identifiers: list[Identifier]) -> bool:
        return bool(self.suppressed_among(identifiers))

    @translate_errors
    def suppressed_among(self, identifiers: Sequence[Identifier]) -> set[Identifier]:
        by_hash = {h: i for i in dict.fromkeys(identifiers) for h in self.suppression.matching(i)}
        if not by_hash:
            return set()
        keys = [suppression_key(h) for h in sorted(by_hash)]
        found = batch_get(self._db, self._table, keys, "pk")
        return {by_hash[from_item(item)["pk"].removeprefix("SUPPRESS#")] for item in found}

    @translate_errors
    def load(self, profile_ids: set[str]) -> dict[str, Profile]:
        items = batch_get(self._db, self._table, [_profile_key(p) for p in sorted(profile_ids)], "pk, #d")
        profiles = (self._decode(item) for item in items)
        return {p.profile_id: p for p in profiles}

    def _decode(self, item: dict[str, Any]) -> Profile:
        return profile_from_item(item)

    @translate_errors
    def find(self, identifier: Identifier) -> str | None:
        """The profile id an identifier's claim names (maybe a tombstone; callers follow it)."""
        return self.owners([identifier]).get(identifier)

    @translate_errors
    def commit(self, change: ProfileChange) -> None:
        items = [self._put_profile(change.profile, change.expected_version)]
        items += [self._put_profile(profile, expected) for profile, expected in change.replaced]
        items += self._change_items(change)
        # memberships, size counters, due entries and directory entries: with the profile, or not at all
        items += segment_writes(self._table, change.segments, change.listed)
        self._write(items)

    @translate_errors
    def commit_group(self, group: GroupChange) -> None:
        """A batch group's writes (asusual.profiles.batch): each profile once, conditional on the
        version the table held, with every change's other items, in one write."""
        items = [self._put_profile(profile, expected) for profile, expected in group.profiles.values()]
        birthdays: dict[str, Any] = {}
        listed: list[str] = []
        for change in group.changes:
            items += self._change_items(change, birthdays=False)
            birthdays.update(change.birthdays)
            listed += [pid for pid in change.listed if pid not in listed]
        items += [birthday_write(self._table, pid, entry) for pid, entry in birthdays.items()]
        items += segment_writes(self._table, group.segments, listed)
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise TooManyWrites(f"{len(items)} writes")
        self._write(items)

    def _change_items(self, change: ProfileChange, *, birthdays: bool = True) -> list[dict[str, Any]]:
        """A change's items besides its profiles: claims, merge records, birthday entries, consent
        records."""
        profile_id = change.profile.profile_id
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _claim_item(identifier, profile_id),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for identifier in change.claims
        ]
        items += [
            {"Put": {"TableName": self._table, "Item": _merge_item(profile_id, record)}}
            for record in change.merges
        ]
        if birthdays:
            items += [birthday_write(self._table, pid, entry) for pid, entry in change.birthdays.items()]
        items += [
            {"Put": {"TableName": self._table, "Item": _consent_item(profile_id, consent, stamped)}}
            for consent, stamped in change.consents.items()
        ]
        return items

    def _write(self, items: list[dict[str, Any]]) -> None:
        if len(items) == 1:  # the profile alone (page, track): a conditional put costs half a transaction
            try:
                self._db.put_item(**items[0]["Put"])
            except (
                self._db.exceptions.ConditionalCheckFailedException,
                # DynamoDB refuses a put on an item a transaction is writing: the same race, retried
                self._db.exceptions.TransactionConflictException,
            ) as exc:
                raise Conflict("profile changed concurrently") from exc
            return
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise Conflict("profile changed concurrently") from exc
            raise

    @translate_errors
    def prefetch(self, message_ids: Sequence[str], identifiers: Sequence[Identifier]) -> Prefetched:
        """The batch's markers (strongly consistent: a redelivery can follow at once) and claims
        (eventually consistent, half the read units: every write they lead to is conditional, so a
        stale claim becomes a conflict and a consistent read, never a wrong write), one
        BatchGetItem per 100 keys of each."""
        found = Prefetched()
        markers = [marker_key(m) for m in dict.fromkeys(message_ids)]
        for item in batch_get(self._db, self._table, markers, "pk"):
            found.seen.add(from_item(item)["pk"].removeprefix("MSG#"))
        by_key = {_claim_pk(i): i for i in identifiers}
        claims = batch_get(
            self._db,
            self._table,
            [_claim_key(i) for i in by_key.values()],
            "pk, profile_id",
            consistent=False,
        )
        for claim in (from_item(i) for i in claims):
            found.claims[by_key[claim["pk"]]] = claim["profile_id"]
        return found

    @translate_errors
    def peek(self, profile_ids: set[str]) -> dict[str, Profile]:
        """``load``, eventually consistent (half the read units): for the batch's first read,
        whose writes are all conditional on the versions it saw."""
        keys = [_profile_key(p) for p in sorted(profile_ids)]
        return {
            p.profile_id: p
            for p in map(self._decode, batch_get(self._db, self._table, keys, "pk, #d", consistent=False))
        }

    @translate_errors
    def mark_all_seen(self, message_ids: Sequence[str], expires_at: datetime) -> None:
        """The markers of processed messages (BatchWriteItem, 25 a call; a marker written twice is
        the same marker)."""
        markers = [{"PutRequest": {"Item": _marker_item(m, expires_at)}} for m in dict.fromkeys(message_ids)]
        batch_write(self._db, self._table, markers, "marker")

    @translate_errors
    def repoint(self, identifiers: list[Identifier], from_profile: str, to_profile: str) -> None:
        for identifier in identifiers:
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=_claim_key(identifier),
                    UpdateExpression="SET profile_id = :to",
                    ConditionExpression="profile_id = :from",
                    ExpressionAttributeValues=to_values({":to": to_profile, ":from": from_profile}),
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # the claim names another profile (the tombstone chain resolves it)

    @translate_errors
    def consent_history(self, profile_id: str) -> list[dict[str, Any]]:
        """Every consent change the profile received, oldest first (time, channel, topic, source)."""
        response = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
            ExpressionAttributeValues=to_values({":p": f"PROFILE#{profile_id}", ":c": "CONSENT#"}),
        )
        return [json.loads(data_of(item)) for item in response.get("Items", [])]

    def _put_profile(self, profile: Profile, expected: int | None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": profile_item(profile)}
        if expected is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = to_values({":expected": expected})
        return {"Put": put}
