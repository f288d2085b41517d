"""Compose one message or placement text from the content pack, strictly.

The variants of a template are tried in order; the first whose conditions hold *and* that
renders cleanly wins. A variant fails when it references a variable that is not known for this
customer (strict undefined), when its output shows a placeholder, "None"/"null", an empty text
or a salutation left without its name, or when it names a sensitive product anywhere but inside
an email body. Every message then gets its footer: the why line, the why link and, when given,
the unsubscribe link. Templates see plain values only (strings, numbers, booleans, lists and
mappings of them), built here from the profile, the moment and the caller's products.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from http import HTTPStatus
from importlib import resources
from typing import Any

from liquid.exceptions import LiquidError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from asusual.catalog.models import ContentProduct, Season
from asusual.content.context import (
    Address,
    Daypart,
    address,
    common_daypart,
    common_holiday,
    common_season,
    greeting,
    local_today,
    money,
)
from asusual.content.pack import PLACEMENTS, ContentPack, Situation, describe, load_pack, parse, template_id
from asusual.errors import AsusualError
from asusual.localtime import own_zone
from asusual.observability import tracer
from asusual.profiles.view import ProfileView, TenureStage, present_zones
from asusual.weather.rules import Weather

NEUTRAL_PRODUCT = {"ru": "товар из вашего заказа", "en": "your item"}
NEUTRAL_OFFER = {"ru": "товар, подобранный для вас", "en": "an item picked for you"}
FOOTER_LABELS = {
    "ru": {"more": "Подробнее", "unsubscribe": "Отписаться", "preferences": "Настроить рассылки"},
    "en": {"more": "Details", "unsubscribe": "Unsubscribe", "preferences": "Choose what you receive"},
}
RENDER_ERRORS = (LiquidError, ValueError, TypeError, KeyError, ArithmeticError)


class ContentInput(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    trigger: str = Field(description="template key: birthday, order_shipped, site_greeting, ...")
    channel: str = Field(description="email, sms, push, store, call_center; placements: web, app, ...")
    profile: ProfileView
    zones: tuple[str, ...] = Field(description="the customer's zone, or every zone plausible for them")
    country: str | None = Field(description="ISO 3166 alpha-2, for holidays")
    now: datetime
    facts: dict[str, Any] = Field(description="the intent's facts (JSON); {} for placements")
    products: tuple[ContentProduct, ...] = ()
    offer: ContentProduct | None = Field(default=None, description="today's offer, season-filtered")
    why_url: str = ""
    unsubscribe_url: str | None = None
    preferences_url: str | None = Field(default=None, description="the preference center (email footers)")
    message_id: str = ""
    locale: str | None = Field(
        default=None,
        description="the reader's language when it is not the profile's (a page's visitor: the "
        "request or Accept-Language); None: the profile's locale. Greeting, text and why follow it",
    )
    confirm_url: str | None = Field(default=None, description="the signed link confirming an opt-in")
    weather: Weather | None = Field(
        default=None, description="the day's weather where the customer is (docs/weather.md); None: unknown"
    )
    recommendations: tuple[ContentProduct, ...] = Field(
        default=(), description="products recommended to her, best first (docs/recommendations.md)"
    )

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return value


class Rendered(BaseModel):
    model_config = ConfigDict(frozen=True)

    template_id: str = Field(description="trigger.channel, e.g. birthday.email")
    variant_id: str
    locale: str = Field(description="the pack locale used")
    subject: str | None = Field(description="email subject or push title")
    body: str = Field(description="plain text; messages end with the why line and links")
    html: str | None = Field(description="email only: the body as escaped HTML")
    why: str = Field(description="the one-line reason alone")
    greeting: str = Field(description="daypart greeting with the name, e.g. 'Добрый вечер, Анна'")
    shows_offer: bool = Field(default=False, description="the variant printed something of the offer")
    context: dict[str, Any] = Field(description="what the choice was based on, for the explanation record")


class ContentUnavailable(AsusualError):
    """No variant of the template renders for this customer (or the pack lacks the template)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "content_unavailable"


@cache
def default_pack() -> ContentPack:
    """The pack shipped with asusual (packs/default.toml), loaded and validated once."""
    source = resources.files("asusual.content").joinpath("packs").joinpath("default.toml")
    return load_pack(source.read_text(encoding="utf-8"))


def resolve_locale(requested: str | None, pack: ContentPack) -> str:
    """The pack locale for a requested one: "ru-RU", "ru_RU", "RU" → "ru"; "en-GB" → "en";
    unknown or None → the pack's default."""
    if requested and requested.strip():
        text = requested.strip().replace("-", "_").lower()
        for candidate in (text, text.split("_")[0]):
            if candidate in pack.locales:
                return candidate
    return pack.default_locale


# --- the moment and the variables -----------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    locale: str
    daypart: Daypart | None
    season: Season | None
    holiday: str | None
    country: str | None
    today: date
    address: Address
    weather: Weather | None


def _scene(request: ContentInput, locale: str) -> _Scene:
    country = request.country.strip().upper() if request.country and request.country.strip() else None
    daypart = common_daypart(request.now, request.zones)
    if daypart is None and request.trigger in PLACEMENTS:
        # a visitor on a page now: the IP's zone may tell the time of day (a wrong guess costs a
        # "Good evening" at five; a message is timed by the zones alone, asusual.profiles.location)
        daypart = common_daypart(request.now, present_zones(request.profile, request.zones))
    return _Scene(
        locale=locale,
        daypart=daypart,
        season=common_season(request.now, request.zones),
        holiday=common_holiday(country, request.now, request.zones, locale),
        country=country,
        today=local_today(request.now, request.zones),
        address=address(request.profile, locale),
        weather=request.weather,
    )


_NULL_WORDS = frozenset({"null", "none", "nil", "undefined", "nan", "n/a"})


def _text(value: object) -> str | None:
    """A usable text: blank, or nothing but a serialized null ("null", "None", ...), is absent."""
    if not isinstance(value, str) or not (text := value.strip()) or text.lower() in _NULL_WORDS:
        return None
    return text


_PRICE_KEY = re.compile(r"price|total|amount|sum|cost|цена|сумма|стоимость", re.IGNORECASE)


def _fact_variables(facts: Mapping[str, Any]) -> dict[str, object]:
    """The facts a template may use. Amounts never (prices come from the catalog), product names
    never (they come from ``products``, which know what is sensitive)."""
    out: dict[str, object] = {}
    for key, name in (
        ("order_id", "order_id"),
        ("status", "order_status"),
        ("previous_status", "previous_status"),
        ("order_channel", "order_channel"),
        ("birthday", "birthday"),
        ("celebrated_on", "celebrated_on"),
        ("campaign_id", "campaign_id"),
        ("segment_name", "segment_name"),
        ("segment_reason", "segment_reason"),
        ("interest", "interest"),  # back in stock, price drop: viewed | added
        ("interested_on", "interested_on"),
    ):
        if (value := _text(facts.get(key))) is not None:
            out[name] = value
    raw_details = facts.get("details")
    if isinstance(raw_details, Mapping):
        details = {
            str(k): text
            for k, v in raw_details.items()
            if (text := _text(v)) is not None and not _PRICE_KEY.search(str(k))
        }
        if details:
            out["details"] = details
        for key in ("tracking_number", "tracking_url", "carrier", "pickup_location"):
            if key in details:
                out[key] = details[key]
    days = facts.get("days_since")
    if isinstance(days, int) and not isinstance(days, bool) and days >= 0:
        out["days_since"] = days
    more = facts.get("more")  # a cart's products beyond those a message names (0: none, or not a cart)
    out["more_products"] = more if isinstance(more, int) and not isinstance(more, bool) and more > 0 else 0
    channels = facts.get("channels")
    if isinstance(channels, list | tuple):
        names = [c for c in channels if isinstance(c, str) and c]
        if names:
            out["subscribed_channels"] = names
    return out


def _product(
    product: ContentProduct, locale: str, discreet: bool, neutral: Mapping[str, str]
) -> dict[str, object]:
    hidden = discreet and product.sensitive
    name = neutral[locale] if hidden else _text(product.name)
    price_text = None
    if product.price is not None and product.currency:
        try:
            price_text = money(product.price, product.currency, locale)
        except ValueError:
            price_text = None  # a price we cannot show correctly is not shown
    out: dict[str, object] = {
        "product_id": product.product_id,
        "named": not hidden,
        "sensitive": product.sensitive,
        "has_price": price_text is not None,
        "has_quantity": product.quantity is not None,
        "has_category": bool(product.category) and not hidden,
    }
    if name is not None:
        out["name"] = name
    if price_text is not None:
        out["price"] = product.price
        out["currency"] = (product.currency or "").strip().upper()
        out["price_text"] = price_text
    if product.quantity is not None:
        out["quantity"] = product.quantity
    if product.category and not hidden:
        out["category"] = product.category
    return out


def _promo(pack: ContentPack, trigger: str, today: date) -> dict[str, object]:
    promo: dict[str, object] = dict(pack.promotions.get(trigger, {}))
    days = promo.get("valid_days")
    if isinstance(days, int) and not isinstance(days, bool):
        promo["deadline"] = (today + timedelta(days=days)).isoformat()
    return promo


def _variables(pack: ContentPack, request: ContentInput, scene: _Scene, discreet: bool) -> dict[str, object]:
    """Template variables. ``discreet``: sensitive products appear under a neutral name."""
    locale, who = scene.locale, scene.address
    stage = request.profile.tenure.stage
    products = [_product(p, locale, discreet, NEUTRAL_PRODUCT) for p in request.products]
    offer = _product(request.offer, locale, discreet, NEUTRAL_OFFER) if request.offer is not None else None
    out: dict[str, object] = {
        "locale": locale,
        "channel": request.channel,
        "trigger": request.trigger,
        "greeting": greeting(scene.daypart, locale),
        "hello": who.hello(scene.daypart),
        "salutation": who.salutation,
        "signature": pack.signature[locale],
        "has_name": who.first_name is not None,
        "gender_known": who.gender is not None,
        "has_daypart": scene.daypart is not None,
        "has_season": scene.season is not None,
        "has_holiday": scene.holiday is not None,
        "has_weather": scene.weather is not None,
        "has_offer": offer is not None,
        "has_products": bool(products),
        "tenure": stage.value,
        "is_new": stage is TenureStage.NEW,
        "is_returning": stage is not TenureStage.NEW,  # has bought before: returning or loyal
        "is_loyal": stage is TenureStage.LOYAL,
        "order_count": request.profile.tenure.order_count,
        "products": products,
        "promo": _promo(pack, request.trigger, scene.today),
        "today": scene.today.isoformat(),
    }
    optional: dict[str, object | None] = {
        "name": who.first_name,
        "polite_name": who.polite_name,
        "formal_name": who.formal_name,
        "name_dative": who.dative,
        "polite_dative": who.polite_dative,
        "middle_name": who.middle_name,
        "last_name": who.last_name,
        "title": who.title,
        "gender": who.gender.value if who.gender else None,
        "daypart": scene.daypart.value if scene.daypart else None,
        "season": scene.season.value if scene.season else None,
        "holiday": scene.holiday,
        "weather": scene.weather.value if scene.weather else None,
        "country": scene.country,
        "product": products[0] if products else None,
        "offer": offer,
        "confirm_url": request.confirm_url,
        "city": request.profile.city.name_in(locale) if request.profile.city else None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    out.update(_fact_variables(request.facts))
    # recommendations (docs/recommendations.md): products like ``products``, never sensitive ones
    # (the recommender leaves them out; a discreet channel would show a neutral name anyway)
    recommended = [_product(p, locale, discreet, NEUTRAL_OFFER) for p in request.recommendations]
    out.update({"recommendations": recommended, "has_recommendations": bool(recommended)})
    return out


def _situation(request: ContentInput, scene: _Scene) -> Situation:
    return Situation(
        tenure=request.profile.tenure.stage,
        daypart=scene.daypart,
        season=scene.season,
        country=scene.country,
        holiday=scene.holiday is not None,
        has_name=scene.address.first_name is not None,
        has_offer=request.offer is not None,
        has_products=bool(request.products),
        gender_known=scene.address.gender is not None,
        weather=scene.weather,
    )


# --- output checks --------------------------------------------------------------------------

_MARKUP = ("{{", "}}", "{%", "%}")
_NULLISH = re.compile(r"\b(?:None|null|NULL|Null|nil|NIL|Nil|undefined|NaN)\b")
_DANGLING = (
    re.compile(r",\s*[,!?.;:]"),  # "Анна, !" / "Hi ,!" from an empty name
    re.compile(r"(?:^|[ \t])[,!?.;:](?=\s|$)", re.MULTILINE),  # "Hi !" / "Здравствуйте , ..."
    re.compile(r"«\s*»|“\s*”|\"\s*\"|\(\s*\)"),  # an empty quoted name
    re.compile(
        r"^\s*(?:dear(?:\s+(?:mr|ms|mrs|miss|mx|dr|prof))?\.?|уважаем(?:ая|ый|ые))\s*[,!.]?\s*$",
        re.IGNORECASE | re.MULTILINE,
    ),  # "Dear Ms," / "Уважаемая!" without the name
)


def _tidy(text: str) -> str:
    lines = [
        re.sub(r"(?<=\S)[ \t]{2,}", " ", line).rstrip() for line in text.replace("\r\n", "\n").split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


# variables the pack itself provides: its own words are template, not data
_PACK_VARIABLES = frozenset(
    {"signature", "greeting", "promo", "locale", "channel", "trigger", "tenure", "today"}
)


def data_values(variables: Mapping[str, object]) -> re.Pattern[str] | None:
    """The customer's and the catalog's texts among ``variables`` (names, order ids, tracking
    numbers, product names ...), as one pattern, longest first: what a template prints of them is
    data, not a leak of the template, whatever it spells (an order id may be "None" or "{{7}}")."""
    found: set[str] = set()
    stack: list[object] = [v for k, v in variables.items() if k not in _PACK_VARIABLES]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if len(value) >= 2:  # one character can spell no placeholder and no null
                found.add(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    if not found:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(found, key=len, reverse=True)))


def leak(text: str, data: re.Pattern[str] | None = None) -> str | None:
    """Why a rendered text must not go out, or None: a placeholder, a null, an empty text, a
    salutation left without its name. The ``data`` the template printed (data_values) is read as
    a plain word: only what the template itself wrote can leak."""
    if not text.strip():
        return "empty"
    if data is not None:
        text = data.sub("x", text)
    for mark in _MARKUP:
        if mark in text:
            return f"placeholder {mark!r} in the output"
    if found := _NULLISH.search(text):
        return f"{found.group(0)!r} in the output"
    for pattern in _DANGLING:
        if found := pattern.search(text):
            return f"dangling punctuation or salutation {found.group(0).strip()!r}"
    return None


def _sensitive_names(request: ContentInput) -> list[str]:
    items = [
        *request.products,
        *([request.offer] if request.offer is not None else []),
        *request.recommendations,
    ]
    return sorted({name for p in items if p.sensitive and (name := _text(p.name))}, key=len, reverse=True)


def named_sensitive(text: str, names: list[str]) -> str | None:
    """The first sensitive product name found in ``text`` (case-insensitive, whole words)."""
    for name in names:
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
            return name
    return None


# --- assembly -------------------------------------------------------------------------------


def _footer(locale: str, channel: str, why: str, request: ContentInput) -> str:
    """The why line and the links: every link an email has room for; in an SMS, push or webhook
    text only the why link (its page links to the preference center) and the unsubscribe."""
    labels = FOOTER_LABELS[locale]
    why_url, unsubscribe_url = request.why_url, request.unsubscribe_url
    if channel == "email":
        lines = [why]
        if why_url:
            lines.append(f"{labels['more']}: {why_url}")
        if request.preferences_url:
            lines.append(f"{labels['preferences']}: {request.preferences_url}")
        if unsubscribe_url:
            lines.append(f"{labels['unsubscribe']}: {unsubscribe_url}")
        return "\n".join(lines)
    parts = [why, why_url] if why_url else [why]
    if unsubscribe_url:
        parts.append(f"{labels['unsubscribe']}: {unsubscribe_url}")
    return " ".join(parts)


_URL = re.compile(r"https?://[^\s<>\"']+")


def to_html(body: str) -> str:
    """Plain text → a minimal escaped HTML document: paragraphs, line breaks, links."""
    paragraphs = []
    for block in body.split("\n\n"):
        escaped = html.escape(block, quote=True)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"></head>'
        '<body style="font-family: sans-serif; line-height: 1.5">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>"
    )


def _local_time(now: datetime, zones: tuple[str, ...]) -> str | None:
    """The customer's local time when their zone is known (one zone); None when it is a guess."""
    tz = own_zone(zones)
    return now.astimezone(tz).isoformat() if tz is not None else None


class _Watched(dict[str, object]):
    """A variable that remembers whether the template read anything of it: the offer, so that an
    explanation lists it only when the message printed it (a variant that merely tests
    ``{% if offer %}`` does not)."""

    read = False

    def __getitem__(self, key: str) -> object:
        self.read = True
        return super().__getitem__(key)

    def get(self, key: str, default: object = None) -> object:
        self.read = True
        return super().get(key, default)

    @classmethod
    def offer_of(cls, variables: Mapping[str, object]) -> dict[str, _Watched]:
        offer = variables.get("offer")
        return {"offer": cls(offer)} if isinstance(offer, Mapping) else {}


def _render(locale: str, source: str, variables: Mapping[str, object]) -> str:
    return parse(locale, source).render(variables)


@tracer.capture_method(capture_response=False, capture_error=False)  # the message's words
def compose(pack: ContentPack, request: ContentInput) -> Rendered:
    """The first variant of the trigger's template for the channel and locale that matches and
    renders cleanly, with the why line (and, for messages, the footer appended to the body);
    ContentUnavailable when none does."""
    tid = template_id(request.trigger, request.channel)
    requested = request.locale or request.profile.locale
    locale = resolve_locale(requested, pack)
    variants = pack.variants(request.trigger, request.channel, locale)
    if variants is None and locale != pack.default_locale:
        locale = pack.default_locale
        variants = pack.variants(request.trigger, request.channel, locale)
    if variants is None:
        raise ContentUnavailable(f"the content pack has no template {tid}")
    scene = _scene(request, locale)
    situation = _situation(request, scene)
    discreet = _variables(pack, request, scene, discreet=True)
    email = request.channel == "email"
    hidden = any(p.sensitive for p in request.products) or (
        request.offer is not None and request.offer.sensitive
    )
    named = _variables(pack, request, scene, discreet=False) if email and hidden else discreet
    sensitive = _sensitive_names(request)
    placement = request.trigger in PLACEMENTS

    try:
        why = _one_line(_render(locale, pack.why[request.trigger][locale], discreet))
    except RENDER_ERRORS as exc:
        reason = describe(exc) if isinstance(exc, LiquidError) else str(exc)
        raise ContentUnavailable(f"{tid}.{locale}: the why line does not render: {reason}") from exc
    data = data_values(named)  # named holds every value discreet does, and the sensitive names
    if problem := leak(why, data) or (
        f"names {name!r}" if (name := named_sensitive(why, sensitive)) else None
    ):
        raise ContentUnavailable(f"{tid}.{locale}: the why line cannot be used: {problem}")

    skipped: list[dict[str, str]] = []
    for variant in variants:
        if not variant.conditions.matches(situation):
            skipped.append({"variant": variant.id, "reason": "conditions"})
            continue
        subject_offer, body_offer = _Watched.offer_of(discreet), _Watched.offer_of(named)
        try:
            subject = (
                _one_line(_render(locale, variant.subject, {**discreet, **subject_offer}))
                if variant.subject is not None
                else None
            )
            body = _tidy(_render(locale, variant.body, {**named, **body_offer}))
        except RENDER_ERRORS as exc:
            reason = describe(exc) if isinstance(exc, LiquidError) else f"{type(exc).__name__}: {exc}"
            skipped.append({"variant": variant.id, "reason": reason})
            continue
        problem = (leak(subject, data) if subject is not None else None) or leak(body, data)
        if not problem and not placement:
            separator = "\n" if request.channel in ("sms", "push") else "\n\n"
            footer = _footer(locale, request.channel, why, request)
            body = f"{body}{separator}{footer}"
        exposed = [subject or "", why] if email else [subject or "", body, why]
        if not problem and (name := named_sensitive("\n".join(exposed), sensitive)):
            problem = f"sensitive product {name!r} named outside an email body"
        if problem:
            skipped.append({"variant": variant.id, "reason": problem})
            continue
        who = scene.address
        return Rendered(
            template_id=tid,
            variant_id=variant.id,
            shows_offer=any(w.read for w in (*subject_offer.values(), *body_offer.values())),
            locale=locale,
            subject=subject,
            body=body,
            html=to_html(body) if email else None,
            why=why,
            greeting=who.hello(scene.daypart),
            context={
                "daypart": scene.daypart.value if scene.daypart else None,
                "season": scene.season.value if scene.season else None,
                "holiday": scene.holiday,
                "country": scene.country,
                "tenure": request.profile.tenure.stage.value,
                "gender": who.gender.value if who.gender else None,
                "gender_basis": who.basis.value,
                "salutation": who.salutation,
                "local_time": _local_time(request.now, request.zones),
                "zones": list(request.zones),
                "locale": locale,
                "requested_locale": requested,
                "skipped": skipped,
                # the day's weather, when known (docs/weather.md): off, nothing is added
                **({"weather": scene.weather.value} if scene.weather else {}),
            },
        )
    reasons = "; ".join(f"{s['variant']}: {s['reason']}" for s in skipped)
    raise ContentUnavailable(f"no variant of {tid}.{locale} renders ({reasons})")
