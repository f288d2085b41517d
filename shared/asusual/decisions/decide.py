"""POST /v1/decide: what a real-time channel (site, app, POS, call center) says and offers to this
customer now. The offer and its price are the day's sticky decision (asusual.offers.service), so
every channel shows the same thing; the greeting follows the customer's local time."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from asusual.catalog.models import PricedProduct
from asusual.content.context import common_season
from asusual.content.pack import ContentPack
from asusual.content.render import (
    ContentInput,
    compose,
)
from asusual.delivery.models import DeliveryChannel
from asusual.delivery.policy import addresses, consent_for
from asusual.identity.extract import lookup_identifier
from asusual.localtime import country_zones
from asusual.offers.models import DecisionRepository
from asusual.offers.service import OfferPool, choose_offer, customer_day, todays_offer
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.processor import ProfileRepository, live_profiles
from asusual.profiles.state import ProfileState
from asusual.profiles.view import TenurePolicy, view
from asusual.triggers.models import Topic

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


def _offer_view(product: PricedProduct | None) -> OfferView | None:
    if product is None or product.price is None or product.currency is None:
        return None
    return OfferView(
        product_id=product.product_id, name=product.name, price=str(product.price), currency=product.currency
    )


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
) -> Decision:
    identifier = lookup_identifier(request.identifier.type, request.identifier.value, default_country)
    owner = profiles.owners([identifier]).get(identifier)
    profile = live_profiles(profiles, {owner}).get(owner) if owner else None
    products = pool.offer_pool()
    if profile is None:
        state = ProfileState()
        zones = country_zones(default_country)
        profile_view = view(ANONYMOUS, state, tenure)
        country = default_country
        day = customer_day(now, zones)
        chosen = choose_offer(products, state, common_season(now, zones), ANONYMOUS, day)
        offer = chosen.priced() if chosen is not None else None
        profile_id = None
        known = NOBODY
    else:
        state = profile.state()
        zones = plausible_zones(state, default_country)
        profile_view = view(profile.profile_id, state, tenure)
        country = country_of({k: v.value for k, v in state.traits.items()}, default_country)
        day = customer_day(now, zones)
        offer = todays_offer(
            decisions, products, state, common_season(now, zones), profile.profile_id, day, now,
            f"{request.channel.value}:{request.placement.value}",
        ).offer  # fmt: skip
        profile_id = profile.profile_id
        known = known_contact(state)
    rendered = compose(
        pack,
        ContentInput(
            trigger=request.placement.value,
            channel=request.channel.value,
            profile=profile_view,
            zones=zones,
            country=country,
            now=now,
            facts={},
            offer=offer.shown() if offer is not None else None,
        ),
    )
    return Decision(
        profile_id=profile_id,
        placement=request.placement,
        channel=request.channel,
        greeting=rendered.greeting,
        text=rendered.body,
        offer=_offer_view(offer),
        why=rendered.why,
        locale=rendered.locale,
        decided_for=day,
        context=rendered.context,
        known=known,
    )
