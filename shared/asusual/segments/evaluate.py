"""Whether a profile is in a segment now, why, and when that can next change by time alone (pure).

``evaluate(rule, state, now, ctx)`` reads only the profile state (docs/segments.md, "Evaluating a
rule"):

- ``trait``: the latest value of the trait (``address.city`` looks inside ``address``; the first
  name may be camelCase, as the profile keeps traits in snake_case). Texts are compared trimmed
  and without regard to case; a number matches a number, a text a text, true/false only
  true/false. ``ne`` is ``not eq``: it holds when the trait is absent too; ``eq: null`` holds when it
  is absent. A list trait matches ``eq``/``in`` when one of its items does. ``exists``: present,
  not null and not blank.
- ``purchased``: the orders with a line of the product / the category (quantity above 0; no
  product and no category: any order); ``min_count`` counts orders, within the last
  ``within_days`` days when given.
- ``viewed``: the product view history (Segment ``Product Viewed``).
- ``orders``: count, the largest total in one currency (amounts in different currencies are never
  added), the time of the last order. ``last_before_days`` needs an order.
- ``consent``: the channel and topic allow a message now (as the dispatcher decides it).
- ``tenure``: the stage greetings use (``asusual.profiles.view.tenure_stage``).
- ``country``: ``asusual.profiles.birthday.country_of`` (address, phone, the default).
- ``birthday_within_days``: in the customer's local date (Feb 29 is celebrated on Feb 28 in other
  years). With several plausible zones it must hold in every one of them; with none it must hold
  on every date that exists somewhere on Earth now (UTC-12 to UTC+14): never a guess.

"Within the last N days" holds for an instant ``t`` while ``now < t + N days``.

``changes_at`` is the earliest instant after ``now`` at which the verdict may change with no new
event: the end of a purchase or view window, the start of ``last_before_days``, a local midnight
on which the birthday window opens or closes. It is never later than the change itself, and
earlier only where a combination cannot tell (then a re-evaluation finds nothing changed).
``all`` that holds changes when its first child does; ``all`` that does not hold cannot change
before every failing child has (never, if one of them never changes); ``any`` the other way round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asusual.delivery.models import DeliveryChannel
from asusual.delivery.policy import consent_for
from asusual.localtime import EARLIEST_OFFSET, LATEST_OFFSET, zone
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.model import Profile
from asusual.profiles.state import ProfileState, snake
from asusual.profiles.view import NO_CURRENCY, TenurePolicy, tenure_stage
from asusual.segments.rules import (
    All,
    AnyOf,
    BirthdayWithin,
    Consent,
    Country,
    Not,
    Orders,
    Purchased,
    Rule,
    RuleError,
    Tenure,
    Trait,
    Viewed,
    parse_rule,
    rule_json,
)
from asusual.segments.words import sentence
from asusual.triggers.birthday import celebration_date
from asusual.triggers.models import Topic

DAY = timedelta(days=1)
# where no zone is known, the local date is each of those that exist somewhere on Earth
EARTH = (timezone(EARLIEST_OFFSET), UTC, timezone(LATEST_OFFSET))


@dataclass(frozen=True)
class EvalContext:
    default_country: str | None = None
    tenure: TenurePolicy = field(default_factory=TenurePolicy)


class Reason(BaseModel):
    """One condition of the rule, as the marketer wrote it, that decided the verdict."""

    model_config = ConfigDict(frozen=True)

    condition: dict[str, Any] = Field(description='a condition of the grammar: {"purchased": {...}}')
    negated: bool = Field(default=False, description="true: the condition does not hold (under a not)")


@dataclass(frozen=True)
class Verdict:
    member: bool
    reasons: tuple[Reason, ...]  # the conditions that made it true (empty when not a member)
    changes_at: datetime | None  # earliest instant > now at which the verdict may change with
    # time alone (no new event); None: never by time alone


def evaluate(rule: Rule, state: ProfileState, now: datetime, ctx: EvalContext) -> Verdict:
    """``rule`` for the profile ``state`` at ``now`` (an aware instant)."""
    outcome = _Evaluator(state, now, ctx).rule(rule)
    reasons: list[Reason] = []
    for reason in outcome.reasons if outcome.held else ():
        if reason not in reasons:  # the same condition written twice is one reason
            reasons.append(reason)
    return Verdict(member=outcome.held, reasons=tuple(reasons), changes_at=outcome.changes_at)


# -- evaluation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    held: bool
    # what explains the outcome: when it holds, the conditions that hold; when it does not, the
    # conditions that fail (negated), so a "not" above it reads them as its own reasons
    reasons: tuple[Reason, ...]
    changes_at: datetime | None


def _earliest(instants: Iterable[datetime | None]) -> datetime | None:
    return min((i for i in instants if i is not None), default=None)


def _after_all(instants: Sequence[datetime | None]) -> datetime | None:
    """Not before every one of them has come; None when one never comes."""
    return None if not instants or any(i is None for i in instants) else max(i for i in instants if i)


def _all(outcomes: Sequence[_Outcome]) -> _Outcome:
    failing = [o for o in outcomes if not o.held]
    if not failing:
        return _Outcome(True, _reasons(outcomes), _earliest(o.changes_at for o in outcomes))
    return _Outcome(False, _reasons(failing), _after_all([o.changes_at for o in failing]))


def _any(outcomes: Sequence[_Outcome]) -> _Outcome:
    holding = [o for o in outcomes if o.held]
    if not holding:
        return _Outcome(False, _reasons(outcomes), _earliest(o.changes_at for o in outcomes))
    return _Outcome(True, _reasons(holding), _after_all([o.changes_at for o in holding]))


def _reasons(outcomes: Iterable[_Outcome]) -> tuple[Reason, ...]:
    return tuple(r for o in outcomes for r in o.reasons)


def _leaf(condition: Rule | dict[str, Any], held: bool, changes_at: datetime | None = None) -> _Outcome:
    written = condition if isinstance(condition, dict) else rule_json(condition)
    return _Outcome(held, (Reason(condition=written, negated=not held),), changes_at)


def _window(t: datetime, days: int, now: datetime) -> tuple[bool, datetime | None]:
    """``t`` within the last ``days`` days at ``now``; and when that ends (None: it does not hold)."""
    end = t + days * DAY
    return (True, end) if now < end else (False, None)


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _same(value: Any, operand: Any) -> bool:
    if isinstance(value, list):
        return any(_same(item, operand) for item in value)
    if isinstance(operand, bool) or isinstance(value, bool):
        return isinstance(operand, bool) and isinstance(value, bool) and value is operand
    if isinstance(operand, int | float):
        return isinstance(value, int | float) and value == operand
    return isinstance(operand, str) and isinstance(value, str) and _norm(value) == _norm(operand)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _ordered(value: Any, operand: Any) -> tuple[Any, Any] | None:
    """Both sides of gte/lte when they compare: numbers with numbers, texts with texts."""
    if isinstance(value, bool):
        return None
    if isinstance(operand, int | float) and isinstance(value, int | float):
        return value, operand
    if isinstance(operand, str) and isinstance(value, str) and value.strip():
        return _norm(value), _norm(operand)
    return None


@dataclass
class _Evaluator:
    state: ProfileState
    now: datetime
    ctx: EvalContext
    _traits: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self._traits = {k: v.value for k, v in self.state.traits.items()}

    def rule(self, rule: Rule) -> _Outcome:
        match rule:
            case All(rules):
                return _all([self.rule(r) for r in rules])
            case AnyOf(rules):
                return _any([self.rule(r) for r in rules])
            case Not(inner):
                child = self.rule(inner)
                return _Outcome(not child.held, child.reasons, child.changes_at)
            case Trait():
                return _leaf(rule, self.trait(rule))
            case Purchased():
                return self.purchased(rule)
            case Viewed():
                return self.viewed(rule)
            case Orders():
                return self.orders(rule)
            case Consent(channel, topic):
                basis, _why = consent_for(self.state, DeliveryChannel(channel), Topic(topic))
                return _leaf(rule, basis is not None)
            case Tenure(stage):
                return _leaf(rule, tenure_stage(len(self.state.orders), self.ctx.tenure) == stage)
            case Country(code):
                country = country_of(self._traits, self.ctx.default_country)
                return _leaf(rule, (country or "").strip().upper() == code)
            case BirthdayWithin():
                return self.birthday(rule)
        raise TypeError(f"not a rule: {rule!r}")  # pragma: no cover - the union above is exhaustive

    # -- traits
    def trait_value(self, path: str) -> Any:
        first, *rest = path.split(".")
        value = self._traits.get(snake(first), self._traits.get(first))
        for key in rest:
            if not isinstance(value, dict):
                return None
            value = value.get(key, next((v for k, v in value.items() if snake(k) == snake(key)), None))
        return value

    def trait(self, rule: Trait) -> bool:
        value, operand = self.trait_value(rule.path), rule.value
        match rule.operator:
            case "exists":
                return _present(value) is operand
            case "eq" | "ne":
                equal = not _present(value) if operand is None else _present(value) and _same(value, operand)
                return equal if rule.operator == "eq" else not equal
            case "in":
                return any(not _present(value) if o is None else _same(value, o) for o in operand)
        pair = _ordered(value, operand)
        if pair is None:
            return False
        return bool(pair[0] >= pair[1] if rule.operator == "gte" else pair[0] <= pair[1])

    # -- orders and views
    @cached_property
    def order_times(self) -> list[datetime]:
        return sorted((o.at for o in self.state.orders.values()), reverse=True)

    def purchased(self, rule: Purchased) -> _Outcome:
        category = _norm(rule.category)
        times = sorted(
            (
                order.at
                for order in self.state.orders.values()
                if (rule.product_id is None and rule.category is None)
                or any(
                    line.quantity > 0
                    and (rule.product_id is None or line.product_id == rule.product_id)
                    and (rule.category is None or _norm(line.category) == category)
                    for line in order.products
                )
            ),
            reverse=True,
        )
        if len(times) < rule.min_count:
            return _leaf(rule, False)
        if rule.within_days is None:
            return _leaf(rule, True)
        # the count within the window only falls with time: it stays at least min_count while
        # the min_count-th latest purchase is within it
        held, ends = _window(times[rule.min_count - 1], rule.within_days, self.now)
        return _leaf(rule, held, ends)

    def viewed(self, rule: Viewed) -> _Outcome:
        category = _norm(rule.category)
        latest = max(
            (
                entry.at[0]
                for product_id, entry in self.state.views.items()
                if entry.at
                and (rule.product_id is None or product_id == rule.product_id)
                and (rule.category is None or _norm(entry.category) == category)
            ),
            default=None,
        )
        if latest is None:
            return _leaf(rule, False)
        held, ends = _window(latest, rule.within_days, self.now)
        return _leaf(rule, held, ends)

    def orders(self, rule: Orders) -> _Outcome:
        times = self.order_times
        if not times:
            return _leaf({"orders": {"count_gte": 1}}, False)  # no orders: no orders condition holds
        last = times[0]
        parts: list[tuple[str, int | float, bool, datetime | None]] = []
        if rule.count_gte is not None:
            parts.append(("count_gte", rule.count_gte, len(times) >= rule.count_gte, None))
        if rule.total_gte is not None:
            revenue: dict[str, float] = defaultdict(float)
            for order in self.state.orders.values():
                if order.total is not None:
                    revenue[order.currency or NO_CURRENCY] += order.total
            held = any(round(v, 2) >= rule.total_gte for v in revenue.values())
            parts.append(("total_gte", rule.total_gte, held, None))
        if rule.last_within_days is not None:
            held, ends = _window(last, rule.last_within_days, self.now)
            parts.append(("last_within_days", rule.last_within_days, held, ends))
        if rule.last_before_days is not None:
            starts = last + rule.last_before_days * DAY
            held = self.now >= starts
            parts.append(("last_before_days", rule.last_before_days, held, None if held else starts))
        outcomes = [_leaf({"orders": {name: value}}, held, at) for name, value, held, at in parts]
        combined = _all(outcomes)
        # one reason for the condition: all of it when it holds, the parts that fail when not
        shown = parts if combined.held else [p for p in parts if not p[2]]
        return _leaf({"orders": {p[0]: p[1] for p in shown}}, combined.held, combined.changes_at)

    # -- birthdays
    @cached_property
    def zones(self) -> tuple[tzinfo, ...]:
        names = plausible_zones(self.state, self.ctx.default_country)
        zones = [zone(name) for name in names]
        known = [z for z in zones if z is not None]
        return tuple(known) if names and len(known) == len(zones) else EARTH

    def birthday(self, rule: BirthdayWithin) -> _Outcome:
        raw = self._traits.get("birthday")
        try:
            birthday = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            birthday = None
        if birthday is None:
            return _leaf(rule, False)
        outcomes = []
        for tz in self.zones:
            today = self.now.astimezone(tz).date()
            held = _days_until(birthday, today) <= rule.days
            change = _next_change(birthday, today, rule.days)
            at = _midnight(change, tz) if change is not None else None
            outcomes.append(_Outcome(held, (), at))
        combined = _all(outcomes)
        return _leaf(rule, combined.held, combined.changes_at)


def _days_until(birthday: date, today: date) -> int:
    """Days from ``today`` to the next celebration (0: today)."""
    day = celebration_date(birthday, today.year)
    if day < today:
        day = celebration_date(birthday, today.year + 1)
    return (day - today).days


def _next_change(birthday: date, today: date, days: int) -> date | None:
    """The first date after ``today`` on which "within ``days`` days" differs from the day
    before: it opens ``days`` before a celebration and closes the day after one."""
    candidates = sorted(
        {
            d
            for year in range(today.year - 1, today.year + 3)
            for d in (
                celebration_date(birthday, year) - days * DAY,
                celebration_date(birthday, year) + DAY,
            )
            if d > today
        }
    )
    for d in candidates:
        if (_days_until(birthday, d) <= days) != (_days_until(birthday, d - DAY) <= days):
            return d
    return None


def _midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz`` (after a DST gap at midnight: the gap's end)."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


# -- words --------------------------------------------------------------------------------------
def why_words(reasons: Iterable[Reason], locale: str) -> list[str]:
    """Each reason as a plain sentence for the customer, in Russian or English (the fallback):
    "вы покупали товары категории «корм» за последние 90 дней"."""
    lang = "ru" if locale.replace("_", "-").split("-")[0].strip().lower() == "ru" else "en"
    out = []
    for reason in reasons:
        try:
            rule = parse_rule(reason.condition)
        except RuleError:
            continue  # a reason stored under another grammar: no words rather than wrong ones
        out.append(sentence(rule, reason.negated, lang))
    return list(dict.fromkeys(out))


class MemberWords:
    """Why a member is in a segment, in words: her state evaluated against the segment's rule now
    (the marks on the profile keep no reasons, so a page view does not rewrite them). Empty when
    she is not a member, the segment is gone, or its rule no longer holds for her."""

    def __init__(
        self,
        definitions: Callable[[], Sequence[Any]],
        ctx: EvalContext,
        now: Callable[[], datetime],
    ) -> None:
        self._definitions = definitions
        self._ctx = ctx
        self._now = now

    def __call__(self, profile: Profile, segment_id: str, locale: str) -> list[str]:
        mark = profile.segments.get(segment_id)
        segment = next((s for s in self._definitions() if s.segment_id == segment_id), None)
        if mark is None or segment is None or segment.incarnation != mark.incarnation:
            return []
        try:
            rule = parse_rule(segment.rule)
        except RuleError:
            return []
        verdict = evaluate(rule, profile.state(), self._now(), self._ctx)
        return why_words(verdict.reasons, locale) if verdict.member else []
