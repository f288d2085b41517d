"""The uplift report lists every campaign and every trigger kind with a holdout now or before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from asusual.campaigns.models import Counters
from asusual.campaigns.report import (
    Conversions,
    GroupConversions,
    ProgramCounts,
    campaign_uplift,
    counts_of,
    uplift_of,
    uplift_report,
)
from asusual.campaigns.uplift import Verdict

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
WELCOME = ProgramCounts(
    audience=200,
    holdout=100,
    sent=99,
    failed=1,
    conversions=Conversions(
        recipients=GroupConversions(customers=30, orders=34, revenue=Decimal("40000")),
        holdout=GroupConversions(customers=10, orders=10, revenue=Decimal("9000")),
    ),
)


class Reader:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def campaign_counts(self) -> list[tuple[str, ProgramCounts]]:
        return [("dec-pets", ProgramCounts(audience=4, holdout=2, sent=2))]

    def trigger_counts(self, kinds: Sequence[str]) -> dict[str, ProgramCounts]:
        self.asked.append(list(kinds))
        return {"welcome": WELCOME, "replenishment": ProgramCounts(audience=3, holdout=1, sent=2)}


def test_uplift_of_counts_compares_everyone_assigned_to_receive_with_the_holdout():
    result = uplift_of(WELCOME)

    assert (result.recipients.size, result.recipients.customers) == (100, 30)
    assert (result.holdout.size, result.holdout.customers) == (100, 10)
    assert (result.difference, result.verdict) == (0.2, Verdict.POSITIVE)
    assert result.recipients.revenue_per_member == Decimal("400.00")


def test_uplift_report_lists_campaigns_and_kinds_configured_now_or_measured_before():
    reader = Reader()

    report = uplift_report(
        reader, {"welcome": 50, "birthday": 10}, ["birthday", "replenishment", "welcome"], NOW
    )

    assert reader.asked == [["birthday", "replenishment", "welcome"]]
    assert [
        (r.program, r.id, r.holdout_percent, r.audience, r.holdout, r.sent) for r in report.campaigns
    ] == [("campaign", "dec-pets", None, 4, 2, 2)]
    assert [(r.id, r.holdout_percent, r.audience, r.holdout, r.uplift.verdict) for r in report.triggers] == [
        ("birthday", 10, 0, 0, Verdict.TOO_SMALL_TO_TELL),  # configured, nothing measured yet
        ("replenishment", 0, 3, 1, Verdict.TOO_SMALL_TO_TELL),  # measured before, holdout off now
        ("welcome", 50, 200, 100, Verdict.POSITIVE),
    ]
    assert report.triggers[2].conversions == WELCOME.conversions


def test_campaign_uplift_reads_the_stored_counters_as_the_campaigns_answer_shows_them():
    counters = Counters(
        audience=60,
        holdout=30,
        sent=29,
        skipped={"no_channel": 1, "quiet_hours": 0},
        conversions={
            "conv_recipient_customers": 6,
            "conv_recipient_orders": 7,
            "conv_recipient_revenue": "7000.50",
            "conv_holdout_orders": 0,
        },
    )

    counts = counts_of(counters)
    shown = campaign_uplift(counters)

    assert counts.skipped == {"no_channel": 1}
    recipients = GroupConversions(customers=6, orders=7, revenue=Decimal("7000.50"))
    assert counts.conversions.recipients == recipients
    assert counts.conversions.holdout == GroupConversions()
    assert (shown["verdict"], shown["difference"], shown["interval"]) == ("positive", 0.2, [0.0454, 0.3731])
    assert shown["recipients"]["revenue_per_member"] == "233.35"
