"""The segment rule grammar, read from JSON into a tree of conditions (pure).

    {"all": [r…]}  {"any": [r…]}  {"not": r}
    {"trait": "<path>", "eq"|"ne"|"in"|"gte"|"lte"|"exists": v}
    {"purchased": {"product_id"?, "category"?, "within_days"?, "min_count"?}}
    {"viewed": {"product_id"?, "category"?, "within_days"}}
    {"orders": {"count_gte"?, "total_gte"?, "last_within_days"?, "last_before_days"?}}
    {"consent": {"channel", "topic"}}  {"tenure": "new"|"returning"|"loyal"}
    {"country": "RU"}  {"birthday_within_days": n}

Every key is checked: a rule that is not exactly one of these is refused with :class:`RuleError`,
whose message names the offending place by its path (``rule.all[1].purchased.within_dayz: unknown
key; expected one of product_id, category, within_days, min_count``), so the API answers 400 naming
it. A rule is bounded (depth, conditions, list lengths) before anything evaluates it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asusual.delivery.models import DeliveryChannel
from asusual.profiles.view import TenureStage
from asusual.triggers.models import Topic

MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_LIST = 50
MAX_DAYS = 3650
MAX_TEXT = 200
TRAIT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CHANNELS = tuple(c.value for c in DeliveryChannel)
TOPICS = tuple(t.value for t in Topic)
TENURES = tuple(s.value for s in TenureStage)
TRAIT_OPERATORS = ("eq", "ne", "in", "gte", "lte", "exists")


class RuleError(ValueError):
    """A rule that is not the grammar; the message starts with the offending path."""


@dataclass(frozen=True)
class All:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    rule: Rule


@dataclass(frozen=True)
class Trait:
    path: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Purchased:
    product_id: str | None = None
    category: str | None = None
    within_days: int | None = None
    min_count: int = 1


@dataclass(frozen=True)
class Viewed:
    within_days: int
    product_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Orders:
    count_gte: int | None = None
    total_gte: float | None = None
    last_within_days: int | None = None
    last_before_days: int | None = None


@dataclass(frozen=True)
class Consent:
    channel: str
    topic: str


@dataclass(frozen=True)
class Tenure:
    stage: str


@dataclass(frozen=True)
class Country:
    code: str


@dataclass(frozen=True)
class BirthdayWithin:
    days: int


Rule = All | AnyOf | Not | Trait | Purchased | Viewed | Orders | Consent | Tenure | Country | BirthdayWithin


def parse_rule(value: object, path: str = "rule") -> Rule:
    """``value`` (parsed JSON) as a rule; RuleError naming the offending path otherwise."""
    reader = _Reader()
    return reader.rule(value, path, depth=1)


def rule_json(rule: Rule) -> dict[str, Any]:
    """The rule as the grammar writes it (``parse_rule`` reads it back into the same tree); a
    field left at its default is left out."""
    match rule:
        case All(rules) | AnyOf(rules):
            return {"all" if isinstance(rule, All) else "any": [rule_json(r) for r in rules]}
        case Not(inner):
            return {"not": rule_json(inner)}
        case Trait(path, operator, value):
            return {"trait": path, operator: list(value) if isinstance(value, tuple) else value}
        case Purchased() | Viewed() | Orders() | Consent():
            fields = {k: v for k, v in vars(rule).items() if v is not None}
            if isinstance(rule, Purchased) and rule.min_count == 1:
                del fields["min_count"]
            key = {Purchased: "purchased", Viewed: "viewed", Orders: "orders", Consent: "consent"}[type(rule)]
            return {key: fields}
        case Tenure(stage):
            return {"tenure": stage}
        case Country(code):
            return {"country": code}
        case BirthdayWithin(days):
            return {"birthday_within_days": days}
    raise TypeError(f"not a rule: {rule!r}")  # pragma: no cover - the union above is exhaustive


class _Reader:
    def __init__(self) -> None:
        self.conditions = 0

    def rule(self, value: object, path: str, depth: int) -> Rule:
        if depth > MAX_DEPTH:
            raise RuleError(f"{path}: nested deeper than {MAX_DEPTH} levels")
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise RuleError(f"{path}: more than {MAX_CONDITIONS} conditions in one rule")
        if not isinstance(value, dict) or not value:
            raise RuleError(f'{path}: a rule is an object such as {{"all": [...]}} or {{"country": "RU"}}')
        if "trait" in value:
            return self.trait(value, path)
        if len(value) != 1:
            keys = ", ".join(sorted(_shown(k) for k in value))
            raise RuleError(f"{path}: one condition per object, got {keys}")
        [(key, inner)] = value.items()
        where = f"{path}.{_shown(key)}"
        if key in ("all", "any"):
            if not isinstance(inner, list) or not inner or len(inner) > MAX_LIST:
                raise RuleError(f"{where}: a list of 1 to {MAX_LIST} rules")
            rules = tuple(self.rule(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(inner))
            return All(rules) if key == "all" else AnyOf(rules)
        if key == "not":
            return Not(self.rule(inner, where, depth + 1))
        if key == "purchased":
            fields = _fields(inner, where, ("product_id", "category", "within_days", "min_count"))
            return Purchased(
                product_id=_text(fields, "product_id", where),
                category=_text(fields, "category", where),
                within_days=_days(fields, "within_days", where),
                min_count=_count(fields, "min_count", where) or 1,
            )
        if key == "viewed":
            fields = _fields(inner, where, ("product_id", "category", "within_days"))
            within = _days(fields, "within_days", where)
            if within is None:
                raise RuleError(f"{where}.within_days: required, whole days from 1 to {MAX_DAYS}")
            return Viewed(
                within_days=within,
                product_id=_text(fields, "product_id", where),
                category=_text(fields, "category", where),
            )
        if key == "orders":
            names = ("count_gte", "total_gte", "last_within_days", "last_before_days")
            fields = _fields(inner, where, names)
            if not fields:
                raise RuleError(f"{where}: at least one of {', '.join(names)}")
            return Orders(
                count_gte=_count(fields, "count_gte", where),
                total_gte=_amount(fields, "total_gte", where),
                last_within_days=_days(fields, "last_within_days", where),
                last_before_days=_days(fields, "last_before_days", where),
            )
        if key == "consent":
            fields = _fields(inner, where, ("channel", "topic"))
            return Consent(
                channel=_choice(fields.get("channel"), f"{where}.channel", CHANNELS),
                topic=_choice(fields.get("topic"), f"{where}.topic", TOPICS),
            )
        if key == "tenure":
            return Tenure(_choice(inner, where, TENURES))
        if key == "country":
            if not isinstance(inner, str) or not COUNTRY.match(inner.strip().upper()):
                raise RuleError(f"{where}: an ISO 3166-1 alpha-2 code such as RU")
            return Country(inner.strip().upper())
        if key == "birthday_within_days":
            if not _whole(inner) or not 0 <= inner <= 366:
                raise RuleError(f"{where}: whole days from 0 to 366")
            return BirthdayWithin(inner)
        raise RuleError(
            f"{where}: unknown condition; expected all, any, not, trait, "
            "purchased, viewed, orders, consent, tenure, country or birthday_within_days"
        )

    @staticmethod
    def trait(value: dict[str, Any], path: str) -> Trait:
        trait = value["trait"]
        if not isinstance(trait, str) or not TRAIT_PATH.match(trait):
            raise RuleError(f"{path}.trait: a trait's path such as gender or address.city")
        others = [k for k in value if k != "trait"]
        unknown = [k for k in others if k not in TRAIT_OPERATORS]
        if unknown:
            expected = ", ".join(TRAIT_OPERATORS)
            raise RuleError(f"{path}.{_shown(unknown[0])}: unknown operator; expected one of {expected}")
        if len(others) != 1:
            raise RuleError(f"{path}: a trait condition takes exactly one of {', '.join(TRAIT_OPERATORS)}")
        [operator] = others
        operand, where = value[operator], f"{path}.{operator}"
        if operator == "exists":
            if not isinstance(operand, bool):
                raise RuleError(f"{where}: true or false")
        elif operator == "in":
            if not isinstance(operand, list) or not operand or len(operand) > MAX_LIST:
                raise RuleError(f"{where}: a list of 1 to {MAX_LIST} values")
            for i, item in enumerate(operand):
                _scalar(item, f"{where}[{i}]")
            operand = tuple(operand)
        elif operator in ("gte", "lte"):
            if not (_number(operand) or (isinstance(operand, str) and 0 < len(operand) <= MAX_TEXT)):
                raise RuleError(f"{where}: a number, or a text compared as text (a date: 2026-12-31)")
        else:
            _scalar(operand, where)
        return Trait(path=trait, operator=operator, value=operand)


def _fields(value: object, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuleError(f"{where}: an object with {', '.join(names)}")
    for key in value:
        if key not in names:
            raise RuleError(f"{where}.{_shown(key)}: unknown key; expected one of {', '.join(names)}")
    return value


def _text(fields: dict[str, Any], name: str, where: str) -> str | None:
    value = fields.get(name)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT):
        raise RuleError(f"{where}.{name}: a text of 1 to {MAX_TEXT} characters")
    return value


def _days(fields: dict[str, Any], name: str, where: str) -> int | None:
    value = fields.get(name)
    if value is not None and (not _whole(value) or not 1 <= value <= MAX_DAYS):
        raise RuleError(f"{where}.{name}: whole days from 1 to {MAX_DAYS}")
    return value


def _count(fields: dict[str, Any], name: str, where: str) -> int | None:
    value = fields.get(name)
    if value is not None and (not _whole(value) or not 1 <= value <= 100_000):
        raise RuleError(f"{where}.{name}: a whole number from 1 to 100000")
    return value


def _amount(fields: dict[str, Any], name: str, where: str) -> float | None:
    value = fields.get(name)
    if value is not None and (not _number(value) or value < 0):
        raise RuleError(f"{where}.{name}: a number of 0 or more")
    return value


def _choice(value: object, where: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise RuleError(f"{where}: one of {', '.join(allowed)}")
    assert isinstance(value, str)
    return value


def _scalar(value: object, where: str) -> None:
    if value is None or isinstance(value, bool) or _number(value):
        return
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return
    raise RuleError(f"{where}: a text (at most {MAX_TEXT} characters), number, true, false or null")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value
        and abs(value) < 1e15
    )


def _shown(key: object) -> str:
    """A key as an error message quotes it: at most 40 characters, any lone surrogate escaped
    (the message must encode as UTF-8 in the answer)."""
    return str(key)[:40].encode("utf-8", "backslashreplace").decode("utf-8")
