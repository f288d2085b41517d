"""Planning, pure: holdout by hash, release at the local moment of the latest plausible zone, the
throttle's spread, the SQS delay."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from asusual.campaigns.models import Campaign, Member, Plan, SendAt
from asusual.campaigns.plan import (
    earliest_moment,
    in_holdout,
    latest_moment,
    member_moment,
    plan_page,
    planning_starts,
    release_delay,
    spread,
)
from asusual.localtime import country_zones
from asusual.triggers.models import CampaignContent

TEN = SendAt(local_date=date(2026, 12, 10), local_time=time(10, 0))
NOW = datetime(2026, 12, 9, 19, 0, tzinfo=UTC)


def campaign(percent: int = 0, mps: int = 50, plan: Plan | None = None) -> Campaign:
    return Campaign(
        campaign_id="pets-dec",
        segment_id="pets",
        segment_name="Pets",
        incarnation="inc1",
        send_at=TEN,
        holdout_percent=percent,
        conversion_window_days=7,
        content={"ru": CampaignContent(text="x")},
        messages_per_second=mps,
        created_at=NOW,
        plan=plan or Plan(),
    )


def test_member_moment_vladivostok_at_ten_vladivostok_and_moscow_at_ten_moscow():
    assert member_moment(TEN, ("Asia/Vladivostok",)) == datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    assert member_moment(TEN, ("Europe/Moscow",)) == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)


def test_member_moment_several_zones_is_the_latest_so_nobody_gets_it_before_ten_local():
    # every zone of Russia: 10:00 in Kaliningrad (UTC+2) is the last of them
    assert member_moment(TEN, country_zones("RU")) == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


def test_member_moment_zone_unknown_or_unreadable_is_when_it_is_ten_everywhere():
    assert member_moment(TEN, ()) == datetime(2026, 12, 10, 22, 0, tzinfo=UTC)  # 10:00 at UTC-12
    assert member_moment(TEN, ("Europe/Moscow", "Not/AZone")) == datetime(2026, 12, 10, 22, 0, tzinfo=UTC)


def test_member_moment_of_an_instant_is_the_instant_whatever_the_zone():
    at = SendAt(at=datetime(2026, 12, 10, 9, 30, tzinfo=UTC))
    assert member_moment(at, ("Asia/Vladivostok",)) == member_moment(at, ()) == at.at


def test_member_moment_in_a_dst_gap_lands_after_it_never_before():
    two_thirty = SendAt(local_date=date(2027, 3, 14), local_time=time(2, 30))  # New York skips 02:00-03:00
    assert member_moment(two_thirty, ("America/New_York",)) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_earliest_latest_and_planning_start_of_a_local_time():
    assert earliest_moment(TEN) == datetime(2026, 12, 9, 20, 0, tzinfo=UTC)  # UTC+14
    assert latest_moment(TEN) == datetime(2026, 12, 10, 22, 0, tzinfo=UTC)  # UTC-12
    assert planning_starts(TEN) == datetime(2026, 12, 9, 19, 0, tzinfo=UTC)


def test_holdout_same_member_same_group_and_share_near_the_percent():
    ids = [f"p_{n}" for n in range(10_000)]
    first = [in_holdout("pets-dec", p, 20) for p in ids]
    assert first == [in_holdout("pets-dec", p, 20) for p in ids]
    assert 1_900 <= sum(first) <= 2_100
    assert not any(in_holdout("pets-dec", p, 0) for p in ids)
    other = [in_holdout("another", p, 20) for p in ids]
    assert first != other  # independent across campaigns


def test_plan_page_counts_holdout_and_releases_recipients_at_their_moment():
    members = [Member(profile_id=f"p_{n}", zones=("Europe/Moscow",)) for n in range(200)]
    page = plan_page(campaign(percent=50), members, NOW)
    holdout = [e for e in page.exposures if e.group == "holdout"]
    recipients = [e for e in page.exposures if e.group == "recipient"]
    assert (page.audience, page.holdout) == (200, len(holdout))
    assert len(holdout) + len(recipients) == 200
    assert all(e.release_at is None for e in holdout)
    assert {e.window_end for e in holdout} == {datetime(2026, 12, 17, 7, 0, tzinfo=UTC)}
    assert min(e.release_at for e in recipients) == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)


def test_plan_page_throttle_spreads_each_moment_across_pages():
    moscow = [Member(profile_id=f"m_{n}", zones=("Europe/Moscow",)) for n in range(5)]
    first = plan_page(campaign(mps=2), moscow[:3], NOW)
    assert [e.release_at for e in first.exposures] == [
        datetime(2026, 12, 10, 7, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 10, 7, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 10, 7, 0, 1, tzinfo=UTC),
    ]
    second = plan_page(campaign(mps=2, plan=first.plan), moscow[3:], NOW)
    assert [e.release_at for e in second.exposures] == [
        datetime(2026, 12, 10, 7, 0, 1, tzinfo=UTC),
        datetime(2026, 12, 10, 7, 0, 2, tzinfo=UTC),
    ]
    assert second.plan.moments == {"2026-12-10T07:00:00+00:00": 5}
    assert second.plan.last_release_at == datetime(2026, 12, 10, 7, 0, 2, tzinfo=UTC)


def test_spread_and_release_delay_never_early_and_at_most_fifteen_minutes():
    moment = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
    assert spread(moment, 149, 50) == moment + timedelta(seconds=2)
    assert release_delay(moment, moment - timedelta(seconds=600)) == 600
    assert release_delay(moment, moment - timedelta(seconds=599.2)) == 600
    assert release_delay(moment, moment - timedelta(hours=1)) == 900
    assert release_delay(moment, moment + timedelta(seconds=5)) == 0
