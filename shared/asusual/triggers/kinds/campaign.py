"""Campaign messages: the marketer's words, carried in the facts, to a segment's member at her
local send time. They show the day's offer, may go only on the campaign's channels (and those it
has words for), and stay worth sending for two days after their send time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from asusual.triggers.kinds.base import TriggerKind
from asusual.triggers.models import CampaignContent, CampaignFacts

USEFUL_LIFE = timedelta(days=2)
SHORT_CHANNELS = ("sms", "push", "store", "call_center")


def channel_templates(
    content: Mapping[str, CampaignContent],
) -> dict[str, dict[str, tuple[str | None, str]]]:
    """The campaign's words as templates: an email takes ``subject`` and ``body``; SMS and the store
    and call-center systems ``text``; a push ``text`` under the ``subject`` as its title."""
    out: dict[str, dict[str, tuple[str | None, str]]] = {}
    for locale, words in content.items():
        if words.subject and words.body:
            out.setdefault("email", {})[locale] = (words.subject, words.body)
        if words.text:
            for channel in SHORT_CHANNELS:
                title = words.subject if channel == "push" else None
                out.setdefault(channel, {})[locale] = (title, words.text)
    return out


def program_of(campaign_id: str) -> str:
    """The exposure program of a campaign (docs/data-model.md, Exposure)."""
    return f"campaign#{campaign_id}"


class CampaignKind(TriggerKind[CampaignFacts]):
    facts_model = CampaignFacts
    may_hold_out = False  # a campaign has its own holdout (holdout_percent), never a kind's
    shows_offer = True
    unexplained_facts = frozenset({"content"})  # the message holds the words it rendered

    def useful_until(
        self, facts: CampaignFacts, created_at: datetime, zones: Sequence[str]
    ) -> datetime | None:
        return facts.release_at + USEFUL_LIFE

    def channels(self, facts: CampaignFacts) -> frozenset[str] | None:
        worded = frozenset(channel_templates(facts.content))
        return worded & frozenset(facts.channels) if facts.channels is not None else worded

    def templates(self, facts: CampaignFacts) -> Mapping[str, Mapping[str, tuple[str | None, str]]] | None:
        return channel_templates(facts.content)

    def program(self, facts: CampaignFacts) -> str | None:
        return program_of(facts.campaign_id)

    def campaign_id(self, facts: CampaignFacts) -> str | None:
        return facts.campaign_id

    def segment_id(self, facts: CampaignFacts) -> str | None:
        return facts.segment_id


KIND = CampaignKind()
