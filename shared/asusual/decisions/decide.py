"""POST /v1/decide: what a real-time channel (site, app, POS, call center) says and offers to this
customer now. The offer and its price are the day's sticky decision (asusual.offers.service), so
every channel shows the same thing; the greeting follows the customer's local time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.content.context import common_season
from asusual.content.language import language_tag, reader_locale
from asusual.content.pack import ContentPack
from asusual.content.render import ContentInput, Rendered, compose
from asusual.delivery.models import DeliveryChannel
from asusual.delivery.policy import addresses, consent_for
from asusual.identity.extract import lookup_identifier
from asusual.localtime import country_zones
from asusual.offers.models import DecisionRepository
from asusual.offers.service import OfferPool, choose_offer, customer_day, todays_offer
from asusual.offers.weather import customer_weather
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.processor import ProfileRepository, live_profiles
from asusual.profiles.state import ProfileState
from asusual.profiles.view import ProfileView, TenurePolicy, view
from asusual.recommendations.serve import (
    DEFAULT_RECOMMENDATIONS,
    MAX_RECOMMENDATIONS,
    Recommended,
    Recommender,
    recommendations_for,
    why_text,
)
from asusual.triggers.models import Topic
from asusual.weather.rules import Weather, WeatherSource

ANONYMOUS = "anonymous"


class Placement(StrEnum):
    SITE_GREETING = "site_greeting"
    SITE_BANNER = "site_banner"
    POS_GREETING = "pos_greeting"
    CALL_CENTER_SCRIPT = "call_center_script"


class PlacementChannel(StrEnum):
    WEB = "web"
    APP = "app"
    STORE = "store"
    CALL_CENTER = "call_center"


class IdentifierRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(
        min_length=1, max_length=64, description="user_id, anonymous_id, email, phone, or an externalIds type"
    )
    value: str = Field(min_length=1, max_length=256)


class DecideRequest(BaseModel):
    """Body of POST /v1/decide (design.md 3.3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: IdentifierRef
    placement: Placement
    channel: PlacementChannel
    locale: str | None = Field(
        default=None,
        description="the reader's language (en, en-US, ru): used when the content pack has it, else the "
        "customer's declared locale, else the pack's default",
    )
    recommendations: int = Field(
        default=DEFAULT_RECOMMENDATIONS,
        ge=0,
        le=MAX_RECOMMENDATIONS,
        description="how many recommended products to answer (0 to 10; 0: none, no model read)",
    )

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return language_tag(value) if value is not None else None


class RecommendationView(BaseModel):
    """A recommended product (docs/recommendations.md): never sensitive, in stock, in season, not
    bought in the last 30 days; the catalog's current price; why, in the answer's locale."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str
    price: str = Field(description="exact decimal, the catalog's current price")
    currency: str
    reason: str = Field(
        description="bought_before, bought_together, bought_after, viewed_then_bought, popular_in_category, "
        "popular"
    )
    why: str = Field(description="one line the customer may read, e.g. 'Often bought together with Purina'")


def recommendation_views(recommended: Sequence[Recommended], locale: str) -> list[RecommendationView]:
    return [
        RecommendationView(
            product_id=r.product.product_id,
            name=r.product.name,
            price=str(r.product.price),
            currency=r.product.currency or "",
            reason=r.reason,
            why=why_text(r, locale),
        )
        for r in recommended
        if r.product.price is not None
    ]


class OfferView(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    name: str
    price: str = Field(description="exact decimal, as in the catalog when first decided today")
    currency: str


class KnownContact(BaseModel):
    """What the customer already gave us, as yes/no only (no address leaves the engine): a form
    must not ask for an email we write to, nor offer a subscription the customer already has."""

    model_config = ConfigDict(frozen=True)

    email: bool = Field(description="we hold an email address: do not ask for it")
    phone: bool = Field(description="we hold a phone number we can text: do not ask for it")
    marketing: list[str] = Field(description="channels the customer opted in to marketing on")


NOBODY = KnownContact(email=False, phone=False, marketing=[])


def known_contact(state: ProfileState) -> KnownContact:
    reachable = addresses(state, ())
    return KnownContact(
        email=DeliveryChannel.EMAIL in reachable,
        phone=DeliveryChannel.SMS in reachable,
        marketing=[c.value for c in DeliveryChannel if consent_for(state, c, Topic.MARKETING)[0] is not None],
    )


class Decision(BaseModel):
    """What to say and show. ``offer`` is null when nothing in the pool fits (season, history)."""

    model_config = ConfigDict(frozen=True)

    profile_id: str | None = Field(description="null: the identifier is not known yet (neutral answer)")
    placement: Placement
    channel: PlacementChannel
    greeting: str
    text: str = Field(description="the placement's text (banner copy, cashier's line, agent's script)")
    offer: OfferView | None
    why: str
    locale: str
    decided_for: date = Field(description="the customer's local date the offer holds for")
    context: dict[str, object] = Field(description="daypart, season, holiday, tenure the text used")
    known: KnownContact = Field(description="what the customer already gave us (no addresses, yes/no)")
    segments: list[str] = Field(default_factory=list, description="ids of the live segments she is in")
    recommendations: list[RecommendationView] = Field(
        default_factory=list,
        description="products for her, best first, each with why (request: recommendations)",
    )


def offer_view(product: PricedProduct | None) -> OfferView | None:
    if product is None or product.price is None or product.currency is None:
        return None
    return OfferView(
        product_id=product.product_id, name=product.name, price=str(product.price), currency=product.currency
    )


@dataclass(frozen=True)
class Audience:
    """Whom an answer is for, as the content sees them, and what they are offered today."""

    profile_id: str | None
    profile: ProfileView
    zones: tuple[str, ...]
    country: str | None
    day: date
    offer: PricedProduct | None
    known: KnownContact
    weather: Weather | None = None  # where the customer is, today (docs/weather.md)


def anonymous_audience(
    products: Sequence[CatalogProduct], country: str | None, now: datetime, tenure: TenurePolicy
) -> Audience:
    """Somebody we do not know (or may not say we know): neutral words for every zone of the
    country, the offer any stranger gets today (decided, not stored)."""
    state = ProfileState()
    zones = country_zones(country)
    day = customer_day(now, zones)
    chosen = choose_offer(products, state, common_season(now, zones), ANONYMOUS, day)
    return Audience(
        profile_id=None,
        profile=view(ANONYMOUS, state, tenure),
        zones=zones,
        country=country,
        day=day,
        offer=chosen.priced() if chosen is not None else None,
        known=NOBODY,
    )


def customer_audience(
    profile_id: str,
    state: ProfileState,
    decisions: DecisionRepository,
    products: Sequence[CatalogProduct],
    *,
    default_country: str | None,
    now: datetime,
    tenure: TenurePolicy,
    decided_on: str,
    weather_source: WeatherSource | None = None,
) -> Audience:
    """A customer as their profile says: their zone, country and name, the day's weather where
    they are (``weather_source``: None, the feature is off), and the day's offer every channel
    shows them (asusual.offers.service.todays_offer: the first channel to ask decides)."""
    zones = plausible_zones(state, default_country)
    day = customer_day(now, zones)
    weather = customer_weather(weather_source, state, default_country, now)
    offer = todays_offer(
        decisions, products, state, common_season(now, zones), profile_id, day, now, decided_on, weather
    ).offer
    return Audience(
        profile_id=profile_id,
        profile=view(profile_id, state, tenure),
        zones=zones,
        country=country_of({k: v.value for k, v in state.traits.items()}, default_country),
        day=day,
        offer=offer,
        known=known_contact(state),
        weather=weather,
    )


def render(
    pack: ContentPack,
    audience: Audience,
    placement: Placement,
    channel: PlacementChannel,
    now: datetime,
    locale: str | None = None,
) -> Rendered:
    """The placement's words for the audience, in ``locale`` when given (else the profile's)."""
    return compose(
        pack,
        ContentInput(
            trigger=placement.value,
            channel=channel.value,
            profile=audience.profile,
            zones=audience.zones,
            country=audience.country,
            now=now,
            facts={},
            offer=audience.offer.shown() if audience.offer is not None else None,
            locale=locale,
            weather=audience.weather,
        ),
    )


def answer_fields(rendered: Rendered, audience: Audience) -> dict[str, Any]:
    """What every decision answer says alike: the words, the offer, the locale, the day, ``known``."""
    return {
        "greeting": rendered.greeting,
        "text": rendered.body,
        "offer": offer_view(audience.offer),
        "why": rendered.why,
        "locale": rendered.locale,
        "decided_for": audience.day,
        "known": audience.known,
    }


def decide(
    request: DecideRequest,
    profiles: ProfileRepository,
    decisions: DecisionRepository,
    pool: OfferPool,
    pack: ContentPack,
    *,
    now: datetime,
    default_country: str | None,
    tenure: TenurePolicy,
    live_segments: Callable[[], Mapping[str, str]] | None = None,
    weather: WeatherSource | None = None,
    recommender: Recommender | None = None,
) -> Decision:
    """``live_segments``: the live segments (id → incarnation) whose membership the answer shows;
    ``weather``: where the day's weather comes from (None: the feature is off); ``recommender``:
    where the recommendations come from (None: the answer has none)."""
    identifier = lookup_identifier(request.identifier.type, request.identifier.value, default_country)
    owner = profiles.owners([identifier]).get(identifier)
    profile = live_profiles(profiles, {owner}).get(owner) if owner else None
    products = pool.offer_pool()
    if profile is None:
        audience = anonymous_audience(products, default_country, now, tenure)
    else:
        audience = customer_audience(
            profile.profile_id,
            profile.state(),
            decisions,
            products,
            default_country=default_country,
            now=now,
            tenure=tenure,
            decided_on=f"{request.channel.value}:{request.placement.value}",
            weather_source=weather,
        )
    locale = reader_locale(request.locale, None, pack.locales)
    rendered = render(pack, audience, request.placement, request.channel, now, locale)
    recommended: list[Recommended] = []
    if recommender is not None and request.recommendations:
        recommended = recommendations_for(
            profile.state() if profile is not None else ProfileState(),
            recommender,
            products,
            common_season(now, audience.zones),
            now,
            audience.day,
            audience.profile_id or ANONYMOUS,
            request.recommendations,
        )
    return Decision(
        profile_id=audience.profile_id,
        placement=request.placement,
        channel=request.channel,
        context=rendered.context,
        segments=profile.live_segments(live_segments()) if profile is not None and live_segments else [],
        recommendations=recommendation_views(recommended, rendered.locale),
        **answer_fields(rendered, audience),
    )
