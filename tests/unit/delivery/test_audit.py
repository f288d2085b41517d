"""Audit of the dispatcher: many random customers, moments and channels through the real use case.

One seeded simulation (a module fixture, deterministic) plays weeks of simulated time for 1,200
customers through ``dispatch`` and the decide API (placements), with the in-memory stores of
tests/unit/delivery/fakes.py, the real default content pack, the real link signer and the real
local outbox on every channel. Then one test per retailer rule checks every message sent (the
outbox record and its log entry with the explanation) and every placement, and a failure names
each case that breaks the rule: the customer's inputs, the moment in every zone, the channel,
the variant and the text. Every dispatch that ends in SKIPPED no_content is recorded with the
ContentUnavailable that caused it (the real compose, wrapped while the simulation runs), so the
content rule can name the template, locale, variant and reason.

Generated: Russian names with and without a patronymic, English names, display names, junk
("null", "{{ name }}", "-" as a middle name) or none; declared genders (clear, odd, empty);
locales ru/en/de/none; consent per channel and topic (yes, no, never asked) and a change of it
mid-simulation; email, E.164 or unnormalized phones, push tokens; past orders with sensitive and
seasonal products; merged profiles reached through their tombstone; intents for birthdays (some
emitted late), replenishment (catalog consumables, sensitive and seasonal ones), welcome and
every order status, some emitted twice and some racing another dispatcher for the caps ledger;
catalog prices changing every few hours. Time advances in steps of minutes to days, snaps to
local 09:00, 21:00, midnight, daypart edges and DST gaps, around the DST changes of 2027 (EU
03-28 and 10-31, AU 04-04 and 10-03, US 03-14 and 11-07) and the turns of the seasons. Deferred
intents go back through the real deferred sweep at their release time (sometimes late).

Where the customer is: the generator first decides the customer's real home zone, then derives
the evidence from it (a declared zone, the device's zone, an address country, a geographic or
mobile phone number, or nothing). A local rule must hold in the real zone and in every zone the
dispatcher itself considered plausible (the explanation's ``quiet_hours.zones``). A customer
without any evidence has no known zone: no marketing may reach them at all. The daypart and
quiet-hours checks run once per kind of evidence, so a fault in one way of locating customers
fails alone.
"""

# ruff: noqa: RUF001  (Russian copy: Cyrillic letters that look Latin are intended)

from __future__ import annotations

import heapq
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from time import perf_counter
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

import asusual.delivery.dispatch as dispatch_module
from asusual.catalog.models import CatalogProduct, Season
from asusual.channels.outbox import Outbox, OutboxSender
from asusual.content.pack import ContentPack
from asusual.content.render import (
    ContentInput,
    ContentUnavailable,
    Rendered,
    compose,
    default_pack,
    resolve_locale,
)
from asusual.decisions.decide import DecideRequest, Decision, IdentifierRef, decide
from asusual.delivery.deferred import sweep
from asusual.delivery.dispatch import DispatchDeps, DispatchResult, DispatchStatus, dispatch
from asusual.delivery.links import LinkSigner
from asusual.delivery.models import DeliveryChannel
from asusual.delivery.records import Explanation, MessageRecord, MessageStatus
from asusual.identity.models import Identifier
from asusual.profiles.birthday import plausible_zones
from asusual.profiles.model import Profile
from asusual.profiles.state import OrderFact, ProductLine, ProfileState, Stamped
from asusual.profiles.view import TenurePolicy
from asusual.triggers.models import (
    BirthdayFacts,
    Intent,
    OrderLine,
    OrderStatus,
    OrderStatusFacts,
    ReplenishmentFacts,
    Topic,
    WelcomeFacts,
    make_intent,
)
from tests.unit.delivery.fakes import (
    FakeCatalog,
    FakeDecisions,
    FakeMessages,
    FakeProfiles,
    PriceSchedule,
    SimClock,
)

pytestmark = pytest.mark.slow  # the simulation takes a core for 15-40 s: handed out first

SEED = 20270328
PROFILES = 1200
UNKNOWN_PROFILE_INTENTS = 25
SWEEP_LOOKBACK_HOURS = 6  # the longest simulated sweep lag is 3 hours
MAX_SHOWN = 8  # violations printed in full per failing rule

F, M = "female", "male"
W, SP, SU, AU = Season.WINTER, Season.SPRING, Season.SUMMER, Season.AUTUMN

# -- the catalog --------------------------------------------------------------------------------------


def _product(pid: str, name: str, price: str, category: str, **extra: Any) -> CatalogProduct:
    return CatalogProduct(
        product_id=pid, name=name, price=Decimal(price), currency="RUB", category=category, **extra
    )


PRODUCTS = [
    _product("tea-1", "Чай Ahmad Earl Grey", "349.00", "tea", replenish_days=30, promoted=True),
    _product("coffee-1", "Кофе Lavazza Qualita Oro", "1190.00", "coffee", replenish_days=21, promoted=True),
    _product("food-1", "Корм Purina One", "1290.00", "pets", replenish_days=26, promoted=True),
    _product("jacket-1", "Пуховик Arctic", "12990.00", "outerwear", seasons={W}, promoted=True),
    _product("scarf-1", "Scarf Nordic Wool", "1990.00", "accessories", seasons={W, AU}, promoted=True),
    _product("mittens-1", "Варежки из шерсти", "990.00", "accessories", seasons={W}, promoted=True),
    _product("umbrella-1", "Зонт Rainy Day", "2490.00", "accessories", seasons={SP, AU}, promoted=True),
    _product(
        "sunscreen-1",
        "Крем SPF 50 Sun Guard",
        "890.00",
        "care",
        seasons={SU},
        replenish_days=40,
        promoted=True,
    ),
    _product(
        "icecream-1",
        "Vanilla Dream Ice Cream",
        "390.00",
        "frozen",
        seasons={SP, SU},
        replenish_days=7,
        promoted=True,
    ),
    _product(
        "test-1", "Тест на беременность Clearblue", "590.00", "pharmacy", sensitive=True, replenish_days=30
    ),
    _product(
        "condoms-1",
        "Презервативы Durex Classic",
        "790.00",
        "intimate",
        sensitive=True,
        replenish_days=20,
        promoted=True,
    ),
    _product(
        "allergy-1",
        "Zyrtec Allergy Tablets",
        "450.00",
        "pharmacy",
        sensitive=True,
        seasons={SP, SU},
        replenish_days=30,
        promoted=True,
    ),
    _product("cream-1", "Relief Advance", "620.00", "pharmacy", sensitive=True, replenish_days=14),
]
CATALOG = {p.product_id: p for p in PRODUCTS}
CONSUMABLES = [p for p in PRODUCTS if p.replenish_days]
# what would give a sensitive product away: its name and the words that name it on their own
TELLS = {
    "test-1": ("Тест на беременность Clearblue", "Clearblue", "беременност"),
    "condoms-1": ("Презервативы Durex Classic", "Durex", "презерватив"),
    "allergy-1": ("Zyrtec Allergy Tablets", "Zyrtec"),
    "cream-1": ("Relief Advance", "Relief"),
}
LINE_NAMES = {  # how an order line may name a product (the catalog's name, another, or none)
    "test-1": ("Тест на беременность Clearblue", "Clearblue Digital", None),
    "condoms-1": ("Презервативы Durex Classic", "Durex 12 шт.", None),
    "allergy-1": ("Zyrtec Allergy Tablets", None),
    "cream-1": ("Relief Advance", "Relief", None),
}
assert set(TELLS) == {p.product_id for p in PRODUCTS if p.sensitive}


def price_schedules(rng: random.Random) -> dict[str, PriceSchedule]:
    """Every product's price changes every 2-30 hours through 2027, at any minute."""
    schedules = {}
    for product in PRODUCTS:
        schedule = PriceSchedule(starts=[datetime(2026, 12, 1, tzinfo=UTC)], prices=[product.price])
        at = schedule.starts[0]
        while at < datetime(2028, 1, 15, tzinfo=UTC):
            at += timedelta(minutes=rng.randint(2 * 60, 30 * 60))
            factor = Decimal(rng.choice(("0.8", "0.9", "0.95", "1", "1.05", "1.1", "1.2", "1.35")))
            schedule.starts.append(at)
            schedule.prices.append((product.price * factor).quantize(Decimal("0.01")))
        schedules[product.product_id] = schedule
    return schedules


# -- time, places and seasons, computed here independently of the code under test -------------------


@cache
def _latitudes() -> dict[str, float]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        coordinates, name = line.split("\t")[1:3]
        found = re.match(r"([+-])(\d{2})(\d{2})", coordinates)
        assert found is not None
        latitude = int(found[2]) + int(found[3]) / 60
        out[name] = -latitude if found[1] == "-" else latitude
    return out


NORTHERN = {12: W, 1: W, 2: W, 3: SP, 4: SP, 5: SP, 6: SU, 7: SU, 8: SU, 9: AU, 10: AU, 11: AU}


def season_in(zone_name: str, instant: datetime) -> Season | None:
    """Meteorological season; the south six months apart; none between the tropics or without a place."""
    latitude = _latitudes().get(zone_name)
    if latitude is None or abs(latitude) < 23.44:
        return None
    month = local(instant, zone_name).month
    return NORTHERN[month] if latitude >= 0 else NORTHERN[(month + 5) % 12 + 1]


def common_season_in(zones: Iterable[str], instant: datetime) -> Season | None:
    seasons = {season_in(z, instant) for z in zones}
    return seasons.pop() if len(seasons) == 1 else None


def daypart_of(hour: int) -> str:
    """morning 05-12, day 12-17, evening 17-23, night 23-05 (asusual.content.context.Daypart)."""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "day"
    if 17 <= hour < 23:
        return "evening"
    return "night"


@cache
def tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(instant: datetime, zone_name: str) -> datetime:
    return instant.astimezone(tz(zone_name))


def dst_day(zone_name: str, day: date) -> bool:
    """The clocks change in this zone on this local date."""
    start = datetime.combine(day, time(0), tzinfo=tz(zone_name))
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz(zone_name))
    return start.utcoffset() != end.utcoffset()


# -- customers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    zone: str
    prefixes: tuple[str, ...]  # geographic numbers of the place (after the country code)


@dataclass(frozen=True)
class Country:
    code: str
    dial: str
    national_digits: int
    homes: tuple[Home, ...]
    mobile: tuple[str, ...]  # mobile prefixes: no place in them
    names: str  # "ru" or "en": the names people there tend to have
    phones: float = 0.78  # how many customers there give a phone number


COUNTRIES = (
    Country("RU", "+7", 10, (
        Home("Europe/Moscow", ("495", "812")), Home("Europe/Kaliningrad", ("4012",)),
        Home("Europe/Samara", ("8482",)), Home("Asia/Yekaterinburg", ("343",)),
        Home("Asia/Novosibirsk", ("383",)), Home("Asia/Vladivostok", ("423",)),
        Home("Asia/Kamchatka", ("4152",)),
    ), ("916", "926", "903", "985"), "ru"),
    Country("GB", "+44", 10, (Home("Europe/London", ("20",)),), ("7911",), "en"),
    Country("AU", "+61", 9, (
        Home("Australia/Sydney", ("2",)), Home("Australia/Melbourne", ("39",)),
        Home("Australia/Brisbane", ("73",)), Home("Australia/Perth", ("892",)),
        Home("Australia/Adelaide", ("882",)), Home("Australia/Hobart", ("362",)),
    ), ("4",), "en"),
    Country("US", "+1", 10, (
        Home("America/New_York", ("212555",)), Home("America/Chicago", ("312555",)),
        Home("America/Los_Angeles", ("415555",)), Home("America/Phoenix", ("602555",)),
        Home("Pacific/Honolulu", ("808555",)), Home("America/Anchorage", ("907555",)),
    ), (), "en"),
    Country("CA", "+1", 10, (
        Home("America/Toronto", ("416555",)), Home("America/Vancouver", ("604555",)),
        Home("America/Halifax", ("902555",)), Home("America/St_Johns", ("709555",)),
        Home("America/Edmonton", ("780555",)),
    ), (), "en", phones=0.3),
)  # fmt: skip
COUNTRY_WEIGHTS = (42, 16, 18, 11, 10)
SEASON_TURNS = (date(2027, 2, 28), date(2027, 5, 31), date(2027, 8, 31), date(2027, 11, 30))
ODD_DECLARED_ZONES = ("UTC", "Etc/GMT-3", "Asia/Kolkata", "Asia/Tokyo", "America/Sao_Paulo", "Asia/Singapore")
INVALID_ZONES = ("Moscow", "GMT+3", "+03:00", "Europe/Mosc0w", "")

RU_FIRST = {F: ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Юлия", "Дарья"),
            M: ("Иван", "Сергей", "Алексей", "Дмитрий", "Михаил", "Илья", "Фёдор")}  # fmt: skip
RU_PATRONYMIC = {
    F: ("Сергеевна", "Ивановна", "Ильинична", "Фёдоровна", "Никитична", "Гасан кызы"),
    M: ("Сергеевич", "Иванович", "Ильич", "Фомич", "Кузьмич", "Мамед оглы"),
}
RU_LAST = {F: ("Иванова", "Смирнова", "Кузнецова", "Попова"), M: ("Иванов", "Смирнов", "Кузнецов", "Попов")}
EN_FIRST = {F: ("Emma", "Olivia", "Charlotte", "Grace"), M: ("Oliver", "George", "Harry", "Jack"),
            None: ("Alex", "Sam", "Jordan", "Robin")}  # fmt: skip
EN_LAST = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "O'Brien")
ODD_NAMES = ("null", "test", "анна", "ANNA", "Анна2", "{{ name }}", "  ", "N/A", "undefined", "Жанна-Мария")
DECLARED = {
    "female": F, "Female": F, "f": F, "F": F, "ж": F, "Ж": F, "женский": F, "жен.": F, "woman": F,
    "male": M, "M": M, "m": M, "м": M, "мужской": M, "man": M,
}  # fmt: skip
DECLARED_ODD = ("non-binary", "other", "prefer not to say", "x", "N/A", "небинарный")
LOCALES = ("ru", "ru-RU", "en", "en-GB", "de", None)
CHANNELS = ("email", "sms", "push", "store", "call_center")
PLACEMENTS = (
    ("site_greeting", "web"),
    ("site_greeting", "app"),
    ("site_banner", "web"),
    ("site_banner", "app"),
    ("pos_greeting", "store"),
    ("call_center_script", "call_center"),
)


@dataclass
class Customer:
    """One generated customer: the truth about them and the inputs the engine gets."""

    pid: str
    alias: str | None
    truth: str | None  # the zone they are in; None: nothing says where they are
    certain: bool  # the zone is declared (by them or their device), not inferred
    genders: frozenset[str]  # gendered forms allowed: the declared gender, else the patronymic's
    consent: dict[str, list[tuple[datetime, bool]]]  # "<channel>.<topic>" -> (from, subscribed)
    inputs: dict[str, Any]

    def subscribed(self, key: str, at: datetime) -> bool | None:
        value = None
        for since, subscribed in self.consent.get(key, ()):
            if since <= at:
                value = subscribed
        return value


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone(rng: random.Random, country: Country, prefix: str) -> str:
    """A valid number of the prefix (07 3xxx is Brisbane's, 4012 Kaliningrad's, ...)."""
    while True:
        number = country.dial + prefix + _digits(rng, country.national_digits - len(prefix))
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            return number


def _stamp(value: Any, at: datetime, msg: str) -> Stamped:
    return Stamped(value=value, at=at, msg=msg)


def _name_traits(rng: random.Random, names: str) -> tuple[dict[str, Any], str | None, str | None]:
    """Name traits, the gender the names suggest (for a consistent declaration) and the gender a
    Russian patronymic states (None when there is none)."""
    traits: dict[str, Any] = {}
    kind = rng.choices(("ru_full", "ru_short", "en", "display", "odd", "none"), (26, 16, 24, 8, 12, 14))[0]
    if kind == "ru_short" and names == "en":
        kind = "en"
    gender = rng.choice((F, M))
    patronymic = None
    if kind in ("ru_full", "ru_short"):
        traits["first_name"] = rng.choice(RU_FIRST[gender])
        if rng.random() < 0.7:
            traits["last_name"] = rng.choice(RU_LAST[gender])
        if kind == "ru_full":
            stated = gender if rng.random() < 0.9 else (M if gender == F else F)
            traits["middle_name"] = rng.choice(RU_PATRONYMIC[stated])
            patronymic = stated
    elif kind == "en":
        key = rng.choice((F, M, None))
        traits["first_name"] = rng.choice(EN_FIRST[key])
        if rng.random() < 0.8:
            traits["last_name"] = rng.choice(EN_LAST)
        if rng.random() < 0.12:
            traits["title"] = rng.choice(("Dr", "Prof.", "dr"))
        gender = key or gender
    elif kind == "display":
        traits["name"] = rng.choice(("Анна Сергеевна", "Alex", "Мария", "Sam Taylor"))
    elif kind == "odd":
        traits["first_name"] = rng.choice(ODD_NAMES)
        if rng.random() < 0.5:
            traits["middle_name"] = rng.choice(("null", "Ли", "Marie", "-", "Ивановна"))
            patronymic = F if traits["middle_name"] == "Ивановна" else None
    return traits, gender, patronymic


@dataclass
class Plan:
    """A customer's simulated life: the events, in time order, before they become intents."""

    times: list[datetime] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


BOUNDARIES = tuple(
    time(h, m)
    for h, m in ((8, 59), (9, 0), (20, 59), (21, 0), (23, 59), (0, 0), (4, 59), (5, 0), (11, 59),
                 (12, 0), (16, 59), (17, 0), (22, 59), (23, 0), (2, 30), (3, 30), (1, 30))
)  # fmt: skip
WINDOWS = (  # (first start, last start, weight): DST changes and season boundaries of 2027
    (datetime(2027, 3, 22, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC), 40),  # EU 03-28, AU 04-04
    (datetime(2027, 2, 24, tzinfo=UTC), datetime(2027, 3, 3, tzinfo=UTC), 10),  # winter -> spring
    (datetime(2027, 3, 10, tzinfo=UTC), datetime(2027, 3, 16, tzinfo=UTC), 8),  # US 03-14
    (datetime(2027, 5, 27, tzinfo=UTC), datetime(2027, 6, 3, tzinfo=UTC), 8),
    (datetime(2027, 8, 27, tzinfo=UTC), datetime(2027, 9, 3, tzinfo=UTC), 8),
    (datetime(2027, 9, 29, tzinfo=UTC), datetime(2027, 10, 5, tzinfo=UTC), 9),  # AU 10-03
    (datetime(2027, 10, 27, tzinfo=UTC), datetime(2027, 11, 8, tzinfo=UTC), 10),  # EU 10-31, US 11-07
    (datetime(2027, 11, 27, tzinfo=UTC), datetime(2027, 12, 3, tzinfo=UTC), 7),
)


def _step(rng: random.Random, at: datetime, zones: Sequence[str]) -> datetime:
    roll = rng.random()
    if roll < 0.25:
        return at + timedelta(minutes=rng.randint(1, 120))
    if roll < 0.5:
        return at + timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
    if roll < 0.65:
        return at + timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 24 * 60))
    zone_name = rng.choice(zones) if zones else "UTC"
    day = local(at, zone_name).date() + timedelta(days=rng.choice((0, 0, 1, 1, 2)))
    moment = datetime.combine(day, rng.choice(BOUNDARIES), tzinfo=tz(zone_name)).astimezone(UTC)
    return moment if moment > at else at + timedelta(minutes=rng.randint(1, 30))


def _plan(rng: random.Random, zones: Sequence[str]) -> Plan:
    start_window = rng.choices(WINDOWS, [w[2] for w in WINDOWS])[0]
    span = (start_window[1] - start_window[0]).total_seconds()
    at = start_window[0] + timedelta(seconds=rng.randint(0, int(span)))
    plan = Plan()
    kinds = ("order", "replenishment", "birthday", "welcome", "again", "pair")
    for _ in range(rng.randint(3, 8)):
        at = _step(rng, at, zones)
        plan.times.append(at)
        plan.kinds.append(rng.choices(kinds, (34, 24, 12, 15, 8, 7))[0])
    return plan


def _orders(rng: random.Random, pid: str, before: datetime) -> dict[str, OrderFact]:
    orders = {}
    for n in range(rng.choices((0, 1, 2, 3, 5, 7), (30, 20, 15, 12, 13, 10))[0]):
        at = before - timedelta(days=rng.randint(2, 400), minutes=rng.randint(0, 1440))
        lines = []
        for product in rng.sample(PRODUCTS, rng.randint(1, 3)):
            names = LINE_NAMES.get(product.product_id, (product.name,))
            lines.append(
                ProductLine(
                    product_id=product.product_id,
                    quantity=rng.choice((1, 1, 2)),
                    price=float(product.price),
                    name=rng.choice(names),
                    category=product.category,
                )
            )
        orders[f"h-{pid}-{n}"] = OrderFact(
            order_id=f"h-{pid}-{n}", at=at, msg=f"h-{pid}-{n}", total=999.0, currency="RUB",
            channel=rng.choice(("web", "app", "store")), products=tuple(lines),
        )  # fmt: skip
    return orders


@dataclass
class Generated:
    customer: Customer
    profiles: list[Profile]
    events: list[tuple[datetime, int, str, Any]]  # (at, priority, kind, payload)


def generate_customer(rng: random.Random, n: int) -> Generated:
    pid = f"p_{n:04d}"
    created = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 200_000))
    traits: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    context_tz = None

    # where they are, and what says so
    roll = rng.random()
    country = None if roll < 0.07 else rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
    truth: str | None
    certain = False
    geographic = False
    if country is None:
        truth = rng.choice(ODD_DECLARED_ZONES) if rng.random() < 0.6 else None
        if truth is not None:
            traits["timezone"] = truth
            certain = True
        names = rng.choice(("ru", "en"))
    else:
        home = rng.choice(country.homes)
        truth = home.zone
        names = country.names
        evidence = rng.random()
        if evidence < 0.28:
            traits["timezone"] = truth
            certain = True
        elif evidence < 0.36:
            context_tz = truth
            certain = True
        elif evidence < 0.41:
            traits["timezone"] = rng.choice(INVALID_ZONES)
        if rng.random() < 0.45:
            code = rng.choice((country.code, country.code, country.code.lower(), f" {country.code} "))
            if rng.random() < 0.08:
                code = {"RU": "Russia", "GB": "UK", "AU": "Australia", "US": "USA", "CA": "Canada"}[
                    country.code
                ]
            traits["address"] = {"country": code, "city": "—"}
        if rng.random() < country.phones:
            geographic = not country.mobile or rng.random() < 0.5
            prefix = rng.choice(home.prefixes if geographic else country.mobile)
            phone = _phone(rng, country, prefix)
            if rng.random() < 0.06:  # as typed, not normalized: nobody can text it
                phone = ("8 " if country.code == "RU" else "0") + phone[len(country.dial) :]
            traits["phone"] = phone
        knowable = certain or (
            isinstance(traits.get("address"), dict)
            and traits["address"]["country"].strip().upper() == country.code
        ) or str(traits.get("phone", "")).startswith("+")  # fmt: skip
        if not knowable:
            truth = None
    inputs["truth_zone"] = truth
    inputs["zone_evidence"] = (
        "device" if context_tz else "declared" if certain else "none" if truth is None
        else "phone_area" if geographic and str(traits.get("phone", "")).startswith("+") else "country"
    )  # fmt: skip

    # who they are
    name_traits, name_gender, patronymic = _name_traits(rng, names)
    traits.update(name_traits)
    roll = rng.random()
    declared = None
    if roll < 0.42:
        candidates = [v for v, g in DECLARED.items() if g == name_gender]
        traits["gender"] = rng.choice(candidates) if rng.random() < 0.92 else rng.choice(list(DECLARED))
        declared = DECLARED[traits["gender"]]
        genders = frozenset({declared})
    elif roll < 0.54:
        traits["gender"] = rng.choice(DECLARED_ODD)
        genders = frozenset()
    else:
        if roll < 0.58:
            traits["gender"] = rng.choice(("", "  "))
        genders = frozenset({patronymic}) if patronymic else frozenset()
    locale = rng.choice(LOCALES)
    if locale is not None:
        traits["locale"] = locale
    if rng.random() < 0.85:
        traits["email"] = f"{pid}@example.com"
    push = rng.random() < 0.35
    if push:
        traits["push_address"] = rng.choice(("fcm", "apns")) + f":token-{pid}"
    if rng.random() < 0.45:
        traits["preferred_channel"] = rng.choice((*CHANNELS, "web", "app", "telegram"))
    channels = frozenset(
        rng.sample(("web", "app", "store", "call_center", "email", "sms"), rng.randint(0, 4))
    )

    # consent per channel and topic: yes, no or never asked; and maybe one change later
    consent: dict[str, list[tuple[datetime, bool]]] = {}
    for channel in CHANNELS:
        for topic, weights in (("marketing", (45, 18, 37)), ("transactional", (10, 14, 76))):
            answer = rng.choices((True, False, None), weights)[0]
            if answer is not None:
                consent[f"{channel}.{topic}"] = [(created, answer)]

    plan = _plan(rng, [truth] if truth else [])
    orders = _orders(rng, pid, plan.times[0])
    birthday_plan = next((t for t, k in zip(plan.times, plan.kinds, strict=True) if k == "birthday"), None)
    celebrated = None
    if birthday_plan is not None:
        celebrated = (local(birthday_plan, truth) if truth else birthday_plan).date()
        if rng.random() < 0.1:
            celebrated -= timedelta(days=1)  # the sweep ran late: the day is (nearly) over
        born = celebrated.replace(year=rng.randint(1960, 2005))
        if (celebrated.month, celebrated.day) == (2, 28) and rng.random() < 0.5:
            born = date(rng.choice((1988, 1992, 2000)), 2, 29)  # congratulated on Feb 28 in 2027
        traits["birthday"] = born.isoformat()

    # the profile: two parts when merged (a tombstone left behind by the absorbed profile)
    alias = f"{pid}_merged" if rng.random() < 0.12 else None
    subscriptions = {
        key: _stamp({"subscribed": v[0][1], "source_id": "web_local", "consent_version": "v1"}, created, key)
        for key, v in consent.items()
    }
    main_traits = {k: _stamp(v, created, f"{pid}-{k}") for k, v in traits.items()}
    other = ProfileState()
    if alias is not None:  # the absorbed part brought the phone and the SMS consents
        moved = {k: main_traits.pop(k) for k in ("phone",) if k in main_traits}
        moved_subs = {k: subscriptions.pop(k) for k in list(subscriptions) if k.startswith("sms.")}
        other = ProfileState(
            traits=moved,
            subscriptions=moved_subs,
            identifiers=frozenset({Identifier(kind="user_id", value=alias)}),
        )
    state = ProfileState(
        traits=main_traits,
        subscriptions=subscriptions,
        context_timezone=_stamp(context_tz, created, f"{pid}-ctz") if context_tz else None,
        context_locale=_stamp("en-US", created, f"{pid}-cl") if rng.random() < 0.1 else None,
        first_seen=created,
        last_seen=created,
        channels=channels,
        active_days={
            c: frozenset(f"2027-01-{d:02d}" for d in rng.sample(range(1, 29), rng.randint(1, 6)))
            for c in sorted(channels)
            if rng.random() < 0.7
        },
        identifiers=frozenset({Identifier(kind="user_id", value=pid)}),
        orders=orders,
    )
    parts = {pid: state} if alias is None else {pid: state, alias: other}
    profile = Profile(profile_id=pid, version=1, created_at=created, parts=parts)
    profiles = [profile]
    if alias is not None:
        profiles.append(Profile(profile_id=alias, version=2, created_at=created, merged_into=pid))
    full_state = profile.state()
    product_zones = plausible_zones(full_state, None)  # what the triggers put in the facts

    inputs.update(
        {k: v for k, v in traits.items() if k not in ("email", "push_address", "birthday")},
        context_timezone=context_tz,
        push=push,
        channels=sorted(channels),
        orders=len(orders),
        declared_gender=declared,
        patronymic_gender=patronymic,
        alias=alias,
    )

    # the intents (and the other things that happen to the customer)
    events: list[tuple[datetime, int, str, Any]] = []
    made: list[Intent] = []
    open_orders: dict[str, OrderStatus | None] = {}
    order_seq = 0
    welcome_sent = False
    birthday_intent = None

    def target() -> str:
        return alias if alias is not None and rng.random() < 0.5 else pid

    def marketing(at: datetime) -> Intent:
        choice = rng.random()
        if choice < 0.5 or welcome_sent:
            return replenishment(at)
        return welcome(at)

    def replenishment(at: datetime) -> Intent:
        product = rng.choice(CONSUMABLES)
        days = rng.randint(5, 60)
        last = at - timedelta(days=days, minutes=rng.randint(0, 600))
        facts = ReplenishmentFacts(
            product_id=product.product_id,
            product_name=rng.choice((product.name, product.name, None, product.name.split()[-1])),
            last_purchase_at=last,
            last_purchase_channel=rng.choice(("web", "store", "app", None)),
            quantity=rng.choice((1, 1, 2, 0.5, 3)),
            days_since=days,
            expected_runout_at=at - timedelta(hours=rng.randint(0, 48)),
            basis=rng.choice(("catalog", "personal", "population:product", "population:category")),
        )
        key = f"replenishment:{pid}:{product.product_id}:{last:%Y%m%d%H%M}"
        return make_intent(target(), Topic.MARKETING, key, facts, at)

    def welcome(at: datetime) -> Intent:
        subscribed = tuple(c for c in CHANNELS if customer.subscribed(f"{c}.marketing", at))
        facts = WelcomeFacts(channels=subscribed, subscribed_at=at, source_id="web_local")
        return make_intent(target(), Topic.MARKETING, f"welcome:{pid}", facts, at)

    def order_status(at: datetime) -> Intent:
        nonlocal order_seq
        live = [o for o, s in open_orders.items() if s not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)]
        if not live or (len(live) < 2 and rng.random() < 0.2):
            order_seq += 1
            order_id = f"o-{pid}-{order_seq}"
            open_orders[order_id] = None
        else:
            order_id = rng.choice(live)
        previous = open_orders[order_id]
        following = {
            None: (OrderStatus.PLACED,),
            OrderStatus.PLACED: (OrderStatus.PAID, OrderStatus.PAID, OrderStatus.CANCELLED),
            OrderStatus.PAID: (OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP, OrderStatus.CANCELLED,
                               OrderStatus.REFUNDED),
            OrderStatus.SHIPPED: (OrderStatus.DELIVERED, OrderStatus.DELIVERED, OrderStatus.REFUNDED),
            OrderStatus.READY_FOR_PICKUP: (OrderStatus.DELIVERED, OrderStatus.CANCELLED),
            OrderStatus.DELIVERED: (OrderStatus.REFUNDED, OrderStatus.DELIVERED),
        }[previous]  # fmt: skip
        status = rng.choice(following)
        open_orders[order_id] = status
        lines = []
        for product in rng.sample(PRODUCTS, rng.randint(0, 3)):
            names = LINE_NAMES.get(product.product_id, (product.name, None))
            lines.append(
                OrderLine(
                    product_id=product.product_id, name=rng.choice(names), quantity=rng.choice((1, 2, 1.5))
                )
            )
        if rng.random() < 0.15:
            lines.append(OrderLine(product_id="gift-wrap", name="Подарочная упаковка"))
        details: dict[str, str] = {}
        if status is OrderStatus.SHIPPED:
            tracking = rng.choice(("RA123456789RU", "1Z999AA10123456784", "null"))
            carrier = rng.choice(("Почта России", "DHL", "СДЭК"))
            url = "https://track.example/RA123456789RU"
            for key, value in (("tracking_number", tracking), ("tracking_url", url), ("carrier", carrier)):
                if rng.random() < 0.5:
                    details[key] = value
        if status is OrderStatus.READY_FOR_PICKUP and rng.random() < 0.6:
            details["pickup_location"] = rng.choice(("ул. Тверская, 7", "12 High Street", " "))
        if rng.random() < 0.2:
            details["total_price"] = "990"
        facts = OrderStatusFacts(
            order_id=order_id,
            status=status,
            previous_status=previous,
            order_channel=rng.choice(("web", "app", "store", "call_center", "sms", "email", None, "kiosk")),
            status_at=at,
            total=rng.choice((None, 990.0, 12990.5)),
            currency=rng.choice(("RUB", None)),
            products=tuple(lines),
            details=details,
            message_id=f"evt-{order_id}-{status.value}",
        )
        return make_intent(target(), Topic.TRANSACTIONAL, f"order:{order_id}:{status.value}", facts, at)

    customer = Customer(pid, alias, truth, certain, genders, consent, inputs)
    for at, kind in zip(plan.times, plan.kinds, strict=True):
        if kind == "birthday" and birthday_intent is None and celebrated is not None:
            facts = BirthdayFacts(
                birthday=date.fromisoformat(traits["birthday"]),
                celebrated_on=celebrated,
                year=celebrated.year,
                timezones=product_zones,
            )
            birthday_intent = make_intent(
                target(), Topic.MARKETING, f"birthday:{pid}:{celebrated.year}", facts, at
            )
            intent = birthday_intent
        elif kind == "again" and made:
            intent = rng.choice(made)  # the same intent emitted again (at-least-once triggers)
        elif kind == "pair":
            first, second = marketing(at), replenishment(at)
            events.append((at, 2, "pair", (first, second)))
            made += [first, second]
            continue
        elif kind == "welcome" and not welcome_sent:
            intent = welcome(at)
            welcome_sent = True
        elif kind in ("replenishment", "birthday", "welcome"):
            intent = replenishment(at)
        else:
            intent = order_status(at)
        made.append(intent)
        events.append((at, 2, "intent", intent))

    # a consent change somewhere in the middle: the dispatcher must see it from then on
    if rng.random() < 0.3:
        at = rng.choice(plan.times) + timedelta(minutes=rng.choice((-30, -1, 0, 1, 45, 600)))
        key = f"{rng.choice(CHANNELS)}.{rng.choice(('marketing', 'marketing', 'transactional'))}"
        now_value = customer.subscribed(key, at)
        value = not now_value if now_value is not None else rng.random() < 0.6
        consent.setdefault(key, []).append((at, value))
        changed = state.model_copy(
            update={
                "subscriptions": {
                    **state.subscriptions,
                    key: _stamp(
                        {"subscribed": value, "source_id": "email_local", "consent_version": "v2"},
                        at,
                        f"{pid}-{key}-change",
                    ),
                }
            }
        )
        updated = profile.model_copy(update={"version": 2, "parts": {**profile.parts, pid: changed}})
        events.append((at, 0, "profile", updated))
        inputs["consent_change"] = (at.isoformat(), key, value)
    if rng.random() < 0.4:  # the site, the POS or the call center asks what to say and offer
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5 or not product_zones:
                at = rng.choice(plan.times) - timedelta(minutes=rng.randint(0, 600))
            else:  # around a local midnight in one of the zones: the day and maybe the season turn
                zone_name = rng.choice(product_zones)
                day = local(rng.choice(plan.times), zone_name).date() + timedelta(days=rng.choice((0, 1)))
                midnight = datetime.combine(day, time(0), tzinfo=tz(zone_name)).astimezone(UTC)
                at = midnight + timedelta(minutes=rng.randint(-45, 45))
            events.append((at, 3, "decide", (pid, rng.choice(PLACEMENTS))))
    first_day, last_day = plan.times[0] - timedelta(days=4), plan.times[-1] + timedelta(days=4)
    turns = [d for d in SEASON_TURNS if first_day <= datetime.combine(d, time(12), UTC) <= last_day]
    if len(product_zones) > 1 and turns and rng.random() < 0.7:
        # the last day of a season in the zone the day's decisions are kept for: decided at noon,
        # asked again late in the evening, when a zone further east is already in the next season
        first, day = tz(product_zones[0]), rng.choice(turns)
        for moment in (
            time(rng.randint(9, 15), rng.randint(0, 59)),
            time(rng.randint(21, 23), rng.randint(0, 59)),
        ):
            at = datetime.combine(day, moment, tzinfo=first).astimezone(UTC)
            events.append((at, 3, "decide", (pid, rng.choice(PLACEMENTS))))
    inputs["subscriptions"] = {k: v[0][1] for k, v in consent.items()}
    return Generated(customer, profiles, events)


# -- the simulation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispatched:
    intent: Intent
    at: datetime
    result: DispatchResult
    released: bool  # re-dispatched by the deferred sweep
    raced: bool  # dispatched while another dispatcher held a stale caps ledger


@dataclass(frozen=True)
class Decided:
    pid: str
    at: datetime
    placement: str
    decision: Decision


@dataclass(frozen=True)
class Crashed:
    request: Intent | DecideRequest
    at: datetime
    error: Exception


@dataclass(frozen=True)
class NoContent:
    """One ContentUnavailable the dispatcher turned into SKIPPED no_content, with its cause."""

    intent: Intent
    at: datetime
    trigger: str  # the template key: birthday, order_shipped, ...
    channel: str
    locale: str
    message: str  # ContentUnavailable's message: every variant tried and why it failed

    @property
    def topic(self) -> str:
        return self.intent.topic.value

    @property
    def cause(self) -> str:
        """Why the last variant (the one that should always render) failed, or what else did;
        quoted values are elided so that cases group."""
        text = self.message
        if " renders (" in text:
            text = text.split(" renders (", 1)[1].removesuffix(")").split("; ")[-1]
        elif ": " in text and text.split(": ", 1)[0].count(".") == 2:
            text = text.split(": ", 1)[1]  # "<template>.<locale>: the why line ..."
        return re.sub(r"'[^']*'", "'...'", text)


class Collect:
    def __init__(self) -> None:
        self.intents: list[Intent] = []

    def publish(self, intents: Sequence[Intent]) -> None:
        self.intents.extend(intents)


class Simulation:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = SimClock()
        self.profiles = FakeProfiles()
        self.messages = FakeMessages()
        self.decisions = FakeDecisions(self.clock)
        self.catalog = FakeCatalog(self.clock, PRODUCTS, price_schedules(self.rng))
        self.outbox = Outbox()
        sender = OutboxSender(self.outbox)
        self.deps = DispatchDeps(
            profiles=self.profiles,
            messages=self.messages,
            decisions=self.decisions,
            catalog=self.catalog,
            offers=self.catalog,
            senders={channel: sender for channel in DeliveryChannel},
            pack=default_pack(),
            links=LinkSigner(base_url="https://shop.example", secrets=(b"k",), ttl=timedelta(days=90)),
            webhooks=("store", "call_center"),
        )
        self.customers: dict[str, Customer] = {}
        self.intents: dict[str, Intent] = {}
        self.dispatched: list[Dispatched] = []
        self.decided: list[Decided] = []
        self.crashed: list[Crashed] = []
        self.no_content: list[NoContent] = []
        self.dispatching: tuple[Intent, datetime] | None = None
        self.queue: list[tuple[datetime, int, int, str, Any]] = []
        self.seq = 0

    def push(self, at: datetime, priority: int, kind: str, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, priority, self.seq, kind, payload))

    def populate(self, count: int) -> None:
        for n in range(count):
            generated = generate_customer(self.rng, n)
            customer = generated.customer
            self.customers[customer.pid] = customer
            for profile in generated.profiles:
                identifiers = [Identifier(kind="user_id", value=profile.profile_id)]
                self.profiles.put(profile, identifiers if profile.merged_into is None else ())
            for at, priority, kind, payload in generated.events:
                self.push(at, priority, kind, payload)
        start = datetime(2027, 3, 26, tzinfo=UTC)
        for n in range(UNKNOWN_PROFILE_INTENTS):  # intents for profiles that do not exist (any more)
            at = start + timedelta(hours=7 * n)
            facts = WelcomeFacts(channels=("email",), subscribed_at=at, source_id="web_local")
            self.push(
                at, 2, "intent", make_intent(f"p_gone_{n}", Topic.MARKETING, f"welcome:gone:{n}", facts, at)
            )

    def run(self) -> None:
        with patch.object(dispatch_module, "compose", self.compose):
            self._run()

    def compose(self, pack: ContentPack, request: ContentInput) -> Rendered:
        """The dispatcher's real compose, recording why a message had no content."""
        try:
            return compose(pack, request)
        except ContentUnavailable as exc:
            assert self.dispatching is not None
            intent, at = self.dispatching
            locale = resolve_locale(request.profile.locale, pack)
            self.no_content.append(
                NoContent(intent, at, request.trigger, request.channel, locale, exc.message)
            )
            raise

    def _run(self) -> None:
        while self.queue:
            at, _priority, _seq, kind, payload = heapq.heappop(self.queue)
            self.clock.now = at
            if kind == "profile":
                self.profiles.put(payload)
            elif kind == "intent":
                self.dispatch(payload, at)
            elif kind == "pair":
                self.race(*payload, at)
            elif kind == "sweep":
                collected = Collect()
                sweep(self.messages, collected, at, SWEEP_LOOKBACK_HOURS)
                for intent in collected.intents:
                    self.dispatch(intent, at, released=True)
            elif kind == "decide":
                self.decide(*payload, at)

    def race(self, first: Intent, second: Intent, at: datetime) -> None:
        """Two dispatchers at once: the second runs to the end between the first's caps read
        and its reservation, so the first meets a changed ledger and must decide again."""

        def hook() -> None:
            self.dispatch(second, at, raced=True)

        self.messages.after_caps_read.append(hook)
        self.dispatch(first, at)
        if hook in self.messages.after_caps_read:  # the first never read the caps (no channel)
            self.messages.after_caps_read.remove(hook)
            hook()

    def dispatch(self, intent: Intent, at: datetime, released: bool = False, raced: bool = False) -> None:
        self.intents.setdefault(intent.send_once_key, intent)
        outer, self.dispatching = self.dispatching, (intent, at)  # a raced dispatch runs inside another
        try:
            result = dispatch(intent, self.deps, at)
        except Exception as exc:  # the queue would retry it for ever and then dead-letter it
            self.crashed.append(Crashed(intent, at, exc))
            return
        finally:
            self.dispatching = outer
        self.dispatched.append(Dispatched(intent, at, result, released, raced))
        if result.status is DispatchStatus.DEFERRED:
            assert result.release_at is not None and result.release_at > at, result
            roll = self.rng.random()
            lag = (
                timedelta(0)
                if roll < 0.6
                else timedelta(minutes=self.rng.randint(1, 59))
                if roll < 0.9
                else timedelta(hours=self.rng.randint(1, 3))
            )
            self.push(result.release_at + lag, 1, "sweep", None)

    def decide(self, pid: str, placement: tuple[str, str], at: datetime) -> None:
        request = DecideRequest(
            identifier=IdentifierRef(type="user_id", value=pid), placement=placement[0], channel=placement[1]
        )
        try:
            decision = decide(
                request, self.profiles, self.decisions, self.catalog, self.deps.pack,
                now=at, default_country=None, tenure=TenurePolicy(),
            )  # fmt: skip
        except Exception as exc:
            self.crashed.append(Crashed(request, at, exc))
            return
        self.decided.append(Decided(pid, at, placement[0], decision))


# -- what was sent, with what the checks need ------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    out: dict[str, Any]  # the outbox record
    record: MessageRecord
    customer: Customer
    intent: Intent
    at: datetime
    zones: tuple[str, ...]  # where the local rules must hold: the real zone and every zone considered

    @property
    def why(self) -> Explanation:
        return self.record.explanation

    @property
    def marketing(self) -> bool:
        return self.out["topic"] == Topic.MARKETING.value

    @property
    def channel(self) -> str:
        return self.out["channel"]

    def texts(self) -> list[str]:
        return [t for t in (self.out["subject"], self.out["body"]) if t is not None]


@dataclass
class Audit:
    sim: Simulation
    sent: list[Sent]
    seconds: float

    def customer_of(self, profile_id: str) -> Customer:
        return self.sim.customers[profile_id]


def zones_for(customer: Customer, considered: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(considered) | ({customer.truth} if customer.truth else set())))


@pytest.fixture(scope="module")
def audit() -> Audit:
    started = perf_counter()
    sim = Simulation(SEED)
    sim.populate(PROFILES)
    sim.run()
    sent = []
    for out in sim.outbox.records():
        record = sim.messages.records[out["id"]]
        customer = sim.customers[record.profile_id]
        zones = zones_for(customer, record.explanation.quiet_hours["zones"])
        at = datetime.fromisoformat(out["sent_at"])
        sent.append(Sent(out, record, customer, sim.intents[out["send_once_key"]], at, zones))
    return Audit(sim, sent, perf_counter() - started)


# -- describing a case ----------------------------------------------------------------------------------


def moments(at: datetime, zones: Iterable[str]) -> str:
    return ", ".join(f"{local(at, z):%a %Y-%m-%d %H:%M%z} {z}" for z in zones) or "no zone"


def shorten(text: str | None, limit: int = 260) -> str:
    if text is None:
        return "None"
    flat = text.replace("\n", " / ")
    return flat if len(flat) <= limit else flat[:limit] + "..."


def case(sent: Sent, problem: str) -> str:
    why = sent.why
    considered = why.quiet_hours["zones"]
    return (
        f"{problem}\n"
        f"    customer {sent.customer.pid}: {sent.customer.inputs}\n"
        f"    intent {sent.intent.send_once_key} ({sent.intent.topic.value}) created "
        f"{sent.intent.created_at:%Y-%m-%d %H:%M}Z\n"
        f"    sent {sent.at:%Y-%m-%d %H:%M}Z = {moments(sent.at, sent.zones)}; "
        f"dispatcher zones {considered[:4]}{'...' if len(considered) > 4 else ''}\n"
        f"    {sent.channel} to {sent.out['to']}: {sent.out['template']} ({sent.out['locale']}); "
        f"context daypart={why.context.get('daypart')} season={why.context.get('season')} "
        f"gender={why.context.get('gender')} ({why.context.get('gender_basis')})\n"
        f"    offer {why.offer!r}\n"
        f"    subject: {shorten(sent.out['subject'])}\n"
        f"    body: {shorten(sent.out['body'])}"
    )


def decided_case(audit: Audit, decided: Decided, zones: Iterable[str], problem: str) -> str:
    customer = audit.customer_of(decided.pid)
    d = decided.decision
    return (
        f"{problem}\n"
        f"    customer {customer.pid}: {customer.inputs}\n"
        f"    decide {decided.placement}/{d.channel.value} at {decided.at:%Y-%m-%d %H:%M}Z = "
        f"{moments(decided.at, zones)}\n"
        f"    context daypart={d.context.get('daypart')} season={d.context.get('season')}; "
        f"offer {d.offer!r}\n"
        f"    greeting: {d.greeting}; text: {shorten(d.text)}"
    )


def verdict(rule: str, violations: list[str], seen_before: str | None = None) -> None:
    """Fail with the first cases; ``seen_before``: a product bug that once broke this rule."""
    if violations:
        shown = "\n".join(violations[:MAX_SHOWN])
        earlier = f"\n(this audit found before: {seen_before})" if seen_before else ""
        pytest.fail(
            f"{rule}: {len(violations)} violation(s); the first {min(len(violations), MAX_SHOWN)}:\n"
            f"{shown}{earlier}"
        )


URL = re.compile(r"https?://\S+")


def prose(text: str) -> str:
    """The words of a text without its links (signed tokens are random letters)."""
    return URL.sub(" ", text)


# -- product bugs this audit found, fixed; kept so a regression names its case --------------------------

PHONE_ZONE_BUG = (
    "product bug: a zone inferred from a geographic phone number is phonenumbers' single zone for the "
    "number, which is wrong for some places: Kaliningrad +7 4012 gives Europe/Bucharest (UTC+3 in summer, "
    "Kaliningrad is UTC+2 all year), Ipswich/Redcliffe +61 7 3xxx give Australia/Sydney (DST; Queensland "
    "has none); marketing then goes out at 08:00 local and the daypart and greeting are an hour off"
)
STICKY_OFFER_BUG = (
    "product bug: the day's offer is kept for the local day of the first plausible zone and not checked "
    "against the season again: decided at noon on the last day of a season, a placement late that evening "
    "still offers it while zones further east (where the customer may be) are already in the next season"
)
SEASONAL_REMINDER_BUG = (
    "product bug (if a priced reminder counts as an offer): replenishment reminders quote the price and "
    "discount of seasonal products (sunscreen, antihistamines, ice cream) out of season; neither the "
    "dispatcher nor the reminder trigger looks at the catalog's seasons"
)
MIDDLE_NAME_BUG = (
    "product bug: a middle name of only hyphens ('-', the usual 'no patronymic' in Russian forms) and no "
    "declared gender makes patronymic_gender() raise IndexError (words[-1] of an empty split) in every "
    "compose: the dispatcher and the decide API fail for that customer, order updates included"
)
CONTENT_GAP_BUG = (
    "product bug: the default pack had no birthday, replenishment or welcome template for the store and "
    "call_center channels; a customer who opted in to marketing there (and preferred it, or was seen "
    "there most) got nothing: SKIPPED no_content, 444 of 9,177 dispatches"
)
EVIDENCE = (
    "declared",
    "device",
    "phone_area",
    "country",
    "none",
)


@pytest.fixture(params=EVIDENCE)
def evidence(request):
    """What tells where the customer is: their declared zone, their device's, a geographic phone
    number (whatever else they gave), an address country or a mobile number, nothing."""
    return request.param


# -- 1. daypart and greeting -----------------------------------------------------------------------------

GREETINGS = {
    "Доброе утро": "morning", "Добрый день": "day", "Добрый вечер": "evening", "Доброй ночи": "night",
    "Good morning": "morning", "Good afternoon": "day", "Good evening": "evening",
}  # fmt: skip


def daypart_problems(daypart: str | None, certain_zone: str | None, zones: Sequence[str], at: datetime,
                     texts: Iterable[str]) -> list[str]:  # fmt: skip
    parts = {daypart_of(local(at, z).hour) for z in zones}
    problems = []
    if daypart is not None and parts != {daypart}:
        problems.append(f"context daypart {daypart!r} but the local dayparts are {sorted(parts)}")
    if certain_zone is not None and daypart != daypart_of(local(at, certain_zone).hour):
        problems.append(f"context daypart {daypart!r} in the one known zone {certain_zone}")
    for text in texts:
        for phrase, part in GREETINGS.items():
            if phrase.lower() in text.lower() and parts != {part}:
                problems.append(
                    f"greeting {phrase!r} while the local dayparts are {sorted(parts) or 'unknown'}"
                )
    return problems


def test_daypart_follows_the_local_hour_and_greetings_never_contradict_it(audit, evidence):
    violations = []
    messages = [s for s in audit.sent if s.customer.inputs["zone_evidence"] == evidence]
    for sent in messages:
        certain = sent.customer.truth if sent.customer.certain else None
        for problem in daypart_problems(
            sent.why.context.get("daypart"), certain, sent.zones, sent.at, sent.texts()
        ):
            violations.append(case(sent, problem))
    placements = [
        d for d in audit.sim.decided if audit.customer_of(d.pid).inputs["zone_evidence"] == evidence
    ]
    for decided in placements:
        customer = audit.customer_of(decided.pid)
        zones = zones_for(customer, decided.decision.context["zones"])
        certain = customer.truth if customer.certain else None
        texts = [decided.decision.greeting, decided.decision.text]
        for problem in daypart_problems(
            decided.decision.context.get("daypart"), certain, zones, decided.at, texts
        ):
            violations.append(decided_case(audit, decided, zones, problem))
    assert len(messages) >= 100 and len(placements) >= 30, (len(messages), len(placements))
    verdict(f"daypart ({evidence})", violations, PHONE_ZONE_BUG if evidence == "phone_area" else None)


# -- 2. season -------------------------------------------------------------------------------------------


def season_problem(product_id: str, zones: Sequence[str], at: datetime) -> str | None:
    seasons = CATALOG[product_id].seasons
    if not seasons:
        return None
    here = common_season_in(zones, at) if zones else None
    if here in seasons:
        return None
    return (
        f"{product_id} is for {sorted(s.value for s in seasons)} but the season where the customer is: "
        f"{here.value if here else 'unknown or not the same in every zone'} "
        f"({', '.join(f'{z}: {season_in(z, at)}' for z in zones[:6])})"
    )


def test_offers_in_messages_are_in_season_where_the_customer_is(audit):
    violations = []
    offered = [s for s in audit.sent if s.why.offer is not None]
    for sent in offered:
        if problem := season_problem(sent.why.offer.product_id, sent.zones, sent.at):
            violations.append(case(sent, "offer: " + problem))
    assert len(offered) >= 200
    verdict("season (the offer of a message)", violations)


def test_explanations_list_an_offer_only_when_the_message_showed_it(audit):
    """What a message says of its offer and what its "why" says are the same offer, or none."""
    violations = []
    offered = [s for s in audit.sent if s.why.offer is not None]
    for sent in offered:
        offer = sent.why.offer
        words = "\n".join(prose(t) for t in sent.texts())
        if not offer.sensitive and offer.name not in words:
            violations.append(
                case(sent, f"the explanation lists offer {offer.product_id!r}, the message does not")
            )
    shown_without = [s for s in audit.sent if s.why.offer is None and s.why.variant.endswith("offer")]
    for sent in shown_without:
        violations.append(
            case(sent, f"variant {sent.why.variant!r} showed an offer the explanation does not list")
        )
    assert len(offered) >= 200
    verdict("explanation (the offer a message showed)", violations)


def test_offers_on_placements_are_in_season_where_the_customer_is(audit):
    violations = []
    offered = [d for d in audit.sim.decided if d.decision.offer is not None]
    for decided in offered:
        customer = audit.customer_of(decided.pid)
        zones = zones_for(customer, decided.decision.context["zones"])
        if problem := season_problem(decided.decision.offer.product_id, zones, decided.at):
            violations.append(decided_case(audit, decided, zones, "placement offer: " + problem))
    assert len(offered) >= 300
    verdict("season (the offer of a placement)", violations, STICKY_OFFER_BUG)


def test_marketing_messages_quote_prices_only_for_products_in_season(audit):
    """A replenishment reminder with its price and discount is an offer of that product too."""
    violations = []
    for sent in audit.sent:
        if not sent.marketing:
            continue
        for product in sent.why.products:
            if product.price is not None and (
                problem := season_problem(product.product_id, sent.zones, sent.at)
            ):
                violations.append(case(sent, "priced product: " + problem))
    verdict("season (priced products of marketing messages)", violations, SEASONAL_REMINDER_BUG)


# -- 3. salutation ---------------------------------------------------------------------------------------

GENDERED = (
    (re.compile(r"(?<!\w)уважаемая(?!\w)", re.IGNORECASE), F),
    (re.compile(r"(?<!\w)уважаемый(?!\w)", re.IGNORECASE), M),
    (re.compile(r"(?<!\w)госпожа(?!\w)", re.IGNORECASE), F),
    (re.compile(r"(?<!\w)господин(?!\w)", re.IGNORECASE), M),
    (re.compile(r"в женском роде", re.IGNORECASE), F),
    (re.compile(r"в мужском роде", re.IGNORECASE), M),
    (re.compile(r"\bDear Ms\b"), F),
    (re.compile(r"\bDear Mr\b"), M),
    (re.compile(r"\bMs\b"), F),
    (re.compile(r"\bMr\b"), M),
    (re.compile(r"\bMrs\b"), F),
    (re.compile(r"\bMiss\b"), F),
    (re.compile(r"\bSir\b"), M),
    (re.compile(r"\bMadam\b"), F),
)


def salutation_problems(customer: Customer, texts: Iterable[str]) -> list[str]:
    problems = []
    for text in texts:
        for pattern, gender in GENDERED:
            if (found := pattern.search(prose(text))) and gender not in customer.genders:
                basis = f"allowed only {sorted(customer.genders)}" if customer.genders else "no gender known"
                problems.append(f"gendered form {found.group(0)!r} ({gender}) but {basis}")
    return problems


def test_gendered_salutations_only_from_a_declared_gender_or_a_patronymic(audit):
    violations = [case(s, p) for s in audit.sent for p in salutation_problems(s.customer, s.texts())]
    for decided in audit.sim.decided:
        customer = audit.customer_of(decided.pid)
        for problem in salutation_problems(customer, [decided.decision.greeting, decided.decision.text]):
            zones = zones_for(customer, decided.decision.context["zones"])
            violations.append(decided_case(audit, decided, zones, problem))
    verdict("salutation", violations)


# -- 4. caps ---------------------------------------------------------------------------------------------


def test_marketing_caps_hold_per_local_day_and_iso_week_in_every_plausible_zone(audit):
    by_profile: dict[str, list[Sent]] = defaultdict(list)
    for sent in audit.sent:
        if sent.marketing:
            by_profile[sent.record.profile_id].append(sent)
    violations = []
    for sends in by_profile.values():
        zones = sorted({z for s in sends for z in s.zones})
        for zone_name in zones:
            days: dict[date, list[Sent]] = defaultdict(list)
            weeks: dict[tuple[int, int], list[Sent]] = defaultdict(list)
            for sent in sends:
                day = local(sent.at, zone_name).date()
                days[day].append(sent)
                weeks[day.isocalendar()[:2]].append(sent)
            for day, same in days.items():
                if len(same) > 1:
                    keys = [s.intent.send_once_key for s in same]
                    violations.append(
                        case(same[-1], f"{len(same)} marketing messages on {day} in {zone_name}: {keys}")
                    )
            for week, same in weeks.items():
                if len(same) > 3:
                    keys = [f"{s.at:%m-%d %H:%M}Z" for s in same]
                    violations.append(
                        case(
                            same[-1], f"{len(same)} marketing messages in week {week} in {zone_name}: {keys}"
                        )
                    )
    for done in audit.sim.dispatched:  # transactional messages neither count nor wait
        if done.intent.topic is Topic.TRANSACTIONAL and (
            done.result.status is DispatchStatus.DEFERRED
            or "cap" in done.result.reason
            or "quiet" in done.result.reason
        ):
            violations.append(f"transactional {done.intent.send_once_key} at {done.at}: {done.result}")
    verdict("caps", violations)


# -- 5. quiet hours --------------------------------------------------------------------------------------


def test_marketing_goes_out_between_09_and_21_local_in_every_plausible_zone(audit, evidence):
    violations = []
    tried = [
        d
        for d in audit.sim.dispatched
        if d.intent.topic is Topic.MARKETING
        and (c := audit.sim.customers.get(d.intent.profile_id.removesuffix("_merged")))
        and c.inputs["zone_evidence"] == evidence
    ]
    for sent in audit.sent:
        if not sent.marketing or sent.customer.inputs["zone_evidence"] != evidence:
            continue
        if not sent.zones:
            violations.append(case(sent, "marketing sent to a customer whose zone nothing tells"))
        for zone_name in sent.zones:
            moment = local(sent.at, zone_name).time()
            if not time(9, 0) <= moment < time(21, 0):
                violations.append(case(sent, f"marketing at {moment:%H:%M} in {zone_name}"))
                break
    assert len(tried) >= 100, len(tried)
    verdict(f"quiet hours ({evidence})", violations, PHONE_ZONE_BUG if evidence == "phone_area" else None)


# -- 6. consent ------------------------------------------------------------------------------------------


def test_marketing_needs_an_opt_in_and_transactional_respects_an_opt_out_at_the_time_of_sending(audit):
    violations = []
    for sent in audit.sent:
        topic = sent.out["topic"]
        said = sent.customer.subscribed(f"{sent.channel}.{topic}", sent.at)
        if sent.marketing and said is not True:
            violations.append(
                case(sent, f"marketing on {sent.channel} while its marketing consent is {said}")
            )
        if not sent.marketing and said is False:
            violations.append(case(sent, f"transactional on {sent.channel} after an opt-out of it"))
    verdict("consent", violations)


# -- 7. no placeholder -----------------------------------------------------------------------------------

MARKUP = ("{{", "{%", "}}", "%}")
NULLISH = re.compile(r"\bNone\b|\b(?:null|nil|undefined|NaN)\b", re.IGNORECASE)
EMPTY_NAME = re.compile(r",\s*[,!?.;:]|[ \t],|«\s*»|\(\s*\)|^\s*[,!?.]", re.MULTILINE)


def placeholder_problems(channel: str, subject: str | None, body: str) -> list[str]:
    problems = []
    if channel in ("email", "push") and not (subject or "").strip():
        problems.append("no subject/title")
    for label, text in (("subject", subject), ("body", body)):
        if text is None:
            continue
        if not text.strip():
            problems.append(f"empty {label}")
        words = prose(text)
        problems += [f"{label} shows {mark!r}" for mark in MARKUP if mark in text]
        if found := NULLISH.search(words):
            problems.append(f"{label} shows {found.group(0)!r}")
        if found := EMPTY_NAME.search(words):
            problems.append(f"{label} has an empty name pattern {found.group(0)!r}")
    return problems


def test_no_placeholder_null_or_empty_name_in_any_text(audit):
    violations = [
        case(s, p)
        for s in audit.sent
        for p in placeholder_problems(s.channel, s.out["subject"], s.out["body"])
    ]
    for decided in audit.sim.decided:
        for problem in placeholder_problems("placement", None, decided.decision.text):
            customer = audit.customer_of(decided.pid)
            violations.append(decided_case(audit, decided, zones_for(customer, ()), problem))
    verdict("placeholders", violations)


# -- 8. sensitive products -------------------------------------------------------------------------------


def tells_in(text: str) -> list[str]:
    lowered = prose(text).lower()
    return [tell for tells in TELLS.values() for tell in tells if tell.lower() in lowered]


def test_sensitive_products_are_named_only_inside_email_bodies(audit):
    violations = []
    for sent in audit.sent:
        exposed = [("subject", sent.out["subject"] or "")]
        if sent.channel != "email":
            exposed.append(("body", sent.out["body"]))
        for label, text in exposed:
            if found := tells_in(text):
                violations.append(case(sent, f"{sent.channel} {label} names {found}"))
    for decided in audit.sim.decided:
        customer = audit.customer_of(decided.pid)
        if found := tells_in(decided.decision.text + " " + decided.decision.greeting):
            violations.append(
                decided_case(audit, decided, zones_for(customer, ()), f"placement names {found}")
            )
        if decided.decision.offer is not None and CATALOG[decided.decision.offer.product_id].sensitive:
            violations.append(decided_case(audit, decided, (), "a sensitive product offered on a screen"))
    verdict("sensitive products", violations)


# -- 9. catalog price ------------------------------------------------------------------------------------


def test_prices_are_the_catalog_price_at_the_first_decision_of_the_local_day(audit):
    """The local day: the one known zone, else the first zone the dispatcher considered (the
    day a multi-zone customer's decisions are kept for)."""
    sim = audit.sim
    day_zone: dict[str, str | None] = {}
    for sent in audit.sent:
        customer = sent.customer
        considered = sent.why.quiet_hours["zones"]
        day_zone[customer.pid] = (
            customer.truth if customer.certain else (considered[0] if considered else None)
        )
    for decided in sim.decided:
        customer = audit.customer_of(decided.pid)
        considered = decided.decision.context["zones"]
        day_zone.setdefault(decided.pid, customer.truth if customer.certain else (considered or [None])[0])

    def day_of(pid: str, at: datetime) -> date:
        name = day_zone.get(pid)
        return (local(at, name) if name else at.astimezone(UTC)).date()

    first: dict[tuple[str, str, date], datetime] = {}
    for kept in sim.decisions.price_log:  # every price decision, in time order
        first.setdefault((kept.profile_id, kept.product_id, day_of(kept.profile_id, kept.at)), kept.at)

    def problem(
        pid: str, product_id: str, price: Decimal | None, currency: str | None, at: datetime
    ) -> str | None:
        if price is None:
            return None
        decided_at = first.get((pid, product_id, day_of(pid, at)))
        if decided_at is None:
            return f"{product_id} at {price} {currency}: no price decision logged for that local day"
        expected = sim.catalog.price_at(product_id, decided_at)
        if price != expected or currency != CATALOG[product_id].currency:
            return (
                f"{product_id} shown at {price} {currency}; the catalog said {expected} at the day's first "
                f"decision {decided_at:%Y-%m-%d %H:%M}Z (and {sim.catalog.price_at(product_id, at)} now)"
            )
        return None

    violations = []
    for sent in audit.sent:
        for product in [*([sent.why.offer] if sent.why.offer else []), *sent.why.products]:
            if found := problem(
                sent.record.profile_id, product.product_id, product.price, product.currency, sent.at
            ):
                violations.append(case(sent, found))
    for decided in sim.decided:
        offer = decided.decision.offer
        if offer is not None and (
            found := problem(decided.pid, offer.product_id, Decimal(offer.price), offer.currency, decided.at)
        ):
            customer = audit.customer_of(decided.pid)
            violations.append(
                decided_case(audit, decided, zones_for(customer, decided.decision.context["zones"]), found)
            )
    verdict("catalog price", violations)


# -- 10. why -----------------------------------------------------------------------------------------------


def test_every_message_says_why_and_marketing_email_and_sms_offer_the_unsubscribe_link(audit):
    violations = []
    for sent in audit.sent:
        body = sent.out["body"]
        if not sent.why.why or sent.why.why not in body:
            violations.append(case(sent, f"the why line {sent.why.why!r} is not in the body"))
        if (
            not sent.out["why_url"]
            or sent.out["why_url"] not in body
            or sent.out["id"] not in sent.out["why_url"]
        ):
            violations.append(
                case(sent, f"the why link {sent.out['why_url']!r} is missing or not this message's")
            )
        if sent.marketing and sent.channel in ("email", "sms"):
            link = sent.out["unsubscribe_url"]
            if not link or link not in body:
                violations.append(
                    case(sent, f"marketing {sent.channel} without its unsubscribe link {link!r}")
                )
        if sent.channel == "email" and sent.out["html"] and sent.why.why.split()[0] not in sent.out["html"]:
            violations.append(case(sent, "the HTML part lacks the why line"))
    verdict("why", violations)


# -- 11. exactly once --------------------------------------------------------------------------------------


def test_each_send_once_key_goes_out_once_and_the_log_matches_the_outbox(audit):
    keys = Counter(s.out["send_once_key"] for s in audit.sent)
    violations = [f"{key} sent {n} times" for key, n in keys.items() if n > 1]
    for sent in audit.sent:
        record = sent.record
        if record.status is not MessageStatus.SENT:
            violations.append(case(sent, f"logged as {record.status}"))
        shown = (sent.out["channel"], sent.out["to"], sent.out["subject"], sent.out["body"])
        if (record.channel, record.to, record.subject, record.body) != shown:
            violations.append(case(sent, "the message log differs from what went out"))
    logged = {r.message_id for r in audit.sim.messages.records.values() if r.status is MessageStatus.SENT}
    violations += [
        f"{m} logged as sent but not in the outbox" for m in logged - {s.out["id"] for s in audit.sent}
    ]
    verdict("exactly once", violations)


# -- 12. content ---------------------------------------------------------------------------------------------

# (topic, trigger, channel, cause) -> how many dispatches may end in no_content because no message can
# be right. None: the pack has every trigger on every channel in both locales, every template's last
# variant renders for every customer the generator makes, and every order update carries its order id.
EXPECTED_NO_CONTENT: Counter[tuple[str, str, str, str]] = Counter()


def no_content_case(audit: Audit, found: NoContent) -> str:
    customer = audit.sim.customers.get(found.intent.profile_id.removesuffix("_merged"))
    return (
        f"{found.topic} {found.trigger}.{found.channel}.{found.locale}: {found.message}\n"
        f"    intent {found.intent.send_once_key} at {found.at:%Y-%m-%d %H:%M}Z\n"
        f"    customer {customer.pid if customer else found.intent.profile_id}: "
        f"{customer.inputs if customer else 'unknown'}\n"
        f"    facts {found.intent.facts.model_dump(mode='json')}"
    )


def test_every_eligible_message_has_content_and_order_updates_always_do(audit):
    sim = audit.sim
    skipped = [d for d in sim.dispatched if d.result.reason == "no_content"]
    breakdown = Counter((f.topic, f.trigger, f.channel, f.locale, f.cause) for f in sim.no_content)
    print("no_content by topic, trigger, channel, locale, cause:", dict(breakdown.most_common()) or "none")
    violations = []
    if len(skipped) != len(sim.no_content):
        violations.append(f"{len(skipped)} no_content dispatches, {len(sim.no_content)} causes recorded")
    violations += [
        "an order update without a message: " + no_content_case(audit, f)
        for f in sim.no_content
        if isinstance(f.intent.facts, OrderStatusFacts)
    ]
    found = Counter((f.topic, f.trigger, f.channel, f.cause) for f in sim.no_content)
    if found != EXPECTED_NO_CONTENT:
        unexpected = [
            f for f in sim.no_content if (f.topic, f.trigger, f.channel, f.cause) not in EXPECTED_NO_CONTENT
        ]
        violations.append(f"no_content {dict(found)}, expected exactly {dict(EXPECTED_NO_CONTENT)}")
        violations += [no_content_case(audit, f) for f in unexpected]
    verdict("content", violations, CONTENT_GAP_BUG)


# -- no intent and no placement fails ---------------------------------------------------------------------


def test_every_intent_and_placement_is_answered_without_an_error(audit):
    violations = []
    for crash in audit.sim.crashed:
        request = crash.request
        pid = request.profile_id if isinstance(request, Intent) else request.identifier.value
        what = request.send_once_key if isinstance(request, Intent) else f"decide {request.placement.value}"
        customer = audit.sim.customers.get(pid.removesuffix("_merged"))
        inputs = customer.inputs if customer else "unknown profile"
        violations.append(
            f"{type(crash.error).__name__}: {crash.error} for {what} at {crash.at}\n    {inputs}"
        )
    verdict("errors", violations, MIDDLE_NAME_BUG)


# -- the generator really exercised the rules ------------------------------------------------------------


def test_the_simulation_exercised_every_rule(audit):
    sim = audit.sim
    statuses = Counter(d.result.status for d in sim.dispatched)
    reasons = Counter(f"{d.result.status.value}:{d.result.reason}" for d in sim.dispatched)
    sent = audit.sent
    marketing = [s for s in sent if s.marketing]
    discreet = [s for s in sent if s.channel != "email" and any(p.sensitive for p in s.why.products)]

    def truth(profile_id: str) -> str | None:
        customer = sim.customers.get(profile_id.removesuffix("_merged"))
        return customer.truth if customer else None

    dst_sends = [
        s
        for s in marketing
        if s.customer.truth and dst_day(s.customer.truth, local(s.at, s.customer.truth).date())
    ]
    dst_deferrals = [
        d
        for d in sim.dispatched
        if d.result.status is DispatchStatus.DEFERRED
        and (zone_name := truth(d.intent.profile_id))
        and local(d.at, zone_name).utcoffset() != local(d.result.release_at, zone_name).utcoffset()
    ]
    season_turns = [  # placements asked when the season of the day's offer no longer holds everywhere
        d
        for d in sim.decided
        if d.decision.offer is not None
        and (kept := sim.decisions.offers.get((d.pid, d.decision.decided_for)))
        and common_season_in(d.decision.context["zones"], kept.decided_at)
        != common_season_in(d.decision.context["zones"], d.at)
    ]
    counts = {
        "profiles": len(sim.customers),
        "dispatches": len(sim.dispatched),
        "sent": len(sent),
        "marketing sent": len(marketing),
        "transactional sent": len(sent) - len(marketing),
        "deferred": statuses[DispatchStatus.DEFERRED],
        "released by the sweep": sum(d.released for d in sim.dispatched),
        "duplicate": statuses[DispatchStatus.DUPLICATE],
        "skipped": statuses[DispatchStatus.SKIPPED],
        "errors": len(sim.crashed),
        "caps conflicts re-decided": sim.messages.conflicts,
        "raced dispatches": sum(d.raced for d in sim.dispatched),
        "variants": len({s.out["template"] for s in sent}),
        "locales": dict(Counter(s.out["locale"] for s in sent)),
        "channels": dict(Counter(s.channel for s in sent)),
        "triggers": dict(Counter(s.out["trigger"] for s in sent)),
        "zone evidence": dict(Counter(s.customer.inputs["zone_evidence"] for s in sent)),
        "sensitive products outside email": len(discreet),
        "sensitive products by SMS": sum(s.channel == "sms" for s in discreet),
        "offers": sum(s.why.offer is not None for s in sent),
        "seasonal offers": sum(
            s.why.offer is not None and bool(CATALOG[s.why.offer.product_id].seasons) for s in sent
        ),
        "gendered salutations": sum(s.why.context.get("gender") is not None for s in sent),
        "placements decided": len(sim.decided),
        "placements at a season turn": len(season_turns),
        "prices kept over a catalog change": sum(
            1
            for s in sent
            for p in [*s.why.products, *([s.why.offer] if s.why.offer else [])]
            if p.price is not None and p.price != sim.catalog.price_at(p.product_id, s.at)
        )
        + sum(
            1
            for d in sim.decided
            if d.decision.offer is not None
            and Decimal(d.decision.offer.price) != sim.catalog.price_at(d.decision.offer.product_id, d.at)
        ),
        "marketing sends on a DST day": len(dst_sends),
        "deferrals across a DST change": len(dst_deferrals),
        "marketing at exactly 09:00 local": sum(
            1 for s in marketing if s.customer.truth and local(s.at, s.customer.truth).time() == time(9, 0)
        ),
        "seconds": round(audit.seconds, 1),
        "reasons": dict(sorted(reasons.items())),
    }
    print(counts)
    assert len(sent) >= 3000 and len(marketing) >= 1200, counts
    assert statuses[DispatchStatus.DEFERRED] >= 1500 and counts["released by the sweep"] >= 1500, counts
    assert reasons["deferred:quiet_hours"] >= 500 and reasons["deferred:frequency_cap"] >= 500, counts
    assert reasons["skipped:no_channel"] >= 500, counts
    assert reasons["skipped:timezone_unknown"] >= 100, counts
    assert reasons["skipped:unknown_profile"] == UNKNOWN_PROFILE_INTENTS, counts
    assert (
        reasons["skipped:quiet_hours_until_expiry"] + reasons["skipped:frequency_cap_until_expiry"] >= 100
    ), counts
    assert statuses[DispatchStatus.DUPLICATE] >= 150 and sim.messages.conflicts >= 20, counts
    assert counts["variants"] >= 70, counts
    assert min(counts["locales"].get(locale, 0) for locale in ("ru", "en")) >= 1000, counts
    assert min(counts["channels"].get(channel, 0) for channel in CHANNELS) >= 50, counts
    everything = {f"order_{s.value}" for s in OrderStatus} | {"birthday", "replenishment", "welcome"}
    assert min(counts["triggers"].get(trigger, 0) for trigger in everything) >= 10, counts
    assert set(counts["zone evidence"]) == {"declared", "device", "phone_area", "country", "none"}, counts
    assert counts["sensitive products by SMS"] >= 200 and len(discreet) >= 400, counts
    assert counts["seasonal offers"] >= 100 and counts["gendered salutations"] >= 1000, counts
    assert len(sim.decided) >= 600 and len(season_turns) >= 3, counts
    assert counts["prices kept over a catalog change"] >= 100, counts
    assert len(dst_sends) >= 10 and len(dst_deferrals) >= 5, counts
    assert counts["marketing at exactly 09:00 local"] >= 300, counts
