"""A segment's reasons in words for the customer, Russian or English (pure): "вы покупали товары
категории «корм» за последние 90 дней". Names only what the marketer wrote (a product id, a
category, a trait's path), quoted; a few well-known traits by their names ("город")."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from asusual.profiles.state import snake
from asusual.segments.rules import (
    BirthdayWithin,
    Consent,
    Country,
    Orders,
    Purchased,
    Rule,
    Tenure,
    Trait,
    Viewed,
    rule_json,
)
from asusual.triggers.models import Topic


def sentence(rule: Rule, negated: bool, lang: str) -> str:
    """One condition (``negated``: it does not hold) as a sentence in ``lang`` ("ru", else English)."""
    return (_RU if lang == "ru" else _EN).sentence(rule, negated)


def _ru_count(n: int, one: str, few: str, many: str) -> str:
    """1 день, 2 дня, 5 дней, 11 дней, 21 день."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} {few}"
    return f"{n} {many}"


def _listed(items: list[str], last: str) -> str:
    """a, b и c; a или b; a."""
    return last.join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else items[0]


def _en_count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _number(value: float, lang: str) -> str:
    from babel.numbers import format_decimal  # here, not at import (cold start)

    return str(format_decimal(value, locale=lang))


def _country_name(code: str, lang: str) -> str:
    from babel import Locale  # here, not at import (cold start)

    return str(Locale.parse(lang).territories.get(code, code))


class _Words(ABC):
    lang = "en"
    trait_labels: dict[str, str] = {}
    yes_no = ("yes", "no")
    unset = "not set"

    def sentence(self, rule: Rule, negated: bool) -> str:
        match rule:
            case Trait():
                return self.trait(rule, negated)
            case Purchased():
                return self.purchased(rule, negated)
            case Viewed():
                return self.viewed(rule, negated)
            case Orders():
                return self.orders(rule, negated)
            case Consent(channel, topic):
                return self.consent(channel, topic, negated)
            case Tenure(stage):
                return self.tenure(stage, negated)
            case Country(code):
                return self.country(_country_name(code, self.lang), negated)
            case BirthdayWithin(days):
                return self.birthday(days, negated)
        # all/any/not never come as a reason: say what was written rather than nothing
        return str(rule_json(rule))  # pragma: no cover

    def label(self, path: str) -> str:
        first, *rest = path.split(".")
        return self.trait_labels.get(".".join([snake(first), *rest]), f"«{path}»")

    def value(self, value: Any) -> str:
        if value is None:
            return self.unset
        if isinstance(value, bool):
            return f"«{self.yes_no[0] if value else self.yes_no[1]}»"
        if isinstance(value, int | float):
            return _number(value, self.lang)
        return f"«{value}»"

    @abstractmethod
    def trait(self, rule: Trait, negated: bool) -> str:
        """The sentence of one trait condition, in this language."""

    @abstractmethod
    def purchased(self, rule: Purchased, negated: bool) -> str:
        """The sentence of one purchased condition, in this language."""

    @abstractmethod
    def viewed(self, rule: Viewed, negated: bool) -> str:
        """The sentence of one viewed condition, in this language."""

    @abstractmethod
    def orders(self, rule: Orders, negated: bool) -> str:
        """The sentence of one orders condition, in this language."""

    @abstractmethod
    def consent(self, channel: str, topic: str, negated: bool) -> str:
        """The sentence of one consent condition, in this language."""

    @abstractmethod
    def tenure(self, stage: str, negated: bool) -> str:
        """The sentence of one tenure condition, in this language."""

    @abstractmethod
    def country(self, name: str, negated: bool) -> str:
        """The sentence of one country condition, in this language."""

    @abstractmethod
    def birthday(self, days: int, negated: bool) -> str:
        """The sentence of one birthday condition, in this language."""


def _trait_polarity(rule: Trait, negated: bool) -> tuple[str, bool]:
    """The operator as a positive statement: ``ne`` is a negated ``eq``, ``exists: false`` a
    negated ``exists: true``."""
    if rule.operator == "ne":
        return "eq", not negated
    if rule.operator == "exists":
        return "exists", negated is rule.value
    if rule.operator == "eq" and rule.value is None:
        return "exists", not negated
    return rule.operator, negated


class _Russian(_Words):
    lang = "ru"
    trait_labels = {
        "gender": "пол",
        "first_name": "имя",
        "last_name": "фамилия",
        "middle_name": "отчество",
        "birthday": "дата рождения",
        "address.city": "город",
        "address.country": "страна",
        "locale": "язык",
        "title": "обращение",
        "preferred_channel": "удобный канал связи",
    }
    yes_no = ("да", "нет")
    unset = "не указано"
    channels = {
        "email": "по электронной почте",
        "sms": "по SMS",
        "push": "в push-уведомлениях",
        "store": "в магазине",
        "call_center": "по телефону от колл-центра",
    }
    stages = {
        "new": "новый покупатель",
        "returning": "повторный покупатель",
        "loyal": "постоянный покупатель",
    }

    @staticmethod
    def last_days(days: int | None) -> str:
        if days is None:
            return ""
        return (
            " за последний день" if days == 1 else f" за последние {_ru_count(days, 'день', 'дня', 'дней')}"
        )

    @staticmethod
    def what(product_id: str | None, category: str | None) -> str | None:
        if product_id and category:
            return f"товар «{product_id}» из категории «{category}»"
        if product_id:
            return f"товар «{product_id}»"
        if category:
            return f"товары категории «{category}»"
        return None

    def trait(self, rule: Trait, negated: bool) -> str:
        operator, negated = _trait_polarity(rule, negated)
        label, where = self.label(rule.path), "в вашем профиле"
        if operator == "exists":
            return f"{where} {'не указано' if negated else 'указано'}: {label}"
        if operator == "eq":
            return f"{where} {label} — {'не ' if negated else ''}{self.value(rule.value)}"
        if operator == "in":
            shown = [self.value(v) for v in rule.value]
            if negated:
                return f"{where} {label} — {_listed([f'не {v}' for v in shown], ' и ')}"
            return f"{where} {label} — {_listed(shown, ' или ')}"
        value = self.value(rule.value)
        if operator == "gte":
            said = f"меньше {value} или не указано" if negated else f"не меньше {value}"
        else:
            said = f"больше {value} или не указано" if negated else f"не больше {value}"
        return f"{where} {label} — {said}"

    def purchased(self, rule: Purchased, negated: bool) -> str:
        what = self.what(rule.product_id, rule.category) or "у нас"
        window = self.last_days(rule.within_days)
        times = _ru_count(rule.min_count, "раз", "раза", "раз")
        if rule.min_count == 1:
            return f"вы {'не ' if negated else ''}покупали {what}{window}"
        if negated:
            return f"вы покупали {what} меньше, чем {times}{window}"
        return f"вы покупали {what} {times} или больше{window}"

    def viewed(self, rule: Viewed, negated: bool) -> str:
        what = self.what(rule.product_id, rule.category) or "наши товары"
        return f"вы {'не ' if negated else ''}смотрели {what}{self.last_days(rule.within_days)}"

    def orders(self, rule: Orders, negated: bool) -> str:
        said = []
        if rule.count_gte is not None:
            n = rule.count_gte
            orders = _ru_count(n, "заказ", "заказа", "заказов")
            if negated:
                said.append("вы ещё не делали заказов" if n == 1 else f"вы сделали меньше, чем {orders}")
            else:
                said.append(f"вы сделали {orders} или больше")
        if rule.total_gte is not None:
            total = _number(rule.total_gte, self.lang)
            said.append(
                f"сумма ваших заказов меньше {total}"
                if negated
                else f"сумма ваших заказов — {total} или больше"
            )
        if rule.last_within_days is not None:
            did = "не делали заказов" if negated else "делали заказ"
            said.append(f"вы {did}{self.last_days(rule.last_within_days)}")
        if rule.last_before_days is not None:
            days = _ru_count(rule.last_before_days, "день", "дня", "дней")
            said.append(
                f"ваш последний заказ был меньше, чем {days} назад"
                if negated
                else f"ваш последний заказ был {days} назад или раньше"
            )
        return " и ".join(said)

    def consent(self, channel: str, topic: str, negated: bool) -> str:
        where = self.channels.get(channel, f"«{channel}»")
        if topic == Topic.MARKETING:
            if negated:
                return f"вы не давали согласия на рекламные сообщения {where}"
            return f"вы согласились получать рекламные сообщения {where}"
        return f"вы {'отказались' if negated else 'не отказывались'} от сообщений о заказах {where}"

    def tenure(self, stage: str, negated: bool) -> str:
        return f"вы {'не ' if negated else ''}{self.stages.get(stage, stage)}"

    def country(self, name: str, negated: bool) -> str:
        return f"ваша страна — {'не ' if negated else ''}{name}"

    def birthday(self, days: int, negated: bool) -> str:
        if days == 0:
            return f"ваш день рождения {'не ' if negated else ''}сегодня"
        if days == 1:
            return (
                "ваш день рождения не сегодня и не завтра"
                if negated
                else "ваш день рождения сегодня или завтра"
            )
        within = f"в ближайшие {_ru_count(days, 'день', 'дня', 'дней')}"
        return f"ваш день рождения {'не ' if negated else ''}{within}"


class _English(_Words):
    trait_labels = {
        "first_name": "first name",
        "last_name": "last name",
        "middle_name": "middle name",
        "address.city": "city",
        "address.country": "country",
        "locale": "language",
        "preferred_channel": "preferred channel",
        "gender": "gender",
        "birthday": "birthday",
        "title": "title",
    }
    channels = {
        "email": "by email",
        "sms": "by SMS",
        "push": "by push notification",
        "store": "in store",
        "call_center": "by phone from our call center",
    }

    @staticmethod
    def last_days(days: int | None) -> str:
        if days is None:
            return ""
        return " in the last day" if days == 1 else f" in the last {days} days"

    @staticmethod
    def what(product_id: str | None, category: str | None) -> str | None:
        if product_id and category:
            return f"the product «{product_id}» of the category «{category}»"
        if product_id:
            return f"the product «{product_id}»"
        if category:
            return f"products of the category «{category}»"
        return None

    def trait(self, rule: Trait, negated: bool) -> str:
        operator, negated = _trait_polarity(rule, negated)
        label = self.label(rule.path)
        where = f"in your profile, {label} is"
        if operator == "exists":
            return f"{where} {'not ' if negated else ''}set"
        if operator == "eq":
            return f"{where} {'not ' if negated else ''}{self.value(rule.value)}"
        if operator == "in":
            shown = [self.value(v) for v in rule.value]
            if not negated:
                return f"{where} {_listed(shown, ' or ')}"
            if len(shown) == 1:
                return f"{where} not {shown[0]}"
            if len(shown) == 2:
                return f"{where} neither {shown[0]} nor {shown[1]}"
            return f"{where} none of {', '.join(shown)}"
        value = self.value(rule.value)
        if operator == "gte":
            return f"{where} {f'less than {value} or not set' if negated else f'at least {value}'}"
        return f"{where} {f'more than {value} or not set' if negated else f'at most {value}'}"

    def purchased(self, rule: Purchased, negated: bool) -> str:
        what = self.what(rule.product_id, rule.category) or "from us"
        window = self.last_days(rule.within_days)
        if rule.min_count == 1:
            return f"you {'did not buy' if negated else 'bought'} {what}{window}"
        return f"you bought {what} {'fewer than' if negated else 'at least'} {rule.min_count} times{window}"

    def viewed(self, rule: Viewed, negated: bool) -> str:
        what = self.what(rule.product_id, rule.category) or "our products"
        return f"you {'did not view' if negated else 'viewed'} {what}{self.last_days(rule.within_days)}"

    def orders(self, rule: Orders, negated: bool) -> str:
        said = []
        if rule.count_gte is not None:
            n = rule.count_gte
            if negated:
                said.append(
                    "you have not placed an order yet"
                    if n == 1
                    else f"you placed fewer than {_en_count(n, 'order', 'orders')}"
                )
            else:
                said.append(f"you placed at least {_en_count(n, 'order', 'orders')}")
        if rule.total_gte is not None:
            total = _number(rule.total_gte, self.lang)
            said.append(f"your orders total {f'less than {total}' if negated else f'{total} or more'}")
        if rule.last_within_days is not None:
            did = "have not placed" if negated else "placed"
            said.append(f"you {did} an order{self.last_days(rule.last_within_days)}")
        if rule.last_before_days is not None:
            days = _en_count(rule.last_before_days, "day", "days")
            said.append(
                f"your last order was less than {days} ago"
                if negated
                else f"your last order was {days} ago or earlier"
            )
        return " and ".join(said)

    def consent(self, channel: str, topic: str, negated: bool) -> str:
        where = self.channels.get(channel, f"«{channel}»")
        if topic == Topic.MARKETING:
            return f"you {'have not agreed' if negated else 'agreed'} to receive marketing messages {where}"
        return f"you {'opted out of' if negated else 'have not opted out of'} order messages {where}"

    def tenure(self, stage: str, negated: bool) -> str:
        return f"you are {'not ' if negated else ''}a {stage} customer"

    def country(self, name: str, negated: bool) -> str:
        return f"your country is {'not ' if negated else ''}{name}"

    def birthday(self, days: int, negated: bool) -> str:
        if days == 0:
            return f"your birthday is {'not ' if negated else ''}today"
        if days == 1:
            return (
                "your birthday is neither today nor tomorrow"
                if negated
                else "your birthday is today or tomorrow"
            )
        return f"your birthday is {'not ' if negated else ''}within the next {days} days"


_RU = _Russian()
_EN = _English()
