"""What is true about the customer's moment and how to address them, as pure functions.

Every rule holds in *all* the customer's plausible zones or it does not hold: when the zones
disagree on the daypart, the season or the holiday (or are unknown), the answer is None and the
content stays neutral. Gender is never guessed from a first name: only the customer's declaration
or a Russian patronymic (which states it grammatically) gives a gendered form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal
from petrovich.enums import Case
from petrovich.enums import Gender as PetrovichGender
from petrovich.main import Petrovich

from asusual.catalog.models import Season
from asusual.localtime import local_moments
from asusual.profiles.view import ProfileView

SUPPORTED_LOCALES = ("ru", "en")


# --- daypart and greeting -------------------------------------------------------------------


class Daypart(StrEnum):
    MORNING = "morning"  # 05:00-12:00 local
    DAY = "day"  # 12:00-17:00
    EVENING = "evening"  # 17:00-23:00
    NIGHT = "night"  # 23:00-05:00


GREETINGS: dict[str, dict[Daypart, str]] = {
    "ru": {
        Daypart.MORNING: "Доброе утро",
        Daypart.DAY: "Добрый день",
        Daypart.EVENING: "Добрый вечер",
        Daypart.NIGHT: "Доброй ночи",
    },
    "en": {
        Daypart.MORNING: "Good morning",
        Daypart.DAY: "Good afternoon",
        Daypart.EVENING: "Good evening",
        Daypart.NIGHT: "Hello",  # "good night" is a farewell in English
    },
}
NEUTRAL_GREETING = {"ru": "Здравствуйте", "en": "Hello"}


def daypart_at(local: datetime) -> Daypart:
    """The daypart of a wall-clock time (the hour as read in its own zone)."""
    hour = local.hour
    if 5 <= hour < 12:
        return Daypart.MORNING
    if 12 <= hour < 17:
        return Daypart.DAY
    if 17 <= hour < 23:
        return Daypart.EVENING
    return Daypart.NIGHT


def common_daypart(now: datetime, zones: Iterable[str]) -> Daypart | None:
    """The daypart it is in every plausible zone; None when they disagree or are unknown."""
    moments = local_moments(now, zones)
    if not moments:
        return None
    parts = {daypart_at(m) for m in moments}
    return parts.pop() if len(parts) == 1 else None


def greeting(daypart: Daypart | None, locale: str) -> str:
    """The daypart greeting ("Добрый вечер", "Good evening"); neutral without a daypart."""
    if daypart is None:
        return NEUTRAL_GREETING[locale]
    return GREETINGS[locale][daypart]


# --- hemisphere and season ------------------------------------------------------------------


class Hemisphere(StrEnum):
    NORTH = "north"
    SOUTH = "south"


TROPIC_LATITUDE = 23.44  # between the tropics there is no winter to dress for: no season is assumed
_COORDINATES = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?[+-]")


@cache
def _latitudes() -> dict[str, float]:
    """IANA zone → latitude of its principal city, from tzdata's zone.tab (links resolved)."""
    base = resources.files("tzdata").joinpath("zoneinfo")
    latitudes: dict[str, float] = {}
    for line in base.joinpath("zone.tab").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3 or not (match := _COORDINATES.match(fields[1])):
            continue
        sign, degrees, minutes, seconds = match.groups()
        value = int(degrees) + int(minutes) / 60 + int(seconds or 0) / 3600
        latitudes[fields[2]] = -value if sign == "-" else value
    for line in base.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "L" and fields[1] in latitudes:
            latitudes.setdefault(fields[2], latitudes[fields[1]])
    return latitudes


def latitude(zone_name: str) -> float | None:
    return _latitudes().get(zone_name)


def hemisphere(zone_name: str) -> Hemisphere | None:
    """North or south by the zone's latitude; None for zones without a place (UTC, Etc/GMT+3)."""
    lat = latitude(zone_name)
    if lat is None:
        return None
    return Hemisphere.SOUTH if lat < 0 else Hemisphere.NORTH


_NORTHERN_SEASON = {
    12: Season.WINTER,
    1: Season.WINTER,
    2: Season.WINTER,
    3: Season.SPRING,
    4: Season.SPRING,
    5: Season.SPRING,
    6: Season.SUMMER,
    7: Season.SUMMER,
    8: Season.SUMMER,
    9: Season.AUTUMN,
    10: Season.AUTUMN,
    11: Season.AUTUMN,
}


def season_at(zone_name: str, local_date: date) -> Season | None:
    """Meteorological season at a zone on a local date (the south is six months apart).

    None when the zone has no known latitude or lies between the tropics, where a "winter"
    offer would be a guess that can be wrong."""
    lat = latitude(zone_name)
    if lat is None or abs(lat) < TROPIC_LATITUDE:
        return None
    month = local_date.month if lat >= 0 else (local_date.month + 5) % 12 + 1
    return _NORTHERN_SEASON[month]


def common_season(now: datetime, zones: Iterable[str]) -> Season | None:
    """The season in every plausible zone; None when they disagree or are unknown (callers then
    offer only all-year products)."""
    names = list(zones)
    moments = local_moments(now, names)
    if not moments:
        return None
    seasons = {season_at(name, moment.date()) for name, moment in zip(names, moments, strict=True)}
    found = seasons.pop() if len(seasons) == 1 else None
    return found


# --- holidays -------------------------------------------------------------------------------


def _holiday_language(supported: Iterable[str], country: str, locale: str) -> str | None:
    languages = list(supported)
    for candidate in (locale, f"{locale}_{country}", f"{locale}_US"):
        if candidate in languages:
            return candidate
    return next((lang for lang in sorted(languages) if lang.split("_")[0] == locale), None)


@cache
def _holiday_calendar(country: str, year: int, locale: str) -> dict[date, str]:
    import holidays  # here, not at import: ~40 ms of every cold start, needed once a country is known

    try:
        probe = holidays.country_holidays(country, years=year, observed=False)
    except NotImplementedError:
        return {}
    language = _holiday_language(probe.supported_languages, country, locale)
    calendar = holidays.country_holidays(country, years=year, observed=False, language=language)
    label = getattr(calendar, "substituted_label", None)
    moved = calendar.tr(label).split("%")[0] if label else None  # "Day off (substituted from ...)"
    out: dict[date, str] = {}
    for day in calendar:
        names = [n for n in calendar.get_list(day) if not (moved and n.startswith(moved))]
        if names:
            out[day] = names[0]
    return out


def holiday_on(country: str | None, local_date: date, locale: str) -> str | None:
    """The public holiday of ``country`` on a local date, named in ``locale`` when the holidays
    library has that language (else in the country's own); None on an ordinary day. Working
    days moved by decree ("Day off (substituted from ...)") are not holidays to congratulate."""
    if not country:
        return None
    return _holiday_calendar(country.strip().upper(), local_date.year, locale).get(local_date)


def common_holiday(country: str | None, now: datetime, zones: Iterable[str], locale: str) -> str | None:
    """The holiday it is in every plausible zone (one local date may be a holiday in Moscow and
    not yet in Kaliningrad); None when they disagree or the zones are unknown."""
    moments = local_moments(now, zones)
    if not moments:
        return None
    names = {holiday_on(country, d, locale) for d in {m.date() for m in moments}}
    return names.pop() if len(names) == 1 else None


def local_today(now: datetime, zones: Iterable[str]) -> date:
    """The earliest local date among the plausible zones (UTC's when they are unknown): a
    deadline counted from it holds in every zone."""
    moments = local_moments(now, zones)
    return min(m.date() for m in moments) if moments else now.date()


# --- gender, names, salutation --------------------------------------------------------------


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"


class GenderBasis(StrEnum):
    DECLARED = "declared"  # the customer said so (trait gender)
    PATRONYMIC = "patronymic"  # a Russian patronymic states it grammatically
    UNKNOWN = "unknown"


_DECLARED = {
    **dict.fromkeys(("female", "f", "woman", "w", "женский", "женщина", "жен", "ж"), Gender.FEMALE),
    **dict.fromkeys(("male", "m", "man", "мужской", "мужчина", "муж", "м"), Gender.MALE),
}


def declared_gender(value: str | None) -> Gender | None:
    """Map a declared value ("female", "Ж", "женский") to a gender; None unless clearly one."""
    if not value:
        return None
    return _DECLARED.get(value.strip().lower().rstrip("."))


def patronymic_gender(middle_name: str | None) -> Gender | None:
    """Иванович, Ильич, Оглы → male; Ивановна, Ильинична, Фоминишна, Кызы → female."""
    if not middle_name or not middle_name.strip():
        return None
    words = middle_name.strip().lower().replace("\u0451", "\u0435").replace("-", " ").split()  # yo → ye
    if not words:
        return None  # "-": the usual "no patronymic" of Russian forms
    last = words[-1]
    if last in ("оглы", "улы", "уулу"):
        return Gender.MALE
    if last in ("кызы", "гызы", "кизи"):
        return Gender.FEMALE
    if last.endswith(("вич", "ич")) and len(last) > 4:
        return Gender.MALE
    if last.endswith(("вна", "чна", "шна")) and len(last) > 4:
        return Gender.FEMALE
    return None


def gender_of(profile: ProfileView) -> tuple[Gender | None, GenderBasis]:
    """The declared gender wins; a declared value that is neither (e.g. "non-binary") is
    respected: no patronymic inference then."""
    if profile.gender:
        found = declared_gender(profile.gender)
        return (found, GenderBasis.DECLARED) if found else (None, GenderBasis.UNKNOWN)
    found = patronymic_gender(profile.middle_name)
    return (found, GenderBasis.PATRONYMIC) if found else (None, GenderBasis.UNKNOWN)


_NAME = re.compile(r"^[^\W\d_]+(?:[ '\u2019.\-]{1,2}[^\W\d_]+)*\.?$")
_JUNK_NAMES = {
    "null", "none", "nil", "undefined", "n/a", "na", "test", "тест", "unknown", "anonymous",
    "аноним", "клиент", "customer", "user", "имя", "name", "нет",
}  # fmt: skip
MAX_NAME_LENGTH = 40


def clean_name(value: str | None) -> str | None:
    """A name fit to address someone by, or None: placeholders ("null", "test"), digits, markup
    and overlong values are not names. All-lowercase or all-capital names are capitalized
    ("анна" → "Анна")."""
    if not value:
        return None
    text = " ".join(value.split())
    if not text or len(text) > MAX_NAME_LENGTH or text.lower() in _JUNK_NAMES or not _NAME.match(text):
        return None
    if text.islower() or text.isupper():
        text = re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), text)
    return text


_CYRILLIC = re.compile(r"^[\u0400-\u04ff\- ]+$")


@cache
def _petrovich() -> Petrovich:
    return Petrovich()


def dative(first_name: str, gender: Gender) -> str | None:
    """The dative of a Russian first name ("Анна" → "Анне", petrovich); None for other scripts."""
    if not _CYRILLIC.match(first_name):
        return None
    kind = PetrovichGender.FEMALE if gender is Gender.FEMALE else PetrovichGender.MALE
    inflected = _petrovich().firstname(first_name, Case.DATIVE, kind)
    return inflected if isinstance(inflected, str) and inflected.strip() else None


def dative_patronymic(middle_name: str, gender: Gender) -> str | None:
    if not _CYRILLIC.match(middle_name):
        return None
    kind = PetrovichGender.FEMALE if gender is Gender.FEMALE else PetrovichGender.MALE
    inflected = _petrovich().middlename(middle_name, Case.DATIVE, kind)
    return inflected if isinstance(inflected, str) and inflected.strip() else None


_EN_TITLES = {"mr": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss", "mx": "Mx", "dr": "Dr", "prof": "Prof"}


def clean_title(value: str | None) -> str | None:
    """A declared courtesy title ("Dr.", "prof") → "Dr", "Prof"; free text up to 20 letters kept."""
    if not value:
        return None
    text = value.strip().rstrip(".")
    if not text or len(text) > 20 or not re.fullmatch(r"[^\W\d_]+(?: [^\W\d_]+)?", text):
        return None
    return _EN_TITLES.get(text.lower(), text)


@dataclass(frozen=True)
class Address:
    """How to address the customer in one locale. ``salutation`` and ``hello`` are never empty."""

    locale: str
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    title: str | None
    gender: Gender | None
    basis: GenderBasis
    salutation: str  # "Уважаемая Анна Сергеевна" / "Анна, здравствуйте" / "Здравствуйте"
    polite_name: str | None  # "Анна Сергеевна" / "Анна" (ru); "Anna" (en)
    formal_name: str | None  # "Анна Сергеевна" (ru); "Ms Smith" / "Dr Smith" (en): gender or title known
    dative: str | None  # "Анне" (ru, gender known)
    polite_dative: str | None  # "Анне Сергеевне" (ru, gender known, patronymic known)

    def hello(self, daypart: Daypart | None) -> str:
        """The greeting with the polite name: "Добрый вечер, Анна Сергеевна", "Good evening, Anna"."""
        opening = greeting(daypart, self.locale)
        return f"{opening}, {self.polite_name}" if self.polite_name else opening


def _salutation_ru(first: str | None, middle: str | None, gender: Gender | None) -> str:
    if first and gender is not None:
        dear = "Уважаемая" if gender is Gender.FEMALE else "Уважаемый"
        return f"{dear} {first} {middle}" if middle else f"{dear} {first}"
    if first:
        return f"{first}, здравствуйте"
    return "Здравствуйте"


def _salutation_en(first: str | None, last: str | None, title: str | None, gender: Gender | None) -> str:
    if last and title:
        return f"Dear {title} {last}"
    if last and gender is not None:
        return f"Dear {'Ms' if gender is Gender.FEMALE else 'Mr'} {last}"
    if first:
        return f"Hi {first}"
    return "Hello"


def address(profile: ProfileView, locale: str) -> Address:
    """Salutation by the declared gender or the patronymic only; a neutral form otherwise."""
    gender, basis = gender_of(profile)
    first = clean_name(profile.first_name) or clean_name(profile.display_name)
    middle = clean_name(profile.middle_name) if first else None
    last = clean_name(profile.last_name)
    title = clean_title(profile.title)
    if locale == "ru":
        salutation = _salutation_ru(first, middle, gender)
        polite = f"{first} {middle}" if first and middle else first
        formal = polite if first and middle else None
        first_dative = dative(first, gender) if first and gender else None
        middle_dative = dative_patronymic(middle, gender) if middle and gender else None
        polite_dative = f"{first_dative} {middle_dative}" if first_dative and middle_dative else None
    else:
        salutation = _salutation_en(first, last, title, gender)
        polite, first_dative, polite_dative = first, None, None
        honorific = title or ({Gender.FEMALE: "Ms", Gender.MALE: "Mr"}.get(gender) if gender else None)
        formal = f"{honorific} {last}" if honorific and last else None
    return Address(
        locale=locale,
        first_name=first,
        middle_name=middle,
        last_name=last,
        title=title,
        gender=gender,
        basis=basis,
        salutation=salutation,
        polite_name=polite,
        formal_name=formal,
        dative=first_dative,
        polite_dative=polite_dative,
    )


# --- numbers, money, plurals, dates ---------------------------------------------------------

_CODE_THEN_DIGIT = re.compile(r"(?<![^\W\d_])([A-Z]{3})(?=[\d-])")


def to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def money(amount: object, currency: str, locale: str) -> str:
    """1290 RUB → "1 290,00 ₽" (ru), "RUB 1,290.00" (en): the CLDR format of the locale, with a
    space between an alphabetic currency code and the number."""
    code = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return _money(str(to_decimal(amount)), code, locale)


# Formatting is pure and the same few prices, counts and dates recur in every message: CLDR
# formatting costs about as much as rendering a template, so each result is kept (bounded).
@lru_cache(maxsize=4096)
def _money(amount: str, code: str, locale: str) -> str:
    text = format_currency(Decimal(amount), code, locale=locale)
    return _CODE_THEN_DIGIT.sub("\\1\u00a0", text)


def number(value: object, locale: str) -> str:
    """1290.5 → "1 290,5" (ru) / "1,290.5" (en)."""
    return _number(str(to_decimal(value)), locale)


@lru_cache(maxsize=4096)
def _number(value: str, locale: str) -> str:
    return format_decimal(Decimal(value), locale=locale)


@cache
def _plural_rule(locale: str) -> Any:
    return Locale.parse(locale).plural_form


_PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")


def plural_form(count: object, forms: tuple[str, ...], locale: str) -> str:
    """The word for ``count`` by CLDR plural rules. ``forms`` follow the locale's categories in
    CLDR order: ru one, few, many (+ other for fractions, defaulting to few); en one, other."""
    rule = _plural_rule(locale)
    categories = [c for c in _PLURAL_ORDER if c in rule.tags or c == "other"]
    needed = [c for c in categories if c != "other"] if locale == "ru" else categories
    if len(forms) < len(needed):
        raise ValueError(f"plural needs {len(needed)} forms for {locale!r} ({', '.join(needed)})")
    words = dict(zip(categories, forms, strict=False))
    category = rule(to_decimal(count))
    return words.get(category) or words.get("few") or forms[-1]


def plural(count: object, forms: tuple[str, ...], locale: str) -> str:
    """26 → "26 дней"; 1 → "1 day"."""
    return f"{number(count, locale)} {plural_form(count, forms, locale)}"


def to_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError as exc:
            raise ValueError(f"not an ISO date: {value!r}") from exc
    raise ValueError(f"not a date: {value!r}")


_SHORT_DATE = {"ru": "ddMM", "en": "MMMd"}
_LONG_DATE = {"ru": "dMMMM", "en": "MMMMd"}


def short_date(value: object, locale: str) -> str:
    """Day and month: "03.06" (ru), "Jun 3" (en)."""
    return _skeleton(_SHORT_DATE.get(locale, "MMMd"), to_date(value), locale)


def long_date(value: object, locale: str) -> str:
    """Day and month name: "3 июня" (ru), "June 3" (en)."""
    return _skeleton(_LONG_DATE.get(locale, "MMMMd"), to_date(value), locale)


@lru_cache(maxsize=4096)
def _skeleton(skeleton: str, day: date, locale: str) -> str:
    return str(format_skeleton(skeleton, day, locale=locale))


def add_days(value: object, days: int) -> date:
    return to_date(value) + timedelta(days=days)
