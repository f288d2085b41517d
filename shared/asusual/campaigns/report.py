"""The uplift report: every campaign and every trigger kind with a holdout, with its counts,
conversions per group and uplift (``GET /v1/reports/uplift``). The counts are the counters kept on
the campaign item and on each trigger kind's program item (docs/data-model.md), read as
``ProgramCounts``; ``campaign_summary`` is what a campaign's own answer shows of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from asusual.campaigns.models import Conversions, Counters, GroupConversions
from asusual.campaigns.uplift import GroupCounts, Uplift, uplift


class ProgramCounts(BaseModel):
    """A campaign's or a trigger kind's counters, as stored (absent counters are 0)."""

    model_config = ConfigDict(frozen=True)

    audience: int = Field(default=0, description="assigned to a group: recipients and holdout")
    holdout: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, description="reason → count")
    conversions: Conversions = Conversions()

    @property
    def recipients(self) -> int:
        """The recipient group: everybody assigned to receive, whether the message went or not."""
        return self.audience - self.holdout


class ProgramReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    program: Literal["campaign", "trigger"]
    id: str = Field(description="the campaign id or the trigger kind")
    holdout_percent: int | None = Field(description="a trigger kind's configured percent now")
    audience: int
    holdout: int
    sent: int
    deferred: int
    failed: int
    skipped: dict[str, int]
    conversions: Conversions
    uplift: Uplift


class UpliftReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    generated_at: datetime
    campaigns: list[ProgramReport]
    triggers: list[ProgramReport]


class ProgramReader(Protocol):
    def campaign_counts(self) -> list[tuple[str, ProgramCounts]]:
        """Every campaign (gsi1 ``CAMPAIGNS``, oldest first) with its counters."""
        ...

    def trigger_counts(self, kinds: Sequence[str]) -> dict[str, ProgramCounts]:
        """The counters of each kind's program item that exists."""
        ...


def counts_of(counters: Counters) -> ProgramCounts:
    """The report's view of a campaign's or program's stored counters (``conv_*`` as stored)."""
    conv = counters.conversions

    def group(name: str) -> GroupConversions:
        return GroupConversions(
            customers=int(conv.get(f"conv_{name}_customers", 0)),
            orders=int(conv.get(f"conv_{name}_orders", 0)),
            revenue=Decimal(str(conv.get(f"conv_{name}_revenue", 0))),
        )

    return ProgramCounts(
        audience=counters.audience,
        holdout=counters.holdout,
        sent=counters.sent,
        deferred=counters.deferred,
        failed=counters.failed,
        skipped={k: v for k, v in counters.skipped.items() if v},
        conversions=Conversions(recipients=group("recipient"), holdout=group("holdout")),
    )


def campaign_uplift(counters: Counters) -> dict[str, object]:
    """A campaign's ``uplift`` as its own answer (GET /v1/campaigns/{id}) shows it."""
    return uplift_of(counts_of(counters)).model_dump(mode="json")


def uplift_of(counts: ProgramCounts) -> Uplift:
    """The uplift of a campaign or trigger kind from its counters (GET /v1/campaigns/{id} too)."""
    conv = counts.conversions
    return uplift(
        GroupCounts(
            size=max(counts.recipients, 0),
            customers=conv.recipients.customers,
            orders=conv.recipients.orders,
            revenue=conv.recipients.revenue,
        ),
        GroupCounts(
            size=counts.holdout,
            customers=conv.holdout.customers,
            orders=conv.holdout.orders,
            revenue=conv.holdout.revenue,
        ),
    )


def program_report(
    program: Literal["campaign", "trigger"],
    program_id: str,
    counts: ProgramCounts,
    percent: int | None = None,
) -> ProgramReport:
    return ProgramReport(
        program=program,
        id=program_id,
        holdout_percent=percent,
        audience=counts.audience,
        holdout=counts.holdout,
        sent=counts.sent,
        deferred=counts.deferred,
        failed=counts.failed,
        skipped=counts.skipped,
        conversions=counts.conversions,
        uplift=uplift_of(counts),
    )


def uplift_report(
    reader: ProgramReader, holdouts: Mapping[str, int], kinds: Sequence[str], now: datetime
) -> UpliftReport:
    """Every campaign, and every trigger kind of ``kinds`` that has a holdout configured now or was
    measured before (its program item exists)."""
    stored = reader.trigger_counts(kinds)
    listed = sorted({k for k in kinds if holdouts.get(k, 0) > 0} | set(stored))
    return UpliftReport(
        generated_at=now,
        campaigns=[program_report("campaign", cid, counts) for cid, counts in reader.campaign_counts()],
        triggers=[
            program_report("trigger", kind, stored.get(kind, ProgramCounts()), holdouts.get(kind, 0))
            for kind in listed
        ],
    )
