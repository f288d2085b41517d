"""What the dispatcher tells a program (a campaign) about its intents, and asks of it, as small
interfaces store/ and the campaigns implement: whether the program was cancelled (read through a
short cache), the outcome of each intent (recorded once, with the program's counters, by a
conditional transition of the member's exposure), and why the customer is in the program's
segment, in words."""

from __future__ import annotations

from typing import Protocol

from asusual.profiles.model import Profile

# an exposure's outcome: absent (not dispatched yet) → deferred → one of the final ones
SENT, DEFERRED, FAILED = "sent", "deferred", "failed"
SKIPPED_PREFIX = "skipped:"

# said of a member when the words of her reasons are not known (a profile evaluated before the
# reasons were kept): true of every member, and never a guess
MEMBER_FALLBACK = {"ru": "вы подходите под её условия", "en": "you meet its conditions"}


def skipped(reason: str) -> str:
    return f"{SKIPPED_PREFIX}{reason}"


class ProgramOutcomes(Protocol):
    def cancelled(self, program: str) -> bool:
        """Whether the program was cancelled (a cache of a few seconds is fine)."""
        ...

    def record_outcome(self, profile_id: str, program: str, outcome: str) -> bool:
        """Move the member's exposure to ``outcome`` (sent, deferred, skipped:<reason>, failed) and
        count it on the program, in one transaction conditional on the exposure's current outcome:
        absent → any; deferred → a final one. False when the transition is not allowed (recorded
        already, whatever the redeliveries) or the member has no exposure."""
        ...


class SegmentWords(Protocol):
    def __call__(self, profile: Profile, segment_id: str, locale: str) -> list[str]:
        """Why the customer is in the segment, in ``locale``'s words (empty: not known)."""
        ...
