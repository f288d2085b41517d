"""The content pack: the retailer's templates, why lines and promotions, checked whole at load.

A pack is TOML::

    default_locale = "ru"
    locales = ["ru", "en"]

    [signature]
    ru = "Команда магазина"

    [promotions.replenishment]
    discount_percent = 7
    valid_days = 7

    [why.birthday]
    ru = "Вы получили это письмо, потому что ..."

    [[templates.birthday.email.ru]]      # trigger . channel . locale: ordered variants
    id = "named"
    conditions = { has_name = true }    # structured, never free Liquid
    subject = "{{ name }}, поздравляем!"
    body = "..."

    [[templates.birthday.email.ru]]
    id = "fallback"                     # the last variant has no conditions
    subject = "Поздравляем!"
    body = "..."

Loading checks everything a render would trip on later: the structure, that every template has a
fallback, that every Liquid source parses, and that it uses only the filters and variables the
renderer provides. Errors name the template, the variant and the field at fault.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from http import HTTPStatus
from typing import Any

from liquid import BoundTemplate, Environment, StrictUndefined
from liquid.exceptions import LiquidError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from asusual.catalog.models import Season
from asusual.content.context import (
    SUPPORTED_LOCALES,
    Daypart,
    long_date,
    money,
    number,
    plural,
    plural_form,
    short_date,
)
from asusual.errors import AsusualError
from asusual.profiles.view import TenureStage
from asusual.weather.rules import Weather

MESSAGE_CHANNELS = frozenset({"email", "sms", "push", "store", "call_center"})
PLACEMENT_CHANNELS = frozenset({"web", "app", "store", "call_center"})
PLACEMENTS = frozenset({"site_greeting", "site_banner", "pos_greeting", "call_center_script"})
SUBJECT_REQUIRED = frozenset({"email"})
SUBJECT_ALLOWED = frozenset({"email", "push"})  # an email subject, a push title

# Every top-level variable the renderer may provide. The first group is always present; the
# others only when known (a template using one falls through to the next variant otherwise).
ALWAYS_PRESENT = frozenset({
    "locale", "channel", "trigger", "greeting", "hello", "salutation", "signature",
    "has_name", "gender_known", "has_daypart", "has_season", "has_holiday", "has_offer", "has_products",
    "has_weather",
    "tenure", "is_new", "is_returning", "is_loyal", "order_count", "products", "promo", "today",
    "more_products",
    "recommendations", "has_recommendations",  # docs/recommendations.md; an empty list when none
})  # fmt: skip
WHEN_KNOWN = frozenset({
    "name", "polite_name", "formal_name", "name_dative", "polite_dative",
    "middle_name", "last_name", "title", "gender",
    "daypart", "season", "holiday", "country", "product", "offer", "weather",
    "order_id", "order_status", "previous_status", "order_channel", "details",
    "tracking_number", "tracking_url", "carrier", "pickup_location",
    "days_since", "birthday", "celebrated_on", "subscribed_channels",
    "confirm_url", "campaign_id", "segment_name", "segment_reason",
    "city",  # the address's city, else the IP's in the locale's language (asusual.profiles.location)
    "interest", "interested_on",
})  # fmt: skip
VARIABLES = ALWAYS_PRESENT | WHEN_KNOWN
FILTERS = frozenset({"money", "number", "plural", "plural_word", "short_date", "long_date"})
FORBIDDEN_TAGS = ("include", "render")  # no loader: a template sees only its own variables


class PackError(AsusualError):
    """The content pack cannot be used; the message names the template, variant and field."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_content_pack"


# --- the sandboxed Liquid environment -------------------------------------------------------


class _Sandbox(Environment):
    loop_iteration_limit = 1_000
    output_stream_limit = 64_000
    local_namespace_limit = 64_000
    context_depth_limit = 10


def _strings(args: tuple[object, ...]) -> tuple[str, ...]:
    if not args or not all(isinstance(a, str) for a in args):
        raise ValueError("plural needs its word forms as strings")
    return tuple(str(a) for a in args)


@cache
def environment(locale: str) -> Environment:
    """The Liquid environment of one locale: strict undefined, strict filters, no partials, and
    the locale's formatting filters: ``money: currency``, ``number``, ``plural: forms...`` ("26
    дней"), ``plural_word: forms...`` ("дней"), ``short_date`` ("03.06"), ``long_date`` ("3 июня")."""
    env = _Sandbox(undefined=StrictUndefined, strict_filters=True, autoescape=False)
    for tag in FORBIDDEN_TAGS:
        env.tags.pop(tag, None)
    filters: dict[str, Callable[..., str]] = {
        "money": lambda value, currency: money(value, str(currency), locale),
        "number": lambda value: number(value, locale),
        "plural": lambda value, *forms: plural(value, _strings(forms), locale),
        "plural_word": lambda value, *forms: plural_form(value, _strings(forms), locale),
        "short_date": lambda value: short_date(value, locale),
        "long_date": lambda value: long_date(value, locale),
    }
    for name, function in filters.items():
        env.add_filter(name, function)
    return env


def describe(err: LiquidError) -> str:
    """One line: the message and where it points."""
    where = err.context()
    return f"{err.message} (line {where[0]}, column {where[1]})" if where else str(err.message)


@lru_cache(maxsize=4096)
def parse(locale: str, source: str) -> BoundTemplate:
    return environment(locale).from_string(source)


# --- the pack model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    """What variant conditions are evaluated against (computed by the renderer)."""

    tenure: TenureStage
    daypart: Daypart | None
    season: Season | None
    country: str | None
    holiday: bool
    has_name: bool
    has_offer: bool
    has_products: bool
    gender_known: bool
    weather: Weather | None = None  # docs/weather.md: None when unknown or the feature is off


class Conditions(BaseModel):
    """All given keys must hold. A daypart or season condition never holds when the daypart or
    season is unknown (the zones disagree): such variants are for certain contexts only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenure: frozenset[TenureStage] | None = None
    daypart: frozenset[Daypart] | None = None
    season: frozenset[Season] | None = None
    country: frozenset[str] | None = Field(default=None, description="ISO 3166 alpha-2 codes")
    holiday: bool | None = None
    has_name: bool | None = None
    has_offer: bool | None = None
    has_products: bool | None = None
    gender_known: bool | None = None
    weather: frozenset[Weather] | None = Field(
        default=None, description="cold, rain, heat: never holds when the weather is unknown"
    )

    @field_validator("tenure", "daypart", "season", "country", "weather")
    @classmethod
    def _not_empty(cls, value: frozenset[Any] | None) -> frozenset[Any] | None:
        if value is not None and not value:
            raise ValueError("an empty list never matches; leave the key out instead")
        return value

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return [str(v).strip().upper() for v in value] if isinstance(value, list) else value

    def empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())

    def matches(self, situation: Situation) -> bool:
        return (
            (self.tenure is None or situation.tenure in self.tenure)
            and (self.daypart is None or situation.daypart in self.daypart)
            and (self.season is None or situation.season in self.season)
            and (self.country is None or situation.country in self.country)
            and (self.holiday is None or situation.holiday is self.holiday)
            and (self.has_name is None or situation.has_name is self.has_name)
            and (self.has_offer is None or situation.has_offer is self.has_offer)
            and (self.has_products is None or situation.has_products is self.has_products)
            and (self.gender_known is None or situation.gender_known is self.gender_known)
            and (self.weather is None or situation.weather in self.weather)
        )


class Variant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    conditions: Conditions = Field(default_factory=Conditions)
    subject: str | None = Field(default=None, description="email subject or push title (Liquid)")
    body: str = Field(min_length=1, description="plain text (Liquid)")


Promotion = dict[str, int | float | str | bool]


class ContentPack(BaseModel):
    """Templates keyed by trigger → channel → locale, each an ordered list of variants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_locale: str
    locales: tuple[str, ...] = Field(min_length=1)
    signature: dict[str, str] = Field(description="locale → sign-off, e.g. the retailer's team name")
    why: dict[str, dict[str, str]] = Field(description="trigger → locale → why line (Liquid)")
    promotions: dict[str, Promotion] = Field(default_factory=dict, description="trigger → settings")
    templates: dict[str, dict[str, dict[str, tuple[Variant, ...]]]]

    def variants(self, trigger: str, channel: str, locale: str) -> tuple[Variant, ...] | None:
        return self.templates.get(trigger, {}).get(channel, {}).get(locale)

    def entries(self) -> Iterator[tuple[str, str, str, tuple[Variant, ...]]]:
        """Every (trigger, channel, locale, variants), in pack order."""
        for trigger, channels in self.templates.items():
            for channel, locales in channels.items():
                for locale, variants in locales.items():
                    yield trigger, channel, locale, variants


def uses_variable(pack: ContentPack, trigger: str, channel: str, name: str) -> bool:
    """Whether a variant of the template, in any locale, reads the top-level variable ``name``
    (what a variable costs to compute is spent only for a template that prints it)."""
    for locale, variants in pack.templates.get(trigger, {}).get(channel, {}).items():
        for variant in variants:
            if any(source and name in _globals(locale, source) for source in (variant.subject, variant.body)):
                return True
    return False


@lru_cache(maxsize=4096)
def _globals(locale: str, source: str) -> frozenset[str]:
    return frozenset(parse(locale, source).analyze().globals)


def template_id(trigger: str, channel: str) -> str:
    return f"{trigger}.{channel}"


OWN_VARIANT = "own"


def with_templates(
    pack: ContentPack, trigger: str, templates: Mapping[str, Mapping[str, tuple[str | None, str]]]
) -> ContentPack:
    """The pack with ``trigger``'s templates replaced by one variant per channel and locale,
    (subject, body): what one intent brings of its own (a campaign's words). The why line stays
    the pack's. The sources are checked by the caller (:func:`check_source`), not here."""
    own = {
        channel: {
            locale: (Variant(id=OWN_VARIANT, subject=subject, body=body),)
            for locale, (subject, body) in locales.items()
        }
        for channel, locales in templates.items()
    }
    return pack.model_copy(update={"templates": {**pack.templates, trigger: own}})


# --- loading and validation -----------------------------------------------------------------


def _where(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """A pydantic error location → "templates.birthday.email.ru variant 'named' field subject"."""
    if len(loc) >= 5 and loc[0] == "templates":
        trigger, channel, locale, index = loc[1:5]
        name = f"template {trigger}.{channel}.{locale}"
        try:
            variant = raw["templates"][trigger][channel][locale][index]
            label = f"variant '{variant['id']}'" if isinstance(variant, dict) and "id" in variant else None
        except (KeyError, IndexError, TypeError):
            label = None
        if label is None and isinstance(index, int):
            label = f"variant #{index + 1}"
        rest = ".".join(str(p) for p in loc[5:])
        return " ".join(p for p in (name, label, f"field {rest}" if rest else "") if p)
    return ".".join(str(p) for p in loc)


def load_pack(text: str) -> ContentPack:
    """Parse and validate a TOML content pack; PackError names what is wrong and where."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"content pack is not valid TOML: {exc}") from exc
    try:
        pack = ContentPack.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(raw, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise PackError("invalid content pack: " + "; ".join(problems[:10])) from exc
    validate(pack)
    return pack


def check_source(locale: str, source: str, where: str) -> None:
    """A Liquid source a template may use: it parses, and uses only the renderer's filters and
    variables; PackError naming ``where`` otherwise."""
    _check_source(locale, source, where)


def _check_source(locale: str, source: str, where: str) -> None:
    try:
        template = parse(locale, source)
    except LiquidError as exc:
        raise PackError(f"{where}: Liquid syntax error: {describe(exc)}") from exc
    analysis = template.analyze()
    unknown_filters = sorted(set(analysis.filters) - set(environment(locale).filters))
    if unknown_filters:
        raise PackError(f"{where}: unknown filter(s) {', '.join(unknown_filters)}")
    unknown = sorted(set(analysis.globals) - VARIABLES)
    if unknown:
        raise PackError(f"{where}: unknown variable(s) {', '.join(unknown)}")


def validate(pack: ContentPack) -> None:
    """Structure, fallbacks and every Liquid source; raises PackError at the first fault."""
    unsupported = sorted(set(pack.locales) - set(SUPPORTED_LOCALES))
    if unsupported:
        raise PackError(
            f"locales {unsupported} are not supported (supported: {', '.join(SUPPORTED_LOCALES)})"
        )
    if pack.default_locale not in pack.locales:
        raise PackError(f"default_locale {pack.default_locale!r} is not one of locales {list(pack.locales)}")
    for locale in pack.locales:
        if not pack.signature.get(locale, "").strip():
            raise PackError(f"signature: missing for locale {locale!r}")
    for name, settings in pack.promotions.items():
        _check_promotion(name, settings)
    for trigger, channels in pack.templates.items():
        allowed = PLACEMENT_CHANNELS if trigger in PLACEMENTS else MESSAGE_CHANNELS
        for channel, locales in channels.items():
            tid = template_id(trigger, channel)
            if channel not in allowed:
                raise PackError(f"template {tid}: channel {channel!r} is not one of {sorted(allowed)}")
            if pack.default_locale not in locales:
                raise PackError(f"template {tid}: no variants in the default locale {pack.default_locale!r}")
            for locale, variants in locales.items():
                _check_template(pack, trigger, channel, locale, variants)
    for trigger, sources in pack.why.items():
        for locale, source in sources.items():
            if locale not in pack.locales:
                raise PackError(f"why.{trigger}: locale {locale!r} is not one of {list(pack.locales)}")
            if not source.strip():
                raise PackError(f"why.{trigger}.{locale}: empty")
            _check_source(locale, source, f"why.{trigger}.{locale}")


def _check_promotion(name: str, settings: Promotion) -> None:
    percent = settings.get("discount_percent")
    if percent is not None and (isinstance(percent, bool | str) or not 0 < percent < 100):
        raise PackError(f"promotions.{name}.discount_percent: must be a number between 0 and 100")
    days = settings.get("valid_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 366):
        raise PackError(f"promotions.{name}.valid_days: must be a whole number of days, 1-366")


def _check_template(
    pack: ContentPack, trigger: str, channel: str, locale: str, variants: tuple[Variant, ...]
) -> None:
    name = f"template {template_id(trigger, channel)}.{locale}"
    if locale not in pack.locales:
        raise PackError(f"{name}: locale {locale!r} is not one of {list(pack.locales)}")
    if not pack.why.get(trigger, {}).get(locale):
        raise PackError(f"{name}: no why line for trigger {trigger!r} in locale {locale!r} (why.{trigger})")
    if not variants:
        raise PackError(f"{name}: no variants")
    seen: set[str] = set()
    for variant in variants:
        where = f"{name} variant '{variant.id}'"
        if variant.id in seen:
            raise PackError(f"{where}: duplicate variant id")
        seen.add(variant.id)
        if variant.subject is None and channel in SUBJECT_REQUIRED:
            raise PackError(f"{where} field subject: required on channel {channel!r}")
        if variant.subject is not None and channel not in SUBJECT_ALLOWED:
            raise PackError(f"{where} field subject: channel {channel!r} has no subject")
        if variant.subject is not None:
            _check_source(locale, variant.subject, f"{where} field subject")
        _check_source(locale, variant.body, f"{where} field body")
    last = variants[-1]
    if not last.conditions.empty():
        raise PackError(
            f"{name} variant '{last.id}': the last variant is the fallback and must have no conditions"
        )
