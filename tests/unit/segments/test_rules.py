import pytest

from asusual.segments.rules import (
    All,
    AnyOf,
    BirthdayWithin,
    Consent,
    Country,
    Not,
    Orders,
    Purchased,
    RuleError,
    Tenure,
    Trait,
    Viewed,
    parse_rule,
    rule_json,
)

PET_FOOD = {"purchased": {"category": "pet_food", "within_days": 90}}
OPERATORS = "eq, ne, in, gte, lte, exists"
ONE_OPERATOR = f"rule: a trait condition takes exactly one of {OPERATORS}"
NUMBER_OR_TEXT = "a number, or a text compared as text (a date: 2026-12-31)"
ORDERS = "count_gte, total_gte, last_within_days, last_before_days"


def test_parse_rule_the_whole_grammar_reads_into_its_tree():
    rule = {
        "all": [
            PET_FOOD,
            {
                "any": [
                    {"trait": "gender", "eq": "female"},
                    {"trait": "address.city", "in": ["Москва", "Казань"]},
                ]
            },
            {"not": {"consent": {"channel": "sms", "topic": "marketing"}}},
            {"viewed": {"product_id": "sku-1", "within_days": 7}},
            {"orders": {"count_gte": 2, "total_gte": 1500.5, "last_within_days": 30, "last_before_days": 3}},
            {"tenure": "loyal"},
            {"country": "ru"},
            {"birthday_within_days": 0},
            {"trait": "vip", "exists": True},
            {"trait": "signed_up", "gte": "2026-01-01"},
        ]
    }
    assert parse_rule(rule) == All((
        Purchased(category="pet_food", within_days=90),
        AnyOf((Trait("gender", "eq", "female"), Trait("address.city", "in", ("Москва", "Казань")))),
        Not(Consent(channel="sms", topic="marketing")),
        Viewed(within_days=7, product_id="sku-1"),
        Orders(count_gte=2, total_gte=1500.5, last_within_days=30, last_before_days=3),
        Tenure("loyal"),
        Country("RU"),
        BirthdayWithin(0),
        Trait("vip", "exists", True),
        Trait("signed_up", "gte", "2026-01-01"),
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"all": [PET_FOOD, {"purchased": {"category": "pet_food", "within_dayz": 90}}]},
            "rule.all[1].purchased.within_dayz: unknown key; expected one of product_id, category, "
            "within_days, min_count",
        ),
        ({"al": []}, "rule.al: unknown condition; expected all, any, not, trait, purchased, viewed, orders, "
         "consent, tenure, country or birthday_within_days"),
        ({"all": []}, "rule.all: a list of 1 to 50 rules"),
        ({"any": [PET_FOOD] * 51}, "rule.any: a list of 1 to 50 rules"),
        ([], 'rule: a rule is an object such as {"all": [...]} or {"country": "RU"}'),
        ({}, 'rule: a rule is an object such as {"all": [...]} or {"country": "RU"}'),
        ({"country": "RU", "tenure": "new"}, "rule: one condition per object, got country, tenure"),
        ({"not": "x"}, 'rule.not: a rule is an object such as {"all": [...]} or {"country": "RU"}'),
        ({"trait": "gender", "equals": "f"}, f"rule.equals: unknown operator; expected one of {OPERATORS}"),
        ({"trait": "gender", "eq": "f", "ne": "m"}, ONE_OPERATOR),
        ({"trait": "gender"}, ONE_OPERATOR),
        ({"trait": "a..b", "eq": 1}, "rule.trait: a trait's path such as gender or address.city"),
        ({"trait": "vip", "exists": "yes"}, "rule.exists: true or false"),
        ({"trait": "city", "in": ["a", {"b": 1}]}, "rule.in[1]: a text (at most 200 characters), number, "
         "true, false or null"),
        ({"trait": "age", "gte": float("nan")}, f"rule.gte: {NUMBER_OR_TEXT}"),
        ({"trait": "age", "gte": True}, f"rule.gte: {NUMBER_OR_TEXT}"),
        ({"purchased": {"within_days": 0}}, "rule.purchased.within_days: whole days from 1 to 3650"),
        ({"purchased": {"within_days": 9.5}}, "rule.purchased.within_days: whole days from 1 to 3650"),
        ({"purchased": {"min_count": True}}, "rule.purchased.min_count: a whole number from 1 to 100000"),
        ({"purchased": {"product_id": ""}}, "rule.purchased.product_id: a text of 1 to 200 characters"),
        ({"viewed": {"product_id": "sku-1"}}, "rule.viewed.within_days: required, whole days from 1 to 3650"),
        ({"orders": {}}, f"rule.orders: at least one of {ORDERS}"),
        ({"orders": {"total_gte": -1}}, "rule.orders.total_gte: a number of 0 or more"),
        ({"consent": {"channel": "fax", "topic": "marketing"}}, "rule.consent.channel: one of email, sms, "
         "push, store, call_center"),
        ({"consent": {"channel": "email"}}, "rule.consent.topic: one of transactional, marketing"),
        ({"tenure": "old"}, "rule.tenure: one of new, returning, loyal"),
        ({"country": "Russia"}, "rule.country: an ISO 3166-1 alpha-2 code such as RU"),
        ({"birthday_within_days": 400}, "rule.birthday_within_days: whole days from 0 to 366"),
    ],
)  # fmt: skip
def test_parse_rule_outside_the_grammar_names_the_offending_place(rule, message):
    with pytest.raises(RuleError) as refused:
        parse_rule(rule)
    assert str(refused.value) == message


def test_parse_rule_nested_past_the_depth_limit_is_refused_naming_where():
    rule: dict = {"country": "RU"}
    for _ in range(8):
        rule = {"not": rule}
    with pytest.raises(RuleError) as refused:
        parse_rule(rule)
    assert str(refused.value) == "rule.not.not.not.not.not.not.not.not: nested deeper than 8 levels"


def test_parse_rule_more_conditions_than_the_limit_is_refused():
    rule = {"any": [{"all": [{"country": "RU"}] * 50}, {"all": [{"country": "RU"}] * 50}]}
    with pytest.raises(RuleError) as refused:
        parse_rule(rule)
    assert str(refused.value) == "rule.any[1].all[47]: more than 100 conditions in one rule"


def test_parse_rule_huge_unknown_key_is_cut_in_the_message():
    with pytest.raises(RuleError) as refused:
        parse_rule({"purchased": {"x" * 10_000: 1}})
    assert str(refused.value).startswith("rule.purchased." + "x" * 40 + ": unknown key")
    assert len(str(refused.value)) < 200


def test_parse_rule_key_with_a_lone_surrogate_is_named_escaped_so_the_message_encodes():
    with pytest.raises(RuleError) as refused:
        parse_rule({"orders": {"count\ud800": 1}})
    assert str(refused.value).startswith("rule.orders.count\\ud800: unknown key")
    str(refused.value).encode("utf-8")


def test_parse_rule_long_unknown_condition_is_named_cut_to_40_characters():
    with pytest.raises(RuleError) as refused:
        parse_rule({"y" * 1000: 1})
    assert str(refused.value).startswith("rule." + "y" * 40 + ": unknown condition")


def test_rule_json_the_whole_grammar_reads_back_into_the_same_tree():
    rule = {
        "all": [
            {"purchased": {"category": "pet_food", "within_days": 90, "min_count": 2}},
            {
                "any": [
                    {"trait": "address.city", "in": ["Москва", "Казань"]},
                    {"trait": "vip", "exists": True},
                ]
            },
            {"not": {"consent": {"channel": "sms", "topic": "marketing"}}},
            {"viewed": {"within_days": 7, "product_id": "sku-1"}},
            {"orders": {"count_gte": 2, "last_before_days": 3}},
            {"tenure": "loyal"},
            {"country": "RU"},
            {"birthday_within_days": 0},
        ]
    }
    assert rule_json(parse_rule(rule)) == rule
    assert rule_json(parse_rule({"purchased": {"min_count": 1}})) == {"purchased": {}}
