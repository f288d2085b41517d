"""Trigger kinds as plug-ins: the registry covers the Intent's facts exactly, and each kind tells
the dispatcher what the dispatcher used to work out from the facts' type."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.dispatch import read_request, template_key, useful_until
from asusual.delivery.records import DEFERRAL_HORIZON
from asusual.triggers.kinds import (
    KINDS,
    TriggerKind,
    birthday,
    facts_models,
    kind_of,
    order_status,
    registry,
    replenishment,
    welcome,
)
from asusual.triggers.models import (
    BirthdayFacts,
    OrderLine,
    OrderStatus,
    OrderStatusFacts,
    ReplenishmentFacts,
    Topic,
    WelcomeFacts,
    make_intent,
)

NOW = datetime(2027, 3, 5, 8, 0, tzinfo=UTC)
ORDER = OrderStatusFacts(
    order_id="W-1",
    status=OrderStatus.SHIPPED,
    previous_status=OrderStatus.PAID,
    order_channel="web",
    status_at=NOW,
    products=(OrderLine(product_id="tea", name="Green tea", quantity=2), OrderLine(product_id="cup")),
    message_id="m-1",
)
BIRTHDAY = BirthdayFacts(
    birthday=date(1990, 3, 5),
    celebrated_on=date(2027, 3, 5),
    year=2027,
    timezones=("Europe/Kaliningrad", "Asia/Kamchatka"),
)
REPLENISHMENT = ReplenishmentFacts(
    product_id="food",
    product_name="Cat food",
    last_purchase_at=NOW - timedelta(days=26),
    last_purchase_channel="web",
    quantity=3,
    days_since=26,
    expected_runout_at=NOW,
    basis="catalog",
)
WELCOME = WelcomeFacts(channels=("email",), subscribed_at=NOW, source_id="web")
CUP = CatalogProduct(product_id="cup", name="Mug", price=Decimal("300"), currency="RUB", category="kitchen")
FOOD = CatalogProduct(product_id="food", name="Cat food 2 kg", price=Decimal("1290"), currency="RUB")


def test_registry_covers_every_facts_model_of_the_intent_exactly():
    assert set(facts_models()) == {OrderStatusFacts, BirthdayFacts, ReplenishmentFacts, WelcomeFacts}
    assert {name: kind.facts_model for name, kind in KINDS.items()} == {
        "order_status": OrderStatusFacts,
        "birthday": BirthdayFacts,
        "replenishment": ReplenishmentFacts,
        "welcome": WelcomeFacts,
    }


def test_registry_facts_model_without_a_kind_refuses_to_load():
    with pytest.raises(ValueError, match=r"^no trigger kind for WelcomeFacts$"):
        registry((order_status.KIND, birthday.KIND, replenishment.KIND), facts_models())


def test_registry_kind_for_facts_outside_the_intent_refuses_to_load():
    models = (OrderStatusFacts, BirthdayFacts, ReplenishmentFacts)
    with pytest.raises(ValueError, match=r"^trigger kinds for facts outside the Intent: WelcomeFacts$"):
        registry((order_status.KIND, birthday.KIND, replenishment.KIND, welcome.KIND), models)


def test_registry_two_kinds_for_one_trigger_refuses_to_load():
    class Another(TriggerKind[WelcomeFacts]):
        facts_model = WelcomeFacts

    with pytest.raises(ValueError, match=r"^two trigger kinds for 'welcome'$"):
        registry(
            (order_status.KIND, birthday.KIND, replenishment.KIND, welcome.KIND, Another()), facts_models()
        )


@pytest.mark.parametrize(
    ("facts", "key"),
    [
        (ORDER, "order_shipped"),
        (BIRTHDAY, "birthday"),
        (REPLENISHMENT, "replenishment"),
        (WELCOME, "welcome"),
    ],
)
def test_template_key_each_kind_its_template(facts, key):
    intent = make_intent("p_1", Topic.MARKETING, "k", facts, NOW)
    assert kind_of(facts).template_key(facts) == key
    assert template_key(intent) == key


def test_useful_until_each_kind_its_life():
    zones = ("Europe/Kaliningrad", "Asia/Kamchatka")
    life = {
        facts.trigger: useful_until(make_intent("p_1", Topic.MARKETING, "k", facts, NOW), zones)
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME)
    }
    assert life == {
        "order_status": None,
        "birthday": datetime(2027, 3, 5, 12, 0, tzinfo=UTC),  # midnight in Kamchatka (UTC+12)
        "replenishment": NOW + timedelta(days=7),
        "welcome": NOW + timedelta(days=3),
    }


def test_useful_until_birthday_without_a_readable_zone_is_the_intents_own_time():
    intent = make_intent("p_1", Topic.MARKETING, "k", BIRTHDAY, NOW)
    assert useful_until(intent, ("Not/AZone",)) == NOW
    assert useful_until(intent, ()) == NOW


def test_deferral_horizon_a_day_past_every_kinds_useful_life():
    lives = [kind.useful_life for kind in KINDS.values() if kind.useful_life is not None]
    assert max(lives) + timedelta(days=1) == DEFERRAL_HORIZON
    # a birthday ends with the local day it is celebrated on: at most a day after it was emitted
    start_of_the_day = datetime(2027, 3, 5, 12, 0, tzinfo=UTC)  # 00:00 at UTC-12
    intent = make_intent("p_1", Topic.MARKETING, "k", BIRTHDAY, start_of_the_day)
    assert useful_until(intent, ("Etc/GMT+12",)) == start_of_the_day + timedelta(days=1)


def test_read_request_each_kind_its_products_and_day_items():
    asked = {
        facts.trigger: read_request(make_intent("p_1", Topic.MARKETING, "k", facts, NOW), NOW, {"extra"})
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME)
    }
    days = (date(2027, 3, 4), date(2027, 3, 5))
    assert {t: (r.product_ids, r.days) for t, r in asked.items()} == {
        "order_status": (("cup", "extra", "tea"), ()),
        "birthday": (("extra",), days),
        "replenishment": (("extra", "food"), days),
        "welcome": (("extra",), days),
    }


def test_products_order_lines_by_name_only_and_replenishment_at_the_catalog_price():
    catalog = {"cup": CUP, "food": FOOD}
    assert kind_of(ORDER).products(ORDER, catalog) == [
        PricedProduct(product_id="tea", name="Green tea", price=None, currency=None),
        PricedProduct(product_id="cup", name="Mug", price=None, currency=None, category="kitchen"),
    ]
    assert kind_of(REPLENISHMENT).products(REPLENISHMENT, catalog) == [
        PricedProduct(product_id="food", name="Cat food 2 kg", price=Decimal("1290"), currency="RUB")
    ]
    assert kind_of(REPLENISHMENT).products(REPLENISHMENT, {}) == [
        PricedProduct(product_id="food", name="Cat food", price=None, currency=None)
    ]
    assert kind_of(BIRTHDAY).products(BIRTHDAY, catalog) == []
    assert kind_of(WELCOME).products(WELCOME, catalog) == []


def test_quantities_offer_and_season_each_kind():
    seen = {
        facts.trigger: (
            kind_of(facts).quantities(facts),
            kind_of(facts).shows_offer,
            kind_of(facts).in_season_only(facts),
        )
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME)
    }
    assert seen == {
        "order_status": ({"tea": 2, "cup": 1}, False, frozenset()),
        "birthday": ({}, True, frozenset()),
        "replenishment": ({"food": 3}, False, frozenset({"food"})),
        "welcome": ({}, True, frozenset()),
    }


def test_origin_channel_order_status_is_the_orders_channel_and_other_kinds_have_none():
    assert kind_of(ORDER).origin_channel(ORDER) == "web"
    assert [kind_of(f).origin_channel(f) for f in (BIRTHDAY, REPLENISHMENT, WELCOME)] == [None, None, None]
