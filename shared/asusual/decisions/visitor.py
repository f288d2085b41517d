"""POST /v1/decide/visitor: what a shop's page shows its own visitor, asked with the page's public key.

The page knows its visitor only by the anonymous id its analytics SDK keeps in a cookie, and its
key is known to everyone, so the answer is built to be safe in anybody's hands:

- only a public source's write key asks, from an origin that source allows; a read key (which
  opens every profile) or a server-side source's key is refused (403);
- the visitor is named by ``anonymous_id`` alone: a lookup by email, phone or user id is refused
  (400 naming the field) — with a public key it would tell anybody whether an address is a
  customer's and greet them by name;
- the answer holds the greeting, the placement's text, the day's offer with its price (the decision
  every channel shows that day), yes/no ``known`` flags and the locale, and never a profile id, an
  address, a phone number, a name field or any identifier;
- a customer is recognized only when the anonymous id is *tied* to their profile: a server-side
  source, or an identify whose user id the shop's server signed, named the two together
  (asusual.profiles.model.Profile.ties). An anonymous id that reached a customer's profile any
  other way — an unsigned ``identify {userId: "<someone else>"}`` from a browser, or a merge such
  a claim caused — gets the answer a stranger gets: a neutral greeting and the anonymous offer;
- a profile of anonymous ids only (a visitor who never named themselves) gets its own
  non-identifying personalization: the time of day where its browser is and its own day offer,
  never a name (traits a browser sent about itself are not read back);
- rate-limited per key and per (key, anonymous id), 429 with Retry-After;
- the language is the request's ``locale``, else the browser's ``Accept-Language``, else the
  customer's declared one, else the content pack's default — one locale for the whole answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from asusual.access.keys import key_from_authorization
from asusual.access.models import Channel, KeyScope
from asusual.access.origins import check_origin
from asusual.access.service import KeyLookup, authenticate
from asusual.access.throttle import RateLimiter
from asusual.content.language import language_tag, reader_locale
from asusual.content.pack import ContentPack
from asusual.decisions.decide import (
    NOBODY,
    Audience,
    KnownContact,
    OfferView,
    Placement,
    PlacementChannel,
    anonymous_audience,
    answer_fields,
    customer_audience,
    render,
)
from asusual.errors import BadRequest, Forbidden
from asusual.identity.models import Identifier, Kind
from asusual.observability import MetricUnit, metrics
from asusual.offers.models import DecisionRepository
from asusual.offers.service import OfferPool
from asusual.profiles.model import Profile
from asusual.profiles.processor import ProfileRepository, live_profiles
from asusual.profiles.view import TenurePolicy
from asusual.weather.rules import WeatherSource


class VisitorPlacement(StrEnum):
    SITE_GREETING = "site_greeting"
    SITE_BANNER = "site_banner"


class VisitorRequest(BaseModel):
    """Body of POST /v1/decide/visitor. Any other field is refused, naming it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    anonymous_id: str = Field(
        min_length=1,
        max_length=256,
        description="the anonymous id the page's SDK keeps: analytics-next's analytics.user().anonymousId() "
        "(cookie ajs_anonymous_id), RudderStack's rudderanalytics.getAnonymousId() (cookie rl_anonymous_id, "
        "stored encoded: see the README)",
    )
    placement: VisitorPlacement
    locale: str | None = Field(
        default=None, description="the page's language (en, en-US, ru); else Accept-Language decides"
    )

    @field_validator("anonymous_id")
    @classmethod
    def _anonymous_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("blank")
        return value.strip()

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return language_tag(value) if value is not None else None


VISITOR_FIELDS = frozenset(VisitorRequest.model_fields)


def visitor_request(payload: object) -> VisitorRequest:
    """The body as a :class:`VisitorRequest`; 400 naming the field otherwise. A field that would name
    the visitor some other way (email, phone, user_id, identifier ...) is refused by name."""
    if payload is None:
        raise BadRequest("body: required (a JSON object)", code="invalid_body")
    if not isinstance(payload, dict):
        raise BadRequest("body: must be a JSON object", code="invalid_request")
    for name in payload:
        if name not in VISITOR_FIELDS:
            raise BadRequest(
                f"{str(name)[:64]}: not accepted; a page names its visitor only by anonymous_id "
                "(a lookup by email, phone or user id takes the read key, from a server: POST /v1/decide)",
                code="invalid_request",
            )
    try:
        return VisitorRequest.model_validate(payload)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in error["loc"]) or "body"
            parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise BadRequest("; ".join(parts), code="invalid_request") from exc


class Recognition(StrEnum):
    """Whom an anonymous id leads to, as far as a browser may be told."""

    UNKNOWN = "unknown"  # no profile holds it
    ANONYMOUS = "anonymous"  # a profile of anonymous and device ids only: nobody named
    UNTIED = "untied"  # a person's profile, reached without a vouched tie: answered as UNKNOWN
    KNOWN = "known"  # tied by a server-side source or a signed user id: the customer


def recognize(profile: Profile | None, anonymous_id: str) -> Recognition:
    if profile is None:
        return Recognition.UNKNOWN
    if not profile.names_a_person():
        return Recognition.ANONYMOUS
    return Recognition.KNOWN if profile.ties(anonymous_id) else Recognition.UNTIED


class VisitorContext(BaseModel):
    """What the words were based on: never a zone, a local time or a name."""

    model_config = ConfigDict(frozen=True)

    daypart: str | None = Field(description="morning, day, evening, night; null: not known for sure")
    season: str | None
    holiday: str | None
    tenure: str = Field(description="new, returning, loyal (new for a visitor not recognized)")


class VisitorDecision(BaseModel):
    """What the page shows its visitor. No profile id, address, phone, name field or identifier."""

    model_config = ConfigDict(frozen=True)

    placement: VisitorPlacement
    greeting: str = Field(description="daypart greeting; with the name only for a recognized customer")
    text: str = Field(description="the placement's text (greeting line, banner copy)")
    offer: OfferView | None = Field(
        description="the day's offer and price, the same on every channel that day"
    )
    why: str
    locale: str = Field(description="the content locale of greeting, text and why")
    decided_for: date = Field(description="the visitor's local date the offer holds for")
    recognized: bool = Field(
        description="greeted as a known customer: the anonymous id is tied to them by a server-side "
        "source or a signed user id (see the README, 'On your web shop')"
    )
    known: KnownContact = Field(description="yes/no only; all false unless recognized")
    context: VisitorContext


@dataclass(frozen=True)
class VisitorCall:
    """The HTTP request as the handler hands it over; the body is read after the key is checked."""

    authorization: str | None
    origin: str | None
    accept_language: str | None
    body: Callable[[], Any]


@dataclass(frozen=True)
class VisitorLimits:
    key_rate: float  # requests/s per key when its source sets none (ASUSUAL_DEFAULT_RATE_LIMIT)
    key_burst: int
    visitor_rate: float  # per key and anonymous id (ASUSUAL_VISITOR_RATE_LIMIT)
    visitor_burst: int


def decide_for_visitor(
    call: VisitorCall,
    *,
    keys: KeyLookup,
    profiles: ProfileRepository,
    decisions: DecisionRepository,
    pool: OfferPool,
    pack: ContentPack,
    limiter: RateLimiter,
    limits: VisitorLimits,
    default_country: str | None,
    tenure: TenurePolicy,
    now: datetime,
    weather: WeatherSource | None = None,
) -> VisitorDecision:
    """``weather``: where the day's weather comes from (docs/weather.md; None: the feature is off)."""
    principal = authenticate(
        key_from_authorization(call.authorization), keys, now=now, allowed=tuple(KeyScope)
    )
    source = principal.source
    if principal.scope is not KeyScope.WRITE or source is None:
        raise Forbidden(
            f"Authorization: a {principal.scope} key cannot ask for a visitor's decision; a page sends its "
            "public source's write key (a read key opens every profile: keep it on a server, with "
            "POST /v1/decide)"
        )
    if not source.public:
        raise Forbidden(
            f"Authorization: source {source.source_id!r} is server-side; a page asks with a public "
            "source's key (POST /v1/decide takes the read key, from a server)",
            code="not_public_source",
        )
    check_origin(call.origin, source)
    limiter.take(
        f"key:{principal.key_id}",
        rate=source.rate_limit or limits.key_rate,
        burst=source.burst or limits.key_burst,
        now=now,
    )
    request = visitor_request(call.body())
    limiter.take(
        f"visitor:{principal.key_id}:{request.anonymous_id}",
        rate=limits.visitor_rate,
        burst=limits.visitor_burst,
        now=now,
        what="this visitor",
    )
    identifier = Identifier(kind=Kind.ANONYMOUS_ID, value=request.anonymous_id)
    owner = profiles.owners([identifier]).get(identifier)
    profile = live_profiles(profiles, {owner}).get(owner) if owner else None
    recognition = recognize(profile, request.anonymous_id)
    products = pool.offer_pool()
    channel = PlacementChannel.APP if source.channel is Channel.APP else PlacementChannel.WEB
    placement = Placement(request.placement.value)
    audience: Audience
    if profile is None or recognition in (Recognition.UNKNOWN, Recognition.UNTIED):
        # a stranger: where the page's source is (nothing is kept of this answer)
        audience = anonymous_audience(products, source.country or default_country, now, tenure)
    else:
        state = profile.state()
        if recognition is Recognition.ANONYMOUS:
            # what a browser said about itself (names, contacts) is not read back to a browser
            state = state.model_copy(update={"traits": {}, "subscriptions": {}})
        audience = customer_audience(
            profile.profile_id,
            state,
            decisions,
            products,
            default_country=default_country,  # as every channel reckons the customer's day
            now=now,
            tenure=tenure,
            decided_on=f"{channel.value}:{placement.value}",
            weather_source=weather,
        )
        if recognition is Recognition.ANONYMOUS:
            audience = dataclasses.replace(audience, known=NOBODY)
    locale = reader_locale(request.locale, call.accept_language, pack.locales)
    rendered = render(pack, audience, placement, channel, now, locale)
    recognized = recognition is Recognition.KNOWN
    metrics.add_metric(name="VisitorDecisions", unit=MetricUnit.Count, value=1)
    if recognized:
        metrics.add_metric(name="VisitorsRecognized", unit=MetricUnit.Count, value=1)
    return VisitorDecision(
        placement=request.placement,
        recognized=recognized,
        **answer_fields(rendered, audience),
        context=VisitorContext(
            daypart=rendered.context.get("daypart"),
            season=rendered.context.get("season"),
            holiday=rendered.context.get("holiday"),
            tenure=audience.profile.tenure.stage.value,
        ),
    )
