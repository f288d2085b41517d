"""A campaign is checked whole before it is kept: 400 naming the field (content naming locale and
field), 404 for an unknown segment; nothing a caller posts makes it fail otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from asusual.campaigns.content import InvalidCampaign
from asusual.campaigns.models import CampaignRequest, Member, SegmentRef
from asusual.campaigns.service import SegmentNotFound, build
from asusual.content.render import default_pack
from asusual.errors import AsusualError

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)


class Segments:
    def segment(self, segment_id: str) -> SegmentRef | None:
        return SegmentRef(segment_id="pets", name="Pets", incarnation="i1") if segment_id == "pets" else None

    def members_page(
        self, segment: SegmentRef, limit: int, cursor: str | None
    ) -> tuple[list[Member], str | None]:
        return [], None

    def size(self, segment: SegmentRef) -> int:
        return 0


def body(**overrides: object) -> dict[str, object]:
    return {
        "campaign_id": "pets-dec",
        "segment_id": "pets",
        "topic": "marketing",
        "send_at": {"local_date": "2026-12-10", "local_time": "10:00"},
        "holdout_percent": 10,
        "conversion_window_days": 7,
        "content": {
            "ru": {"subject": "Скидка", "body": "{{ hello }}! Скидка на корм.", "text": "Скидка на корм"}
        },
        **overrides,
    }


def make(**overrides: object):
    return build(Segments(), default_pack(), CampaignRequest.model_validate(body(**overrides)), NOW, 50)


def test_valid_campaign_is_built_with_the_segments_name_and_the_default_throttle():
    campaign = make()
    assert (campaign.segment_name, campaign.incarnation, campaign.messages_per_second) == ("Pets", "i1", 50)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"de": {"text": "Hallo"}}, "content.de: not a locale of the content pack (ru, en)"),
        (
            {"ru": {"subject": "Hi", "body": "{{ name }}, скидка"}},
            "content.ru.body: does not render for a customer whose name we do not know",
        ),
        ({"ru": {"subject": "{{ nme }}", "body": "x"}}, "content.ru.subject: unknown variable(s) nme"),
        ({"en": {"text": "{% if %}"}}, "content.en.text: Liquid syntax error"),
        ({"ru": {"subject": "Hi"}}, "content.ru.body: an email needs a body with its subject"),
        ({"ru": {"body": "Hi"}}, "content.ru.subject: an email needs a subject with its body"),
        ({"ru": {"text": "{{ price | money }}"}}, "content.ru.text:"),
        ({"ru": {"text": "Hi {{ offer.name }}"}}, "content.ru.text: does not render"),
    ],
)
def test_content_fault_is_400_naming_locale_and_field(content, message):
    with pytest.raises(InvalidCampaign) as raised:
        make(content=content)
    assert str(raised.value).startswith(message), str(raised.value)
    assert raised.value.status == 400


def test_content_with_has_name_guard_renders_for_everybody():
    make(content={"ru": {"subject": "{% if has_name %}{{ name }}, {% endif %}скидка", "body": "Скидка"}})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"send_at": {"at": "2026-12-09T11:59:00Z"}}, "send_at.at: in the past"),
        (
            {"send_at": {"local_date": "2026-12-08", "local_time": "10:00"}},
            "send_at.local_date: that local time has passed everywhere",
        ),
        ({"send_at": {"local_date": "2026-12-10"}}, "send_at.local_time: required"),
        ({"send_at": {"at": "2026-12-10T10:00:00Z", "local_time": "10:00"}}, "send_at: either at"),
        (
            {"channels": ["email", "sms"], "content": {"ru": {"subject": "S", "body": "B"}}},
            "channels: no words for sms",
        ),
    ],
)
def test_send_time_and_channels_faults_are_400_naming_the_field(overrides, message):
    with pytest.raises(InvalidCampaign, match=f"^{message}"):
        make(**overrides)


def test_unknown_segment_is_404_naming_segment_id():
    with pytest.raises(SegmentNotFound, match=r"^segment_id: no segment 'cats'$"):
        make(segment_id="cats")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holdout_percent": 51}, "holdout_percent"),
        ({"topic": "transactional"}, "topic"),
        ({"campaign_id": "Bad Id"}, "campaign_id"),
        ({"channels": ["fax"]}, "channels.0"),
        ({"content": {}}, "content"),
        ({"send_at": {"local_date": "2026-13-40", "local_time": "10:00"}}, "send_at.local_date"),
    ],
)
def test_request_shape_faults_name_the_field(overrides, field):
    with pytest.raises(ValidationError) as raised:
        CampaignRequest.model_validate(body(**overrides))
    assert field in {".".join(str(p) for p in e["loc"]) for e in raised.value.errors()}


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=40),
    text=st.text(max_size=40),
    locale=st.sampled_from(["ru", "en", "xx", ""]),
)
def test_any_content_is_kept_or_refused_with_a_typed_400_never_a_crash(subject, text, locale):
    try:
        request = CampaignRequest.model_validate(
            body(content={locale: {"subject": subject, "body": text, "text": text}})
        )
    except ValidationError:
        return
    try:
        build(Segments(), default_pack(), request, NOW, 50)
    except AsusualError as exc:
        assert exc.status == 400
