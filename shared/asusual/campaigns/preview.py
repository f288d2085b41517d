"""POST /v1/campaigns/preview: what a campaign would do, sending and keeping nothing — the
segment's size, a sample of members with why each is in, and what a named customer (or the first
sampled member) would receive: the channel the dispatcher would choose, subject and text rendered
in her locale at her local send time. The day's offer is not decided for a preview (that would
keep it for her day), so the message shows none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asusual.campaigns.content import TRIGGER
from asusual.campaigns.models import Campaign, Exposure, Preview, PreviewMessage, PreviewRequest, SampleMember
from asusual.campaigns.plan import member_moment
from asusual.campaigns.ports import MemberPages
from asusual.campaigns.service import build, intent_for
from asusual.content.pack import ContentPack, with_templates
from asusual.content.render import ContentInput, ContentUnavailable, compose, resolve_locale
from asusual.delivery.policy import addresses, choose_channel
from asusual.delivery.programs import MEMBER_FALLBACK, SegmentWords
from asusual.errors import NotFound
from asusual.localtime import local_now
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileLoader, live_profiles
from asusual.profiles.view import TenurePolicy, view
from asusual.triggers.kinds.campaign import channel_templates, program_of

SAMPLE_SIZE = 5


class ProfileNotFound(NotFound):
    code = "profile_not_found"


@dataclass(frozen=True)
class PreviewDeps:
    segments: MemberPages
    profiles: ProfileLoader
    pack: ContentPack
    default_messages_per_second: int
    default_country: str | None = None
    tenure: TenurePolicy = field(default_factory=TenurePolicy)
    webhooks: Sequence[str] = ()
    segment_words: SegmentWords | None = None


def preview(deps: PreviewDeps, request: PreviewRequest, now: datetime) -> Preview:
    campaign = build(deps.segments, deps.pack, request, now, deps.default_messages_per_second)
    segment = deps.segments.segment(campaign.segment_id)
    assert segment is not None  # build found it
    members, _ = deps.segments.members_page(segment, SAMPLE_SIZE, None)
    wanted = {m.profile_id for m in members} | ({request.profile_id} if request.profile_id else set())
    profiles = live_profiles(deps.profiles, wanted) if wanted else {}
    sample = [
        SampleMember(profile_id=m.profile_id, why=_why(deps, profiles.get(m.profile_id), campaign.segment_id))
        for m in members
    ]
    target = request.profile_id or (members[0].profile_id if members else None)
    message = None
    if target is not None:
        profile = profiles.get(target)
        if profile is None:
            raise ProfileNotFound(f"profile_id: no profile {target!r}")
        message = _message(deps, campaign, profile, target, now)
    return Preview(size=deps.segments.size(segment), sample=sample, message=message)


def _words(deps: PreviewDeps, profile: Profile | None, segment_id: str, locale: str) -> list[str]:
    words = deps.segment_words(profile, segment_id, locale) if deps.segment_words and profile else []
    return words or [MEMBER_FALLBACK.get(locale, MEMBER_FALLBACK["en"])]


def _why(deps: PreviewDeps, profile: Profile | None, segment_id: str) -> list[str]:
    locale = deps.pack.default_locale
    if profile is not None:
        locale = resolve_locale(view(profile.profile_id, profile.state(), deps.tenure).locale, deps.pack)
    return _words(deps, profile, segment_id, locale)


def _message(
    deps: PreviewDeps, campaign: Campaign, profile: Profile, profile_id: str, now: datetime
) -> PreviewMessage | None:
    state = profile.state()
    customer = view(profile.profile_id, state, deps.tenure)
    traits = {k: v.value for k, v in state.traits.items()}
    zones = plausible_zones(state, deps.default_country)
    release = member_moment(campaign.send_at, zones)
    exposure = Exposure(
        profile_id=profile_id,
        program=program_of(campaign.campaign_id),
        group="recipient",
        assigned_at=now,
        window_end=release,
        release_at=release,
        campaign_id=campaign.campaign_id,
    )
    intent = intent_for(campaign, exposure, now)
    templates = channel_templates(campaign.content)
    choice = choose_channel(intent, state, customer.preferred_channel, addresses(state, deps.webhooks))
    channel = choice.channel.value if choice.channel is not None else next(iter(templates))
    locale = resolve_locale(customer.locale, deps.pack)
    facts = {
        **intent.facts.model_dump(mode="json"),
        "segment_reason": "; ".join(_words(deps, profile, campaign.segment_id, locale)),
    }
    request = ContentInput(
        trigger=TRIGGER,
        channel=channel,
        profile=customer,
        zones=zones,
        country=country_of(traits, deps.default_country),
        now=release,
        facts=facts,
        why_url="",
    )
    try:
        rendered = compose(with_templates(deps.pack, TRIGGER, templates), request)
    except ContentUnavailable:
        return None
    return PreviewMessage(
        channel=channel,
        locale=rendered.locale,
        subject=rendered.subject,
        text=rendered.body,
        local_send_at=local_now(release, zones),
    )
