"""What campaigns need from the outside, as small interfaces store/ implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from asusual.campaigns.models import Campaign, CampaignStatus, Counters, Exposure, Member, Plan, SegmentRef
from asusual.triggers.models import Intent


class MemberPages(Protocol):
    """A segment's definition and its membership items, in pages (never the profiles)."""

    def segment(self, segment_id: str) -> SegmentRef | None: ...

    def members_page(
        self, segment: SegmentRef, limit: int, cursor: str | None
    ) -> tuple[list[Member], str | None]:
        """Up to ``limit`` members after ``cursor``, and the cursor of the next page (None: last)."""
        ...

    def size(self, segment: SegmentRef) -> int: ...


class CampaignRepository(Protocol):
    def create(self, campaign: Campaign) -> None:
        """Keep a new campaign; Conflict when its id is taken."""
        ...

    def campaign(self, campaign_id: str) -> tuple[Campaign, Counters] | None: ...

    def unfinished(self, cancelled_since: datetime) -> list[Campaign]:
        """Campaigns scheduled or sending (the sweep's work), and those cancelled since
        ``cancelled_since`` (members of theirs still waiting for release are marked skipped)."""
        ...

    def set_status(self, campaign_id: str, status: CampaignStatus, allowed_from: Sequence[CampaignStatus],
                   at: datetime) -> bool:  # fmt: skip
        """Move the status if it is one of ``allowed_from``; False otherwise."""
        ...

    def put_exposures(self, exposures: Sequence[Exposure]) -> None:
        """Idempotent puts; a recipient's goes into the release index of its hour."""
        ...

    def commit_page(
        self, campaign_id: str, pages_before: int, plan: Plan, audience: int, holdout: int
    ) -> bool:
        """Advance the plan and count the page, conditional on the plan still being at
        ``pages_before`` pages: False when another sweep committed this page already."""
        ...

    def due_releases(self, bucket: str, until: datetime) -> list[Exposure]:
        """Recipients waiting in one hour bucket of the release index, released by ``until``."""
        ...

    def unindex(self, exposure: Exposure) -> bool:
        """Take a released exposure out of the index; False when another sweep did."""
        ...

    def record_outcome(self, profile_id: str, program: str, outcome: str, *, unindex: bool = False) -> bool:
        """The exposure's conditional outcome transition with the program's counters (one transaction)."""
        ...


class DelayedIntentPublisher(Protocol):
    def publish_delayed(self, intents: Sequence[tuple[Intent, int]]) -> None:
        """Enqueue each intent to become visible after its delay in seconds (≤ 900)."""
        ...
