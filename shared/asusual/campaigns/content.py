"""A campaign's words, checked before it is kept: every locale must be one of the content pack's,
every field Liquid that uses only the pack's variables and filters, and every field must render
for each sample customer (named or not, with or without the day's offer and recommendations, zone
known or not), since a field that fails for one customer would leave her without the message. Errors
name the locale and the field: ``content.ru.subject``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from asusual.catalog.models import ContentProduct
from asusual.content.pack import OWN_VARIANT, ContentPack, PackError, check_source, with_templates
from asusual.content.render import ContentInput, ContentUnavailable, Rendered, compose
from asusual.delivery.programs import MEMBER_FALLBACK
from asusual.errors import BadRequest
from asusual.profiles.view import ProfileView, Tenure, TenureStage
from asusual.triggers.kinds.campaign import channel_templates
from asusual.triggers.models import CampaignContent

TRIGGER = "campaign"
SAMPLE_WHY_URL = "https://example.invalid/why"


class InvalidCampaign(BadRequest):
    code = "invalid_campaign"


def sample_view(locale: str, named: bool) -> ProfileView:
    """A customer as templates see her: Анна Сергеевна (declared gender) or nobody known."""
    first, middle, last = ("Анна", "Сергеевна", "Иванова") if named else (None, None, None)
    return ProfileView(
        profile_id="p_sample",
        display_name=first,
        first_name=first,
        middle_name=middle,
        last_name=last,
        email="sample@example.invalid",
        phone=None,
        address=None,
        birthday=None,
        gender="female" if named else None,
        title=None,
        locale=locale,
        timezone=None,
        preferred_channel=None,
        subscriptions={},
        channels=[],
        tenure=Tenure(
            stage=TenureStage.RETURNING if named else TenureStage.NEW,
            order_count=2 if named else 0,
            revenue={},
            first_seen=None,
            last_seen=None,
            last_order=None,
        ),
        purchases=[],
        traits={},
    )


SAMPLE_OFFER = ContentProduct(
    product_id="sample-offer", name="Корм для кошек", price="1290.00", currency="RUB", category="корм"
)
# the products a campaign message may recommend (docs/recommendations.md): checked with two and none
SAMPLE_RECOMMENDATIONS = (
    ContentProduct(product_id="sample-bowl", name="Миска", price="490.00", currency="RUB", category="посуда"),
    ContentProduct(product_id="sample-toy", name="Мышка", price="150.00", currency="RUB", category="игрушки"),
)
# a zone known (Moscow: a daypart and a season) and not (every zone of Russia: neither)
SAMPLE_ZONES: tuple[tuple[str, ...], ...] = (("Europe/Moscow",), ("Europe/Moscow", "Asia/Vladivostok"))


def facts_for(campaign_id: str, segment_id: str, segment_name: str, locale: str) -> dict[str, object]:
    return {
        "trigger": TRIGGER,
        "campaign_id": campaign_id,
        "segment_id": segment_id,
        "segment_name": segment_name,
        "segment_reason": MEMBER_FALLBACK.get(locale, MEMBER_FALLBACK["en"]),
    }


def render(
    pack: ContentPack,
    channel: str,
    locale: str,
    subject: str | None,
    body: str,
    request: ContentInput,
) -> Rendered:
    own = with_templates(pack, TRIGGER, {channel: {locale: (subject, body)}})
    return compose(own, request)


def check_content(
    pack: ContentPack,
    content: Mapping[str, CampaignContent],
    channels: Sequence[str] | None,
    campaign_id: str,
    segment_id: str,
    segment_name: str,
    now: datetime,
) -> None:
    """InvalidCampaign naming ``content.<locale>.<field>`` (or ``channels``) at the first fault."""
    for locale, words in content.items():
        if locale not in pack.locales:
            raise InvalidCampaign(
                f"content.{locale}: not a locale of the content pack ({', '.join(pack.locales)})"
            )
        if words.subject is not None and words.body is None and words.text is None:
            raise InvalidCampaign(f"content.{locale}.body: an email needs a body with its subject")
        if words.body is not None and not words.subject:
            raise InvalidCampaign(f"content.{locale}.subject: an email needs a subject with its body")
        if not (words.body or words.text):
            raise InvalidCampaign(f"content.{locale}: give subject and body (email) and/or text")
        for field in ("subject", "body", "text"):
            source = getattr(words, field)
            if source is None:
                continue
            if not source.strip():
                raise InvalidCampaign(f"content.{locale}.{field}: empty")
            try:
                check_source(locale, source, f"content.{locale}.{field}")
            except PackError as exc:
                raise InvalidCampaign(str(exc)) from exc
    worded = channel_templates(content)
    if channels is not None and (missing := [c for c in channels if c not in worded]):
        needed = "subject and body" if missing[0] == "email" else "text"
        raise InvalidCampaign(f"channels: no words for {missing[0]} (give {needed})")
    for locale, words in content.items():
        for field, channel, subject, body in _fields(words):
            for named in (True, False):
                for offer in (SAMPLE_OFFER, None):
                    for zones in SAMPLE_ZONES:
                        request = ContentInput(
                            trigger=TRIGGER,
                            channel=channel,
                            profile=sample_view(locale, named),
                            zones=zones,
                            country="RU",
                            now=now,
                            facts=facts_for(campaign_id, segment_id, segment_name, locale),
                            offer=offer,
                            recommendations=SAMPLE_RECOMMENDATIONS if offer else (),
                            why_url=SAMPLE_WHY_URL,
                            locale=locale,
                        )
                        try:
                            render(pack, channel, locale, subject, body, request)
                        except ContentUnavailable as exc:
                            who = (
                                "a customer whose name we know"
                                if named
                                else "a customer whose name we do not know"
                            )
                            raise InvalidCampaign(
                                f"content.{locale}.{field}: does not render for {who}"
                                f"{' with' if offer else ' without'} the day's offer: {_reason(exc)}"
                            ) from exc


def _fields(words: CampaignContent) -> list[tuple[str, str, str | None, str]]:
    """(field, channel, subject, body): each field rendered beside a plain partner, so a failure
    names the field that caused it."""
    out: list[tuple[str, str, str | None, str]] = []
    if words.subject and words.body:
        out.append(("subject", "email", words.subject, "x"))
        out.append(("body", "email", "x", words.body))
    if words.text:
        out.append(("text", "sms", None, words.text))
    return out


def _reason(exc: ContentUnavailable) -> str:
    text = str(exc)
    marker = f"({OWN_VARIANT}: "
    if marker in text:
        text = text.split(marker, 1)[1].rstrip(")")
    return text[:300]
