"""Planning, pure: who is in the holdout, when each member's message is released, and how the
release is spread to a number of messages per second.

- Holdout: ``sha256(campaign_id + profile_id)`` read as a number in [0, 100) below the percent, so
  the same member is always in the same group of a campaign, and groups of different campaigns are
  independent.
- Release: a local send time is reached at a different instant in each zone; a member is released
  when it is reached in the LATEST of her plausible zones, so nobody gets it before that local time
  wherever she may be (the dispatcher's send window then holds it further if some zone is still in
  its quiet hours). A member without a zone tzdata knows is released when the time is reached on
  all of Earth (UTC-12); the dispatcher then applies its rule for an unknown zone.
- Throttle: the n-th member of the same moment (0-based, across pages) is released
  ``n // messages_per_second`` seconds after it, so each second carries at most that many.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from asusual.campaigns.models import Campaign, Exposure, Member, Plan, SendAt
from asusual.localtime import EARLIEST_OFFSET, LATEST_OFFSET, zone
from asusual.triggers.kinds.campaign import program_of

PLAN_LEAD = timedelta(hours=1)  # planning starts this long before the first moment anywhere


def earliest_moment(send_at: SendAt) -> datetime:
    """The first instant the send time is reached anywhere (UTC+14 for a local time)."""
    return _moment_at(send_at, LATEST_OFFSET)


def latest_moment(send_at: SendAt) -> datetime:
    """The last instant the send time is reached anywhere (UTC-12 for a local time)."""
    return _moment_at(send_at, EARLIEST_OFFSET)


def planning_starts(send_at: SendAt) -> datetime:
    return earliest_moment(send_at) - PLAN_LEAD


def _moment_at(send_at: SendAt, offset: timedelta) -> datetime:
    if send_at.at is not None:
        return send_at.at.astimezone(UTC)
    assert send_at.local_date is not None and send_at.local_time is not None
    local = datetime.combine(send_at.local_date, send_at.local_time, tzinfo=timezone(offset))
    return local.astimezone(UTC)


def holdout_share(campaign_id: str, profile_id: str) -> float:
    """The member's number in [0, 100) for this campaign."""
    digest = hashlib.sha256(f"{campaign_id}{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def in_holdout(campaign_id: str, profile_id: str, percent: int) -> bool:
    return holdout_share(campaign_id, profile_id) < percent


def member_moment(send_at: SendAt, zones: Sequence[str]) -> datetime:
    """The instant the send time is reached in the latest of ``zones`` (UTC)."""
    if send_at.at is not None:
        return send_at.at.astimezone(UTC)
    assert send_at.local_date is not None and send_at.local_time is not None
    known = [zone(name) for name in zones]
    if not known or any(tz is None for tz in known):
        return latest_moment(send_at)
    return max(
        _existing(datetime.combine(send_at.local_date, send_at.local_time, tzinfo=tz)) for tz in known if tz
    )


def _existing(local: datetime) -> datetime:
    """A wall-clock time a DST gap skipped is the first instant after the gap (UTC)."""
    utc = local.astimezone(UTC)
    tz = local.tzinfo
    if utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return utc
    return local.replace(fold=1).astimezone(UTC)


def spread(moment: datetime, n: int, messages_per_second: int) -> datetime:
    """The release of the n-th member (0-based) of ``moment``."""
    return moment + timedelta(seconds=n // messages_per_second)


def moment_key(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class PlannedPage:
    exposures: list[Exposure]
    audience: int
    holdout: int
    plan: Plan  # the plan after this page (cursor not yet advanced: the caller does it)


def plan_page(campaign: Campaign, members: Sequence[Member], now: datetime) -> PlannedPage:
    """The exposures of one page of members and the plan's moment counts after it."""
    moments: dict[str, int] = dict(campaign.plan.moments)
    window = timedelta(days=campaign.conversion_window_days)
    program = program_of(campaign.campaign_id)
    exposures = []
    holdout = 0
    last = campaign.plan.last_release_at
    for member in members:
        moment = member_moment(campaign.send_at, member.zones)
        if in_holdout(campaign.campaign_id, member.profile_id, campaign.holdout_percent):
            holdout += 1
            exposures.append(
                Exposure(
                    profile_id=member.profile_id,
                    program=program,
                    group="holdout",
                    assigned_at=now,
                    window_end=moment + window,
                    campaign_id=campaign.campaign_id,
                )
            )
            continue
        key = moment_key(moment)
        n = moments.get(key, 0)
        moments[key] = n + 1
        release = spread(moment, n, campaign.messages_per_second)
        last = release if last is None else max(last, release)
        exposures.append(
            Exposure(
                profile_id=member.profile_id,
                program=program,
                group="recipient",
                assigned_at=now,
                window_end=release + window,
                release_at=release,
                campaign_id=campaign.campaign_id,
            )
        )
    plan = campaign.plan.model_copy(update={"moments": moments, "last_release_at": last})
    return PlannedPage(exposures=exposures, audience=len(members), holdout=holdout, plan=plan)


def release_delay(release_at: datetime, now: datetime, most: int = 900) -> int:
    """SQS DelaySeconds for a release: whole seconds, never early, at most 15 minutes."""
    seconds = (release_at - now).total_seconds()
    whole = int(seconds) + (1 if seconds > int(seconds) else 0)
    return max(0, min(most, whole))
