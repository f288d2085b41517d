from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.profiles.state import OrderFact, ProductLine, ProductViews, ProfileState, Stamped
from asusual.profiles.view import TenurePolicy
from asusual.segments.evaluate import EvalContext, Reason, Verdict, evaluate, why_words
from asusual.segments.rules import parse_rule

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, 19:00 in Vladivostok
CTX = EvalContext(default_country="RU")
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
PET_FOOD = {"purchased": {"category": "корм", "within_days": 90}}


def stamped(value, at=NOW - 400 * DAY):
    return Stamped(value=value, at=at, msg="m-trait")


def line(product_id, category=None, quantity=1):
    return ProductLine(product_id=product_id, category=category, quantity=quantity)


def order(order_id, at, *lines, total=None, currency="RUB"):
    return OrderFact(
        order_id=order_id, at=at, msg=f"m-{order_id}", total=total, currency=currency, products=lines
    )


def viewed(product_id, at, category=None):
    return ProfileState(
        views={product_id: ProductViews(at=(at,), category=category, category_at=at if category else None)}
    )


def profile(*, orders=(), views=(), traits=None, subscriptions=None):
    state = ProfileState(
        orders={o.order_id: o for o in orders},
        traits={k: stamped(v) for k, v in (traits or {}).items()},
        subscriptions={k: stamped({"subscribed": v}) for k, v in (subscriptions or {}).items()},
    )
    return reduce(ProfileState.join, views, state)


def check(rule, state, now=NOW, ctx=CTX):
    return evaluate(parse_rule(rule), state, now, ctx)


def member(rule, changes_at=None, *, reasons=None):
    return Verdict(True, tuple(Reason(condition=r) for r in (reasons or [rule])), changes_at)


def outsider(changes_at=None):
    return Verdict(False, (), changes_at)


def words(rule, state, locale="ru", now=NOW, ctx=CTX):
    return why_words(check(rule, state, now, ctx).reasons, locale)


# -- trait --------------------------------------------------------------------------------------
def test_evaluate_trait_eq_nested_path_trimmed_any_case_holds():
    rule = {"trait": "address.city", "eq": "Москва"}
    assert check(rule, profile(traits={"address": {"city": " москва "}})) == member(rule)


def test_evaluate_trait_camel_case_path_reads_the_snake_case_trait_holds():
    rule = {"trait": "firstName", "eq": "Анна"}
    assert check(rule, profile(traits={"first_name": "Анна"})) == member(rule)


def test_evaluate_trait_nested_camel_case_key_holds():
    rule = {"trait": "address.postal_code", "eq": "101000"}
    assert check(rule, profile(traits={"address": {"postalCode": "101000"}})) == member(rule)


def test_evaluate_trait_eq_number_against_text_fails():
    assert check({"trait": "age", "eq": 30}, profile(traits={"age": "30"})) == outsider()


def test_evaluate_trait_eq_true_against_one_fails():
    assert check({"trait": "vip", "eq": True}, profile(traits={"vip": 1})) == outsider()
    assert check({"trait": "vip", "eq": True}, profile(traits={"vip": True})).member is True


def test_evaluate_trait_ne_absent_holds():
    rule = {"trait": "gender", "ne": "female"}
    assert check(rule, profile()) == member(rule)
    assert check(rule, profile(traits={"gender": "Female"})) == outsider()


def test_evaluate_trait_eq_null_absent_or_blank_holds():
    rule = {"trait": "gender", "eq": None}
    assert check(rule, profile(traits={"gender": "  "})) == member(rule)
    assert check(rule, profile(traits={"gender": "female"})) == outsider()


def test_evaluate_trait_in_list_trait_any_item_holds():
    rule = {"trait": "interests", "in": ["кошки", "собаки"]}
    assert check(rule, profile(traits={"interests": ["рыбы", "Собаки"]})) == member(rule)
    assert check(rule, profile(traits={"interests": ["рыбы"]})) == outsider()


def test_evaluate_trait_gte_iso_date_compares_as_text_holds():
    rule = {"trait": "signed_up", "gte": "2026-01-01"}
    assert check(rule, profile(traits={"signed_up": "2026-03-05"})) == member(rule)
    assert check(rule, profile(traits={"signed_up": "2025-12-31"})) == outsider()


def test_evaluate_trait_lte_number_against_text_trait_fails():
    assert check({"trait": "age", "lte": 30}, profile(traits={"age": 29.5})).member is True
    assert check({"trait": "age", "lte": 30}, profile(traits={"age": "29"})) == outsider()
    assert check({"trait": "age", "lte": 30}, profile(traits={"age": True})) == outsider()


def test_evaluate_trait_exists_blank_counts_as_absent():
    assert check({"trait": "title", "exists": True}, profile(traits={"title": " "})) == outsider()
    assert check({"trait": "title", "exists": False}, profile(traits={"title": " "})).member is True
    assert (
        check({"trait": "address.city", "exists": True}, profile(traits={"address": "Москва"})) == outsider()
    )


# -- purchased ----------------------------------------------------------------------------------
def test_evaluate_purchased_category_within_days_holds_until_the_window_ends():
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "Корм"))])
    assert check(PET_FOOD, state) == member(PET_FOOD, NOW + 80 * DAY)


def test_evaluate_purchased_window_boundary_ends_exactly_n_days_after():
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "корм"))])
    assert check(PET_FOOD, state, now=NOW + 80 * DAY - US).member is True
    assert check(PET_FOOD, state, now=NOW + 80 * DAY) == outsider()


def test_evaluate_purchased_min_count_counts_orders_not_units():
    rule = {"purchased": {"product_id": "purina", "within_days": 30, "min_count": 2}}
    one_order = profile(orders=[order("o1", NOW - DAY, line("purina", quantity=3))])
    assert check(rule, one_order) == outsider()
    two = profile(
        orders=[
            order("o1", NOW - DAY, line("purina")),
            order("o2", NOW - 5 * DAY, line("purina"), line("toy")),
            order("o3", NOW - 20 * DAY, line("toy")),
        ]
    )
    assert check(rule, two) == member(rule, NOW + 25 * DAY)  # while the second latest is within 30 days


def test_evaluate_purchased_zero_quantity_line_is_no_purchase():
    rule = {"purchased": {"product_id": "purina"}}
    assert check(rule, profile(orders=[order("o1", NOW - DAY, line("purina", quantity=0))])) == outsider()


def test_evaluate_purchased_anything_counts_every_order():
    rule = {"purchased": {"min_count": 2}}
    state = profile(orders=[order("o1", NOW - 400 * DAY), order("o2", NOW - DAY, line("toy"))])
    assert check(rule, state) == member({"purchased": {"min_count": 2}})


def test_evaluate_purchased_product_and_category_both_must_match():
    rule = {"purchased": {"product_id": "purina", "category": "корм"}}
    assert check(rule, profile(orders=[order("o1", NOW, line("purina", "игрушки"))])) == outsider()
    assert check(rule, profile(orders=[order("o1", NOW, line("purina", "корм"))])) == member(rule)


def test_evaluate_purchased_expired_window_never_comes_back_by_time():
    state = profile(orders=[order("o1", NOW - 100 * DAY, line("purina", "корм"))])
    assert check(PET_FOOD, state) == outsider()


# -- viewed -------------------------------------------------------------------------------------
def test_evaluate_viewed_category_holds_until_a_week_after_the_latest_view():
    rule = {"viewed": {"category": "корм", "within_days": 7}}
    state = profile(views=[viewed("purina", NOW - 2 * DAY, "Корм"), viewed("purina", NOW - 3 * DAY)])
    assert check(rule, state) == member({"viewed": {"within_days": 7, "category": "корм"}}, NOW + 5 * DAY)


def test_evaluate_viewed_other_product_fails():
    rule = {"viewed": {"product_id": "purina", "within_days": 7}}
    assert check(rule, profile(views=[viewed("toy", NOW)])) == outsider()
    assert check(rule, profile()) == outsider()


# -- orders -------------------------------------------------------------------------------------
def test_evaluate_orders_total_gte_amounts_in_two_currencies_are_not_added():
    rule = {"orders": {"total_gte": 1000}}
    state = profile(orders=[order("o1", NOW, total=600), order("o2", NOW, total=600, currency="EUR")])
    assert check(rule, state) == outsider()
    state = profile(orders=[order("o1", NOW, total=600), order("o2", NOW, total=400.004)])
    assert check(rule, state) == member(rule)


def test_evaluate_orders_count_and_last_within_days_holds_until_the_last_order_ages():
    rule = {"orders": {"count_gte": 2, "last_within_days": 30}}
    state = profile(orders=[order("o1", NOW - 50 * DAY), order("o2", NOW - 10 * DAY)])
    assert check(rule, state) == member(rule, NOW + 20 * DAY)


def test_evaluate_orders_last_before_days_not_yet_becomes_true_later():
    rule = {"orders": {"last_before_days": 30}}
    state = profile(orders=[order("o1", NOW - 10 * DAY)])
    assert check(rule, state) == outsider(NOW + 20 * DAY)
    assert check(rule, state, now=NOW + 20 * DAY) == member(rule)


def test_evaluate_orders_failing_count_never_changes_by_time():
    rule = {"orders": {"count_gte": 2, "last_before_days": 30}}
    assert check(rule, profile(orders=[order("o1", NOW - 10 * DAY)])) == outsider()


def test_evaluate_orders_no_orders_reason_says_none_yet():
    rule = {"not": {"orders": {"last_before_days": 30}}}
    no_orders = Reason(condition={"orders": {"count_gte": 1}}, negated=True)
    assert check(rule, profile()) == Verdict(True, (no_orders,), None)
    assert words(rule, profile()) == ["вы ещё не делали заказов"]


def test_evaluate_orders_not_names_only_the_failing_parts():
    rule = {"not": {"orders": {"count_gte": 2, "last_within_days": 30}}}
    state = profile(orders=[order("o1", NOW - 50 * DAY), order("o2", NOW - 40 * DAY)])
    assert check(rule, state).reasons == (
        Reason(condition={"orders": {"last_within_days": 30}}, negated=True),
    )
    assert words(rule, state) == ["вы не делали заказов за последние 30 дней"]


# -- consent, tenure, country -------------------------------------------------------------------
def test_evaluate_consent_marketing_needs_an_opt_in():
    rule = {"consent": {"channel": "email", "topic": "marketing"}}
    assert check(rule, profile(subscriptions={"email.marketing": True})) == member(rule)
    assert check(rule, profile(subscriptions={"email.marketing": False})) == outsider()
    assert check(rule, profile()) == outsider()


def test_evaluate_consent_transactional_holds_unless_opted_out():
    rule = {"consent": {"channel": "sms", "topic": "transactional"}}
    assert check(rule, profile()) == member(rule)
    assert check(rule, profile(subscriptions={"sms.transactional": False})) == outsider()


def test_evaluate_tenure_loyal_by_the_contexts_policy():
    state = profile(orders=[order(f"o{i}", NOW - i * DAY) for i in range(3)])
    assert check({"tenure": "returning"}, state) == member({"tenure": "returning"})
    loyal_from_three = EvalContext(tenure=TenurePolicy(loyal_min_orders=3))
    assert check({"tenure": "loyal"}, state, ctx=loyal_from_three) == member({"tenure": "loyal"})
    assert check({"tenure": "new"}, profile()) == member({"tenure": "new"})


def test_evaluate_country_address_then_phone_then_default():
    assert check({"country": "DE"}, profile(traits={"address": {"country": "de"}})).member is True
    assert check({"country": "KZ"}, profile(traits={"phone": "+77012345678"})).member is True
    assert check({"country": "RU"}, profile()).member is True
    assert check({"country": "RU"}, profile(), ctx=EvalContext()) == outsider()


# -- birthday -----------------------------------------------------------------------------------
VLADIVOSTOK = {"timezone": "Asia/Vladivostok"}


def test_evaluate_birthday_tomorrow_local_within_one_day_holds_until_the_day_after():
    state = profile(traits={**VLADIVOSTOK, "birthday": "1990-12-02"})
    # Dec 3 00:00 in Vladivostok (UTC+10)
    assert check({"birthday_within_days": 1}, state) == member(
        {"birthday_within_days": 1}, NOW.replace(day=2, hour=14)
    )


def test_evaluate_birthday_within_zero_days_opens_at_local_midnight():
    state = profile(traits={**VLADIVOSTOK, "birthday": "1990-12-02"})
    assert check({"birthday_within_days": 0}, state) == outsider(NOW.replace(hour=14))


def test_evaluate_birthday_window_opens_days_ahead_at_local_midnight():
    state = profile(traits={"timezone": "Europe/Moscow", "birthday": "1990-12-11"})
    # within 7 days from Dec 4, which begins at 21:00 UTC on Dec 3
    assert check({"birthday_within_days": 7}, state) == outsider(datetime(2026, 12, 3, 21, tzinfo=UTC))


def test_evaluate_birthday_feb_29_in_a_common_year_is_feb_28():
    state = profile(traits={"timezone": "Europe/Moscow", "birthday": "1992-02-29"})
    now = datetime(2027, 2, 28, 9, tzinfo=UTC)
    rule = {"birthday_within_days": 0}
    assert check(rule, state, now=now) == member(rule, datetime(2027, 2, 28, 21, tzinfo=UTC))


def test_evaluate_birthday_several_zones_must_hold_in_every_one():
    state = profile(traits={"birthday": "1990-12-01"})  # RU by default: Kaliningrad to Kamchatka
    now = datetime(2026, 11, 30, 13, tzinfo=UTC)  # Dec 1 in Kamchatka, still Nov 30 in Moscow
    rule = {"birthday_within_days": 0}
    assert check(rule, state, now=now) == outsider(datetime(2026, 11, 30, 22, tzinfo=UTC))  # Kaliningrad
    assert check(rule, state, now=datetime(2026, 11, 30, 22, tzinfo=UTC)).member is True


def test_evaluate_birthday_no_zone_holds_only_on_every_date_on_earth():
    state = profile(traits={"birthday": "1990-12-01"})
    no_country = EvalContext()
    # at UTC-12 it is not Dec 1 yet until 12:00 UTC, when UTC+14 is past it: a re-evaluation then
    # finds nothing changed (changes_at may be early, never late), and looks again in a year
    assert check({"birthday_within_days": 0}, state, ctx=no_country) == outsider(NOW.replace(hour=12))
    assert check({"birthday_within_days": 0}, state, now=NOW.replace(hour=12), ctx=no_country) == outsider(
        datetime(2027, 11, 30, 10, tzinfo=UTC)
    )
    # Nov 30 at UTC-12, Dec 1 elsewhere; Dec 2 begins at UTC+14 at 10:00 UTC
    assert check({"birthday_within_days": 1}, state, ctx=no_country) == member(
        {"birthday_within_days": 1}, NOW.replace(hour=10)
    )


def test_evaluate_birthday_unknown_or_invalid_fails():
    assert check({"birthday_within_days": 366}, profile()) == outsider()
    assert check({"birthday_within_days": 366}, profile(traits={"birthday": "1990-13-01"})) == outsider()


def test_evaluate_birthday_whole_year_window_never_changes():
    state = profile(traits={**VLADIVOSTOK, "birthday": "1990-06-01"})
    assert check({"birthday_within_days": 366}, state) == member({"birthday_within_days": 366})


# -- all, any, not ------------------------------------------------------------------------------
def test_evaluate_all_holds_changes_with_its_first_child():
    rule = {"all": [PET_FOOD, {"orders": {"last_within_days": 30}}]}
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "корм"))])
    assert check(rule, state) == member(rule, NOW + 20 * DAY, reasons=rule["all"])


def test_evaluate_all_failing_changes_not_before_every_failing_child():
    state = profile(
        orders=[order("o1", NOW - 10 * DAY)], traits={"timezone": "Europe/Moscow", "birthday": "1990-12-31"}
    )
    rule = {"all": [{"orders": {"last_before_days": 15}}, {"birthday_within_days": 7}]}
    assert check(rule, state) == outsider(datetime(2026, 12, 23, 21, tzinfo=UTC))  # Dec 24 in Moscow
    never = {"all": [{"orders": {"last_before_days": 15}}, {"country": "DE"}]}
    assert check(never, state) == outsider()


def test_evaluate_any_holds_until_every_holding_child_ends():
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "корм"))])
    rule = {"any": [PET_FOOD, {"orders": {"last_within_days": 30}}, {"country": "DE"}]}
    assert check(rule, state) == member(rule, NOW + 80 * DAY, reasons=rule["any"][:2])
    with_forever = {"any": [PET_FOOD, {"country": "RU"}]}
    assert check(with_forever, state).changes_at is None


def test_evaluate_not_reasons_are_the_failing_conditions_negated():
    rule = {"not": {"any": [{"tenure": "loyal"}, {"consent": {"channel": "email", "topic": "marketing"}}]}}
    verdict = check(rule, profile())
    assert verdict.reasons == (
        Reason(condition={"tenure": "loyal"}, negated=True),
        Reason(condition={"consent": {"channel": "email", "topic": "marketing"}}, negated=True),
    )
    assert why_words(verdict.reasons, "ru") == [
        "вы не постоянный покупатель",
        "вы не давали согласия на рекламные сообщения по электронной почте",
    ]


def test_evaluate_not_of_a_window_becomes_true_when_it_ends():
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "корм"))])
    assert check({"not": PET_FOOD}, state) == outsider(NOW + 80 * DAY)
    assert check({"not": PET_FOOD}, state, now=NOW + 80 * DAY) == Verdict(
        True, (Reason(condition=PET_FOOD, negated=True),), None
    )


def test_evaluate_same_condition_twice_is_one_reason():
    rule = {"all": [{"country": "RU"}, {"any": [{"country": "RU"}]}]}
    assert check(rule, profile()).reasons == (Reason(condition={"country": "RU"}),)


# -- words --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "negated", "ru", "en"),
    [
        (PET_FOOD, False, "вы покупали товары категории «корм» за последние 90 дней",
         "you bought products of the category «корм» in the last 90 days"),
        (PET_FOOD, True, "вы не покупали товары категории «корм» за последние 90 дней",
         "you did not buy products of the category «корм» in the last 90 days"),
        ({"purchased": {"product_id": "purina", "within_days": 1}}, False,
         "вы покупали товар «purina» за последний день",
         "you bought the product «purina» in the last day"),
        ({"purchased": {"product_id": "p", "category": "c", "within_days": 21}}, False,
         "вы покупали товар «p» из категории «c» за последние 21 день",
         "you bought the product «p» of the category «c» in the last 21 days"),
        ({"purchased": {"min_count": 3, "within_days": 2}}, False,
         "вы покупали у нас 3 раза или больше за последние 2 дня",
         "you bought from us at least 3 times in the last 2 days"),
        ({"purchased": {"min_count": 5}}, True, "вы покупали у нас меньше, чем 5 раз",
         "you bought from us fewer than 5 times"),
        ({"purchased": {"min_count": 22, "within_days": 11}}, False,
         "вы покупали у нас 22 раза или больше за последние 11 дней",
         "you bought from us at least 22 times in the last 11 days"),
        ({"viewed": {"category": "корм", "within_days": 7}}, False,
         "вы смотрели товары категории «корм» за последние 7 дней",
         "you viewed products of the category «корм» in the last 7 days"),
        ({"viewed": {"within_days": 3}}, True, "вы не смотрели наши товары за последние 3 дня",
         "you did not view our products in the last 3 days"),
        ({"orders": {"count_gte": 2, "total_gte": 1500.5}}, False,
         "вы сделали 2 заказа или больше и сумма ваших заказов — 1\u00a0500,5 или больше",
         "you placed at least 2 orders and your orders total 1,500.5 or more"),
        ({"orders": {"count_gte": 5}}, True, "вы сделали меньше, чем 5 заказов",
         "you placed fewer than 5 orders"),
        ({"orders": {"count_gte": 1}}, False, "вы сделали 1 заказ или больше", "you placed at least 1 order"),
        ({"orders": {"count_gte": 1}}, True, "вы ещё не делали заказов", "you have not placed an order yet"),
        ({"orders": {"total_gte": 1000}}, True, "сумма ваших заказов меньше 1\u00a0000",
         "your orders total less than 1,000"),
        ({"orders": {"last_within_days": 30}}, False, "вы делали заказ за последние 30 дней",
         "you placed an order in the last 30 days"),
        ({"orders": {"last_before_days": 21}}, False, "ваш последний заказ был 21 день назад или раньше",
         "your last order was 21 days ago or earlier"),
        ({"orders": {"last_before_days": 1}}, True, "ваш последний заказ был меньше, чем 1 день назад",
         "your last order was less than 1 day ago"),
        ({"consent": {"channel": "email", "topic": "marketing"}}, False,
         "вы согласились получать рекламные сообщения по электронной почте",
         "you agreed to receive marketing messages by email"),
        ({"consent": {"channel": "sms", "topic": "transactional"}}, False,
         "вы не отказывались от сообщений о заказах по SMS",
         "you have not opted out of order messages by SMS"),
        ({"consent": {"channel": "push", "topic": "transactional"}}, True,
         "вы отказались от сообщений о заказах в push-уведомлениях",
         "you opted out of order messages by push notification"),
        ({"tenure": "loyal"}, False, "вы постоянный покупатель", "you are a loyal customer"),
        ({"tenure": "new"}, True, "вы не новый покупатель", "you are not a new customer"),
        ({"country": "RU"}, False, "ваша страна — Россия", "your country is Russia"),
        ({"country": "DE"}, True, "ваша страна — не Германия", "your country is not Germany"),
        ({"birthday_within_days": 0}, False, "ваш день рождения сегодня", "your birthday is today"),
        ({"birthday_within_days": 1}, True, "ваш день рождения не сегодня и не завтра",
         "your birthday is neither today nor tomorrow"),
        ({"birthday_within_days": 7}, False, "ваш день рождения в ближайшие 7 дней",
         "your birthday is within the next 7 days"),
        ({"birthday_within_days": 2}, True, "ваш день рождения не в ближайшие 2 дня",
         "your birthday is not within the next 2 days"),
        ({"trait": "address.city", "eq": "Москва"}, False, "в вашем профиле город — «Москва»",
         "in your profile, city is «Москва»"),
        ({"trait": "address.city", "ne": "Москва"}, False, "в вашем профиле город — не «Москва»",
         "in your profile, city is not «Москва»"),
        ({"trait": "address.city", "ne": "Москва"}, True, "в вашем профиле город — «Москва»",
         "in your profile, city is «Москва»"),
        ({"trait": "vip_level", "in": ["gold", "silver", "bronze"]}, False,
         "в вашем профиле «vip_level» — «gold», «silver» или «bronze»",
         "in your profile, «vip_level» is «gold», «silver» or «bronze»"),
        ({"trait": "vip_level", "in": ["gold", "silver"]}, True,
         "в вашем профиле «vip_level» — не «gold» и не «silver»",
         "in your profile, «vip_level» is neither «gold» nor «silver»"),
        ({"trait": "age", "gte": 18}, False, "в вашем профиле «age» — не меньше 18",
         "in your profile, «age» is at least 18"),
        ({"trait": "age", "lte": 18}, True, "в вашем профиле «age» — больше 18 или не указано",
         "in your profile, «age» is more than 18 or not set"),
        ({"trait": "vip", "exists": True}, False, "в вашем профиле указано: «vip»",
         "in your profile, «vip» is set"),
        ({"trait": "vip", "exists": True}, True, "в вашем профиле не указано: «vip»",
         "in your profile, «vip» is not set"),
        ({"trait": "firstName", "eq": None}, False, "в вашем профиле не указано: имя",
         "in your profile, first name is not set"),
        ({"trait": "subscribed_to_news", "eq": True}, False, "в вашем профиле «subscribed_to_news» — «да»",
         "in your profile, «subscribed_to_news» is «yes»"),
    ],
)  # fmt: skip
def test_why_words_each_condition_reads_as_a_sentence(condition, negated, ru, en):
    reasons = [Reason(condition=condition, negated=negated)]
    assert why_words(reasons, "ru-RU") == [ru]
    assert why_words(reasons, "en") == [en]


def test_why_words_unknown_locale_falls_back_to_english():
    assert why_words([Reason(condition={"tenure": "new"})], "de-DE") == ["you are a new customer"]
    assert why_words([Reason(condition={"tenure": "new"})], "ru_RU") == ["вы новый покупатель"]


def test_why_words_reason_outside_the_grammar_is_left_out():
    reasons = [Reason(condition={"shoe_size": 38}), Reason(condition={"tenure": "new"})]
    assert why_words(reasons, "en") == ["you are a new customer"]


def test_why_words_issue_example_pet_food_in_the_last_90_days():
    state = profile(orders=[order("o1", NOW - 10 * DAY, line("purina", "корм"))])
    assert words(PET_FOOD, state) == ["вы покупали товары категории «корм» за последние 90 дней"]


@pytest.mark.parametrize(
    ("days", "ru"),
    [(1, "за последний день"), (2, "за последние 2 дня"), (4, "за последние 4 дня"), (5,
        "за последние 5 дней"),
     (11, "за последние 11 дней"), (12, "за последние 12 дней"), (21, "за последние 21 день"),
     (22, "за последние 22 дня"), (25, "за последние 25 дней"), (111, "за последние 111 дней"),
     (101, "за последние 101 день")],
)  # fmt: skip
def test_why_words_russian_day_counts_agree_with_the_number(days, ru):
    [said] = why_words([Reason(condition={"viewed": {"within_days": days}})], "ru")
    assert said == f"вы смотрели наши товары {ru}"


# -- changes_at never misses a change (property) ------------------------------------------------
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ZONES = [
    None,
    "Asia/Vladivostok",
    "Europe/Moscow",
    "America/Santiago",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]
times = st.integers(-120 * 24 * 60, 2 * 24 * 60).map(lambda m: T + timedelta(minutes=m, seconds=17))
days = st.sampled_from([1, 2, 7, 30, 90])
products = st.sampled_from(["a", "b"])
categories = st.sampled_from(["корм", "игрушки"])


@st.composite
def states(draw):
    orders = [
        order(
            f"o{i}",
            draw(times),
            *[
                line(draw(products), draw(st.none() | categories), draw(st.sampled_from([1, 0])))
                for _ in range(draw(st.integers(0, 2)))
            ],
            total=draw(st.sampled_from([None, 100, 700])),
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    views = [
        viewed(draw(products), draw(times), draw(st.none() | categories))
        for _ in range(draw(st.integers(0, 4)))
    ]
    traits = {}
    zone = draw(st.sampled_from(ZONES))
    if zone:
        traits["timezone"] = zone
    birthday = draw(st.none() | st.dates(datetime(1960, 1, 1).date(), datetime(2008, 12, 31).date()))
    if birthday is not None:
        traits["birthday"] = draw(st.sampled_from([birthday.isoformat(), "1992-02-29", "2000-12-01"]))
    return profile(orders=orders, views=views, traits=traits)


def given_only(**fields):
    return {k: v for k, v in fields.items() if v is not None}


LEAVES = st.one_of(
    st.builds(
        lambda p, c, w, m: {"purchased": given_only(product_id=p, category=c, within_days=w, min_count=m)},
        st.none() | products, st.none() | categories, st.none() | days, st.sampled_from([None, 1, 2, 3]),
    ),
    st.builds(
        lambda p, c, w: {"viewed": given_only(product_id=p, category=c, within_days=w)},
        st.none() | products, st.none() | categories, days,
    ),
    st.fixed_dictionaries(
        {},
        optional={"count_gte": st.integers(1, 3), "total_gte": st.sampled_from([0, 500, 1000]),
                  "last_within_days": days, "last_before_days": days},
    ).filter(bool).map(lambda o: {"orders": o}),
    st.builds(lambda n: {"birthday_within_days": n}, st.sampled_from([0, 1, 2, 7, 30, 364, 365, 366])),
    st.sampled_from(
        [{"tenure": "new"}, {"tenure": "returning"}, {"country": "RU"}, {"trait": "timezone", "exists": True}]
    ),
)  # fmt: skip
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"all": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"any": rs}),
        inner.map(lambda r: {"not": r}),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(RULES, states(), st.sampled_from([EvalContext(), CTX, EvalContext(default_country="US")]), st.data())
def test_evaluate_changes_at_verdict_holds_until_then(rule, state, ctx, data):
    parsed = parse_rule(rule)
    now = T
    for _step in range(5):
        verdict = evaluate(parsed, state, now, ctx)
        if verdict.changes_at is None:
            later = data.draw(st.integers(1, 800 * 24 * 60))
            for at in (now + US, now + timedelta(minutes=later), now + 800 * DAY):
                assert evaluate(parsed, state, at, ctx).member is verdict.member, at
            return
        assert verdict.changes_at > now
        span = (verdict.changes_at - now) // US
        inside = now + data.draw(st.integers(1, span - 1)) * US if span > 1 else now
        for at in (now + US if span > 1 else now, inside, verdict.changes_at - US):
            assert evaluate(parsed, state, at, ctx).member is verdict.member, at
        now = verdict.changes_at
