"""The campaign use cases: create (validated), view, cancel, and the sweep that plans and releases.

The sweep (every 5 minutes) first plans: a campaign is planned from an hour before its first moment
anywhere, page by page of its segment's membership — each page's exposures are idempotent puts,
then its counts and the cursor advance in one update conditional on the page count before it, so
a replayed page counts once. Then it releases: the release index's hour buckets up to now + 15
minutes, each waiting recipient sent as an intent delayed (SQS DelaySeconds) to her moment, then
taken out of the index (conditional). A campaign is released only once planned whole (a page
replayed after a crash can then never touch a released exposure). Cancelled: what waits is not
released; its outcome is ``skipped:cancelled``."""

from __future__ import annotations

import time as monotonic_time
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from asusual.campaigns.content import InvalidCampaign, check_content
from asusual.campaigns.models import (
    Campaign,
    CampaignRequest,
    CampaignStatus,
    CampaignView,
    Counters,
    Exposure,
    Member,
)
from asusual.campaigns.plan import latest_moment, plan_page, planning_starts, release_delay
from asusual.campaigns.ports import CampaignRepository, DelayedIntentPublisher, MemberPages
from asusual.campaigns.report import campaign_uplift, counts_of
from asusual.content.pack import ContentPack
from asusual.delivery.programs import skipped
from asusual.errors import Conflict, NotFound
from asusual.triggers.models import CampaignFacts, Intent, Topic, make_intent

RELEASE_AHEAD = timedelta(minutes=15)  # SQS delays stop at 15 minutes
UNFINISHED = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)


class SegmentNotFound(NotFound):
    code = "segment_not_found"


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class CampaignExists(Conflict):
    code = "campaign_exists"


class CampaignFinished(Conflict):
    code = "campaign_finished"


def release_bucket(instant: datetime) -> str:
    return f"CSEND#{instant.astimezone(UTC):%Y-%m-%dT%H}"


def create(
    repo: CampaignRepository,
    segments: MemberPages,
    pack: ContentPack,
    request: CampaignRequest,
    now: datetime,
    default_messages_per_second: int,
) -> Campaign:
    campaign = build(segments, pack, request, now, default_messages_per_second)
    repo.create(campaign)
    return campaign


def build(
    segments: MemberPages,
    pack: ContentPack,
    request: CampaignRequest,
    now: datetime,
    default_messages_per_second: int,
) -> Campaign:
    """The campaign a request describes, checked whole (400/404 naming the field)."""
    send_at = request.send_at
    if send_at.at is not None:
        if send_at.local_date is not None or send_at.local_time is not None:
            raise InvalidCampaign("send_at: either at, or local_date with local_time, not both")
        if send_at.at.tzinfo is None:
            raise InvalidCampaign("send_at.at: give the offset (2026-12-10T10:00:00+03:00 or Z)")
        if send_at.at <= now:
            raise InvalidCampaign("send_at.at: in the past")
    else:
        for name in ("local_date", "local_time"):
            if getattr(send_at, name) is None:
                raise InvalidCampaign(f"send_at.{name}: required (or give send_at.at)")
        if send_at.local_time is not None and send_at.local_time.tzinfo is not None:
            raise InvalidCampaign("send_at.local_time: a wall-clock time, without offset")
        if latest_moment(send_at) <= now:
            raise InvalidCampaign("send_at.local_date: that local time has passed everywhere")
    segment = segments.segment(request.segment_id)
    if segment is None or not segment.active:
        raise SegmentNotFound(f"segment_id: no segment {request.segment_id!r}")
    check_content(
        pack,
        request.content,
        request.channels,
        request.campaign_id,
        segment.segment_id,
        segment.name,
        now,
    )
    return Campaign(
        campaign_id=request.campaign_id,
        segment_id=segment.segment_id,
        segment_name=segment.name,
        incarnation=segment.incarnation,
        channels=request.channels,
        send_at=send_at,
        holdout_percent=request.holdout_percent,
        conversion_window_days=request.conversion_window_days,
        content=request.content,
        messages_per_second=request.messages_per_second or default_messages_per_second,
        created_at=now,
    )


def view(repo: CampaignRepository, campaign_id: str) -> CampaignView:
    found = repo.campaign(campaign_id)
    if found is None:
        raise CampaignNotFound(f"no campaign {campaign_id!r}")
    campaign, counters = found
    return view_of(campaign, counters)


def view_of(campaign: Campaign, counters: Counters) -> CampaignView:
    return CampaignView(
        campaign_id=campaign.campaign_id,
        segment_id=campaign.segment_id,
        status=campaign.status,
        send_at=campaign.send_at,
        holdout_percent=campaign.holdout_percent,
        conversion_window_days=campaign.conversion_window_days,
        created_at=campaign.created_at,
        audience=counters.audience,
        holdout=counters.holdout,
        sent=counters.sent,
        deferred=counters.deferred,
        failed=counters.failed,
        skipped=counters.skipped,
        conversions=counts_of(counters).conversions,
        uplift=campaign_uplift(counters),
    )


def cancel(repo: CampaignRepository, campaign_id: str, now: datetime) -> CampaignView:
    """Nothing more is released; intents already queued are skipped by the dispatcher. Cancelling
    a cancelled campaign changes nothing; a sent one cannot be (409)."""
    found = repo.campaign(campaign_id)
    if found is None:
        raise CampaignNotFound(f"no campaign {campaign_id!r}")
    campaign, _ = found
    if campaign.status is CampaignStatus.SENT:
        raise CampaignFinished(f"campaign {campaign_id!r} was sent whole; nothing is left to cancel")
    if campaign.status is not CampaignStatus.CANCELLED and not repo.set_status(
        campaign_id, CampaignStatus.CANCELLED, UNFINISHED, now
    ):
        return cancel(repo, campaign_id, now)  # it moved meanwhile: judge again
    return view(repo, campaign_id)


class CampaignSweepReport(BaseModel):
    now: datetime
    planned_pages: int = 0
    planned_members: int = 0
    partitions: list[str] = Field(default_factory=list)
    read: int = 0
    released: int = 0
    cancelled: int = 0
    finished: list[str] = Field(default_factory=list, description="campaigns now sent")


# the longest a planned member may wait for release: a local time is reached within 26 hours
# around the Earth, plus the throttle's spread and the sweep's look-back
CANCELLED_IN_VIEW = timedelta(days=3)


def sweep(
    repo: CampaignRepository,
    segments: MemberPages,
    publisher: DelayedIntentPublisher,
    now: datetime,
    *,
    page_size: int = 100,
    budget_seconds: float = 60.0,
    lookback_hours: int = 6,
) -> CampaignSweepReport:
    report = CampaignSweepReport(now=now)
    deadline = monotonic_time.monotonic() + budget_seconds
    # a cancelled campaign stays in view for as long as its members may wait in the release index
    campaigns = {c.campaign_id: c for c in repo.unfinished(now - CANCELLED_IN_VIEW)}
    for campaign in list(campaigns.values()):
        if campaign.status is CampaignStatus.CANCELLED:
            continue
        if not campaign.plan.done and now >= planning_starts(campaign.send_at):
            campaigns[campaign.campaign_id] = _plan(
                repo, segments, campaign, now, page_size, deadline, report
            )
    if campaigns:  # no campaign is in view: nobody can be waiting for release, nothing is read
        _release(repo, publisher, campaigns, now, lookback_hours, report)
    for campaign in campaigns.values():
        last = campaign.plan.last_release_at
        released = campaign.plan.done and (last is None or last <= now + RELEASE_AHEAD)
        if released and repo.set_status(
            campaign.campaign_id, CampaignStatus.SENT, (CampaignStatus.SENDING,), now
        ):
            report.finished.append(campaign.campaign_id)
    return report


def _plan(
    repo: CampaignRepository,
    segments: MemberPages,
    campaign: Campaign,
    now: datetime,
    page_size: int,
    deadline: float,
    report: CampaignSweepReport,
) -> Campaign:
    if campaign.status is CampaignStatus.SCHEDULED:
        repo.set_status(campaign.campaign_id, CampaignStatus.SENDING, (CampaignStatus.SCHEDULED,), now)
        campaign = campaign.model_copy(update={"status": CampaignStatus.SENDING})
    segment = segments.segment(campaign.segment_id)
    while not campaign.plan.done and monotonic_time.monotonic() < deadline:
        members: list[Member] = []
        cursor: str | None = None  # the segment was deleted: nobody more to plan
        if segment is not None and segment.incarnation == campaign.incarnation:
            members, cursor = segments.members_page(segment, page_size, campaign.plan.cursor)
        page = plan_page(campaign, members, now)
        repo.put_exposures(page.exposures)
        plan = page.plan.model_copy(
            update={
                "cursor": cursor,
                "done": cursor is None,
                "pages": campaign.plan.pages + 1,
                "started": True,
            }
        )
        if not repo.commit_page(campaign.campaign_id, campaign.plan.pages, plan, page.audience, page.holdout):
            found = repo.campaign(campaign.campaign_id)  # another sweep planned this page: go on from there
            if found is None:
                break
            campaign = found[0]
            continue
        report.planned_pages += 1
        report.planned_members += page.audience
        campaign = campaign.model_copy(update={"plan": plan})
    return campaign


def partitions(now: datetime, lookback_hours: int) -> list[str]:
    """The release hours from ``lookback_hours`` ago to now + 15 minutes."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=lookback_hours)
    end = now + RELEASE_AHEAD
    out = []
    hour = start
    while hour <= end:
        out.append(release_bucket(hour))
        hour += timedelta(hours=1)
    return out


def _release(
    repo: CampaignRepository,
    publisher: DelayedIntentPublisher,
    campaigns: dict[str, Campaign],
    now: datetime,
    lookback_hours: int,
    report: CampaignSweepReport,
) -> None:
    until = now + RELEASE_AHEAD
    report.partitions = partitions(now, lookback_hours)
    for bucket in report.partitions:
        due = repo.due_releases(bucket, until)
        report.read += len(due)
        ready: list[tuple[Exposure, Campaign]] = []
        for exposure in due:
            campaign = _campaign_of(repo, campaigns, exposure)
            if campaign is None or campaign.status is CampaignStatus.CANCELLED:
                program = exposure.program
                if repo.record_outcome(exposure.profile_id, program, skipped("cancelled"), unindex=True):
                    report.cancelled += 1
                continue
            if not campaign.plan.done:
                continue  # released once planned whole
            ready.append((exposure, campaign))
        for start in range(0, len(ready), 100):
            chunk = ready[start : start + 100]
            # publish first, then unindex: a crash between publishes again, and the send-once key
            # keeps that from sending twice
            publisher.publish_delayed([(intent_for(c, e, now), _delay(e, now)) for e, c in chunk])
            for exposure, _campaign in chunk:
                if repo.unindex(exposure):
                    report.released += 1


def _delay(exposure: Exposure, now: datetime) -> int:
    assert exposure.release_at is not None
    return release_delay(exposure.release_at, now)


def _campaign_of(
    repo: CampaignRepository, campaigns: dict[str, Campaign], exposure: Exposure
) -> Campaign | None:
    campaign_id = exposure.campaign_id or exposure.program.removeprefix("campaign#")
    if campaign_id not in campaigns:
        found = repo.campaign(campaign_id)
        if found is None:
            return None
        campaigns[campaign_id] = found[0]
    return campaigns[campaign_id]


def send_once_key(campaign_id: str, profile_id: str) -> str:
    return f"campaign:{campaign_id}:{profile_id}"


def intent_for(campaign: Campaign, exposure: Exposure, now: datetime) -> Intent:
    assert exposure.release_at is not None
    facts = CampaignFacts(
        campaign_id=campaign.campaign_id,
        segment_id=campaign.segment_id,
        segment_name=campaign.segment_name,
        channels=campaign.channels,
        content=campaign.content,
        release_at=exposure.release_at,
    )
    return make_intent(
        exposure.profile_id,
        Topic.MARKETING,
        send_once_key(campaign.campaign_id, exposure.profile_id),
        facts,
        now,
    )
