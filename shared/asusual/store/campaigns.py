"""Campaigns, exposures and their release index, and the segment membership campaigns read
(docs/data-model.md).

Campaign  pk=CAMPAIGN#<campaign_id>  sk=CAMPAIGN   data (the definition), status, plan, plan_pages,
                                                  cancelled_at, counters (audience, holdout, sent,
                                                  deferred, failed, skipped_<reason>, conv_*);
                                    gsi1pk=CAMPAIGNS, gsi1sk=<created UTC>#<campaign_id>
Exposure  pk=PROFILE#<profile_id>    sk=EXPOSE#<program>   program, group, assigned_at, window_end,
                                                  release_at, outcome, orders (SS), campaign_id,
                                                  profile_id; a recipient waiting for release:
                                    gsi1pk=CSEND#<yyyy-mm-ddThh>,
                                    gsi1sk=<release UTC>#<campaign_id>#<profile_id>
Program   pk=PROGRAM#trigger#<kind>  sk=PROGRAM    counters, as a campaign's (a trigger kind's holdout)

Read here, written by the segments (until their store module lands): the segment definition
(pk=SEGMENTS, sk=SEGMENT#<id>), membership (pk=SEGMENT#<id>#<incarnation>, sk=M#<profile_id>) and
the size counter shards (pk=SEGCOUNT#<0..15>, sk=SEGCOUNT, one attribute per <id>#<incarnation>).

An exposure's outcome moves once: absent → deferred → sent | skipped:<reason> | failed (or absent
straight to a final one), in one transaction with the program's counters, so each counts exactly
once whatever the redeliveries (``record_outcome``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from asusual.campaigns.models import (
    Campaign,
    CampaignStatus,
    Counters,
    Exposure,
    Member,
    Plan,
    SegmentRef,
)
from asusual.campaigns.preview import PreviewDeps
from asusual.campaigns.service import CampaignExists, release_bucket
from asusual.content.render import default_pack
from asusual.delivery.programs import DEFERRED, SKIPPED_PREFIX
from asusual.errors import Conflict
from asusual.profiles.view import TenurePolicy
from asusual.settings import get_settings
from asusual.store.dynamo import (
    Item,
    batch_write,
    from_item,
    item_key,
    query_all,
    query_due,
    to_item,
    to_values,
    translate_errors,
    utc_stamp,
)
from asusual.store.profiles import DynamoProfileRepository
from asusual.store.segments import DynamoSegmentRepository, member_words
from asusual.store.tables import GSI1

CAMPAIGNS_PARTITION = "CAMPAIGNS"
COUNTERS = ("audience", "holdout", "sent", "deferred", "failed")
_REASON = re.compile(r"[^a-z0-9_]")


# -- keys and items ----------------------------------------------------------------------------


def campaign_key(campaign_id: str) -> Item:
    return item_key(f"CAMPAIGN#{campaign_id}", "CAMPAIGN")


def _definition(campaign: Campaign) -> str:
    return campaign.model_dump_json(exclude={"status", "plan", "cancelled_at"})


def campaign_item(campaign: Campaign) -> Item:
    """A new campaign: its definition, status and plan, no counter yet (ADD starts them)."""
    return {
        **campaign_key(campaign.campaign_id),
        **to_item(
            {
                "entity": "campaign",
                "gsi1pk": CAMPAIGNS_PARTITION,
                "gsi1sk": f"{utc_stamp(campaign.created_at)}#{campaign.campaign_id}",
                "data": _definition(campaign),
                "status": campaign.status.value,
                "plan": campaign.plan.model_dump_json(),
                "plan_pages": campaign.plan.pages,
            }
        ),
    }


def campaign_from_item(item: Item) -> tuple[Campaign, Counters]:
    values = from_item(item)
    campaign = Campaign.model_validate(
        {
            **json.loads(values["data"]),
            "status": values["status"],
            "plan": json.loads(values["plan"]),
            "cancelled_at": values.get("cancelled_at"),
        }
    )
    return campaign, counters_of(values)


def counters_of(values: dict[str, Any]) -> Counters:
    """A campaign's (or program's) counters from its item's plain values."""
    return Counters(
        **{name: int(values.get(name, 0)) for name in COUNTERS},
        skipped={
            k.removeprefix("skipped_"): int(v) for k, v in sorted(values.items()) if k.startswith("skipped_")
        },
        conversions={
            k: (str(v) if k.endswith("_revenue") else int(v))
            for k, v in sorted(values.items())
            if k.startswith("conv_") and isinstance(v, Decimal)
        },
    )


def exposure_key(profile_id: str, program: str) -> Item:
    return item_key(f"PROFILE#{profile_id}", f"EXPOSE#{program}")


def exposure_item(exposure: Exposure) -> Item:
    """A member's exposure; a recipient not yet released is in the release index of its hour."""
    waiting = exposure.release_at is not None and exposure.outcome is None and exposure.group == "recipient"
    release = exposure.release_at
    return {
        **exposure_key(exposure.profile_id, exposure.program),
        **to_item(
            {
                "entity": "exposure",
                "profile_id": exposure.profile_id,
                "program": exposure.program,
                "campaign_id": exposure.campaign_id,
                "group": exposure.group,
                "assigned_at": utc_stamp(exposure.assigned_at),
                "window_end": utc_stamp(exposure.window_end),
                "release_at": utc_stamp(release) if release else None,
                "outcome": exposure.outcome,
                "gsi1pk": release_bucket(release) if waiting and release else None,
                "gsi1sk": f"{utc_stamp(release)}#{exposure.campaign_id}#{exposure.profile_id}"
                if waiting and release
                else None,
            }
        ),
    }


def exposure_from_item(item: Item) -> Exposure:
    values = from_item(item)
    return Exposure(
        profile_id=values["profile_id"],
        program=values["program"],
        group=values["group"],
        assigned_at=datetime.fromisoformat(values["assigned_at"]),
        window_end=datetime.fromisoformat(values["window_end"]),
        release_at=datetime.fromisoformat(values["release_at"]) if values.get("release_at") else None,
        outcome=values.get("outcome"),
        campaign_id=values.get("campaign_id"),
    )


def program_counter_key(program: str) -> Item:
    """The item whose counters a program's exposures move: the campaign's, or a trigger kind's
    (``trigger#<kind>#<hash>`` → ``PROGRAM#trigger#<kind>``)."""
    if program.startswith("campaign#"):
        return campaign_key(program.removeprefix("campaign#"))
    kind = program.split("#")[1] if program.startswith("trigger#") else program
    return item_key(f"PROGRAM#trigger#{kind}", "PROGRAM")


def counter_name(outcome: str) -> str:
    """The counter of an outcome: sent, deferred, failed, skipped_<reason>."""
    if outcome.startswith(SKIPPED_PREFIX):
        return "skipped_" + _REASON.sub("_", outcome.removeprefix(SKIPPED_PREFIX).lower())[:64]
    return outcome


def outcome_transition(
    table: str, profile_id: str, program: str, outcome: str, *, from_deferred: bool, unindex: bool = False
) -> list[dict[str, Any]]:
    """The transaction that moves an exposure to ``outcome`` and counts it: from no outcome, or
    (``from_deferred``) from ``deferred``, taking one off the waiting count."""
    condition = "attribute_exists(pk) AND " + (
        "outcome = :from" if from_deferred else "attribute_not_exists(outcome)"
    )
    values: dict[str, Any] = {":o": outcome}
    if from_deferred:
        values[":from"] = DEFERRED
    remove = " REMOVE gsi1pk, gsi1sk" if unindex else ""
    adds = "ADD #c :one" + (", deferred :less" if from_deferred else "")
    counter_values: dict[str, Any] = {":one": 1, **({":less": -1} if from_deferred else {})}
    return [
        {
            "Update": {
                "TableName": table,
                "Key": exposure_key(profile_id, program),
                "UpdateExpression": "SET outcome = :o" + remove,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": to_values(values),
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": program_counter_key(program),
                "UpdateExpression": adds,
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {"#c": counter_name(outcome)},
                "ExpressionAttributeValues": to_values(counter_values),
            }
        },
    ]


# -- repositories ------------------------------------------------------------------------------


class DynamoCampaignRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    @translate_errors
    def create(self, campaign: Campaign) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=campaign_item(campaign),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise CampaignExists(f"campaign_id: {campaign.campaign_id!r} exists") from exc

    @translate_errors
    def campaign(self, campaign_id: str) -> tuple[Campaign, Counters] | None:
        item = self._db.get_item(
            TableName=self._table, Key=campaign_key(campaign_id), ConsistentRead=True
        ).get("Item")
        return campaign_from_item(item) if item else None

    @translate_errors
    def unfinished(self, cancelled_since: datetime) -> list[Campaign]:
        items = query_all(
            self._db,
            TableName=self._table,
            IndexName=GSI1.name,
            KeyConditionExpression="gsi1pk = :p",
            FilterExpression="#s IN (:a, :b) OR (#s = :c AND cancelled_at >= :since)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_values(
                {
                    ":p": CAMPAIGNS_PARTITION,
                    ":a": CampaignStatus.SCHEDULED.value,
                    ":b": CampaignStatus.SENDING.value,
                    ":c": CampaignStatus.CANCELLED.value,
                    ":since": utc_stamp(cancelled_since),
                }
            ),
        )
        return [campaign_from_item(item)[0] for item in items]

    @translate_errors
    def set_status(
        self, campaign_id: str, status: CampaignStatus, allowed_from: Sequence[CampaignStatus], at: datetime
    ) -> bool:
        names = {f":f{i}": s.value for i, s in enumerate(allowed_from)}
        stamp = ", cancelled_at = :at" if status is CampaignStatus.CANCELLED else ""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=campaign_key(campaign_id),
                UpdateExpression="SET #s = :s" + stamp,
                ConditionExpression=f"#s IN ({', '.join(names)})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_values(
                    {":s": status.value, **names, **({":at": utc_stamp(at)} if stamp else {})}
                ),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @translate_errors
    def put_exposures(self, exposures: Sequence[Exposure]) -> None:
        requests = [{"PutRequest": {"Item": exposure_item(e)}} for e in exposures]
        batch_write(self._db, self._table, requests, "exposure")

    @translate_errors
    def commit_page(
        self, campaign_id: str, pages_before: int, plan: Plan, audience: int, holdout: int
    ) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=campaign_key(campaign_id),
                UpdateExpression="SET #p = :p, plan_pages = :after ADD audience :a, holdout :h",
                ConditionExpression="plan_pages = :before",
                ExpressionAttributeNames={"#p": "plan"},
                ExpressionAttributeValues=to_values(
                    {
                        ":p": plan.model_dump_json(),
                        ":after": pages_before + 1,
                        ":before": pages_before,
                        ":a": audience,
                        ":h": holdout,
                    }
                ),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @translate_errors
    def due_releases(self, bucket: str, until: datetime) -> list[Exposure]:
        items = query_due(self._db, self._table, bucket, f"{utc_stamp(until)}#~")
        return [exposure_from_item(item) for item in items]

    @translate_errors
    def unindex(self, exposure: Exposure) -> bool:
        assert exposure.release_at is not None
        try:
            self._db.update_item(
                TableName=self._table,
                Key=exposure_key(exposure.profile_id, exposure.program),
                UpdateExpression="REMOVE gsi1pk, gsi1sk",
                ConditionExpression="gsi1pk = :b",
                ExpressionAttributeValues=to_values({":b": release_bucket(exposure.release_at)}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @translate_errors
    def exposures_of(self, profile_id: str) -> list[Exposure]:
        """Every exposure of a profile (one partition: ``begins_with(sk, EXPOSE#)``)."""
        items = query_all(
            self._db,
            TableName=self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
            ExpressionAttributeValues=to_values({":p": f"PROFILE#{profile_id}", ":e": "EXPOSE#"}),
            ConsistentRead=True,
        )
        return [exposure_from_item(item) for item in items]

    @translate_errors
    def record_outcome(self, profile_id: str, program: str, outcome: str, *, unindex: bool = False) -> bool:
        """Absent → ``outcome``; else, for a final outcome, deferred → ``outcome``; else nothing."""
        attempts = [False] if outcome == DEFERRED else [False, True]
        for from_deferred in attempts:
            items = outcome_transition(
                self._table, profile_id, program, outcome, from_deferred=from_deferred, unindex=unindex
            )
            try:
                self._db.transact_write_items(TransactItems=items)
            except self._db.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "TransactionConflict" in reasons:
                    raise Conflict("an exposure changed concurrently") from exc
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    continue  # not in the state this attempt moves from
                return False  # the program's item is gone
            return True
        return False


class CachedProgramStatus:
    """The dispatcher's view of programs: cancellation read through a cache of ``seconds`` (a
    cancel reaches every container within it), outcomes recorded at once."""

    def __init__(self, repo: DynamoCampaignRepository, seconds: float) -> None:
        self._repo = repo
        self._seconds = seconds
        self._cache: dict[str, tuple[float, bool]] = {}

    def cancelled(self, program: str) -> bool:
        if not program.startswith("campaign#"):
            return False
        now = time.monotonic()
        hit = self._cache.get(program)
        if hit is not None and now - hit[0] < self._seconds:
            return hit[1]
        found = self._repo.campaign(program.removeprefix("campaign#"))
        cancelled = found is None or found[0].status is CampaignStatus.CANCELLED
        self._cache[program] = (now, cancelled)
        return cancelled

    def record_outcome(self, profile_id: str, program: str, outcome: str) -> bool:
        return self._repo.record_outcome(profile_id, program, outcome)


class DynamoSegmentMembers:
    """What campaigns read of a segment, through the segments' own repository (its definitions,
    membership pages and size counters are declared there, once)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._segments = DynamoSegmentRepository(client, table_name)

    @translate_errors
    def segment(self, segment_id: str) -> SegmentRef | None:
        found = self._segments.segment(segment_id)
        if found is None:
            return None
        return SegmentRef(
            segment_id=found.segment_id, name=found.name, incarnation=found.incarnation, active=found.live
        )

    @translate_errors
    def members_page(
        self, segment: SegmentRef, limit: int, cursor: str | None
    ) -> tuple[list[Member], str | None]:
        records, following = self._segments.members_page(
            segment.segment_id, limit, cursor, incarnation=segment.incarnation
        )
        members = [
            Member(profile_id=r.profile_id, zones=r.zones, country=r.country, locale=r.locale)
            for r in records
        ]
        return members, following

    @translate_errors
    def size(self, segment: SegmentRef) -> int:
        return max(0, self._segments.sizes().get(f"{segment.segment_id}#{segment.incarnation}", 0))


def preview_deps(client: Any, table_name: str) -> PreviewDeps:
    """What checking, creating and previewing a campaign reads, with this deployment's settings:
    the admin API and the CLI build it here, once."""
    settings = get_settings()
    return PreviewDeps(
        segments=DynamoSegmentMembers(client, table_name),
        profiles=DynamoProfileRepository(client, table_name),
        pack=default_pack(),
        default_messages_per_second=settings.campaign_messages_per_second,
        default_country=settings.default_country,
        tenure=TenurePolicy(
            returning_min_orders=settings.returning_min_orders, loyal_min_orders=settings.loyal_min_orders
        ),
        webhooks=tuple(settings.webhooks),
        segment_words=member_words(),
    )
