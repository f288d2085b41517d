"""Trigger kinds as plug-ins: the registry covers the Intent's facts exactly, and each kind tells
the dispatcher what the dispatcher used to work out from the facts' type."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from asusual.catalog.models import CatalogProduct, PricedProduct
from asusual.delivery.dispatch import read_request, template_key, useful_until
from asusual.delivery.records import DEFERRAL_HORIZON
from asusual.profiles.state import ProfileState, Stamped
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
from asusual.triggers.kinds.base import Recipient
from asusual.triggers.kinds.campaign import channel_templates
from asusual.triggers.models import (
    AbandonedProduct,
    BackInStockFacts,
    BirthdayFacts,
    BrowseAbandonmentFacts,
    CampaignContent,
    CampaignFacts,
    CartAbandonmentFacts,
    ConsentConfirmationFacts,
    OrderLine,
    OrderStatus,
    OrderStatusFacts,
    PriceDropFacts,
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
CONFIRMATION = ConsentConfirmationFacts(
    channel="email", asserted_at=NOW, source_id="browser", message_id="m-2"
)
CAMPAIGN = CampaignFacts(
    campaign_id="pets-december",
    segment_id="pets",
    segment_name="Покупатели корма",
    content={
        "ru": CampaignContent(subject="Корм", body="Скидка на корм", text="Скидка"),
        "en": CampaignContent(subject="Food", body="Pet food on sale"),
    },
    release_at=NOW,
)
CART = CartAbandonmentFacts(
    cart_id="2027-03-04T09:00:00.000000Z",
    products=(AbandonedProduct(product_id="food", name="Cat food", at=NOW, quantity=2),),
    last_activity_at=NOW,
)
BROWSE = BrowseAbandonmentFacts(
    products=(AbandonedProduct(product_id="cup", name="Mug", at=NOW),), views=3, last_viewed_at=NOW
)
CUP = CatalogProduct(product_id="cup", name="Mug", price=Decimal("300"), currency="RUB", category="kitchen")
FOOD = CatalogProduct(product_id="food", name="Cat food 2 kg", price=Decimal("1290"), currency="RUB")


def test_registry_covers_every_facts_model_of_the_intent_exactly():
    assert set(facts_models()) == {
        OrderStatusFacts,
        BirthdayFacts,
        ReplenishmentFacts,
        WelcomeFacts,
        ConsentConfirmationFacts,
        CampaignFacts,
        CartAbandonmentFacts,
        BrowseAbandonmentFacts,
        BackInStockFacts,
        PriceDropFacts,
    }
    assert {name: kind.facts_model for name, kind in KINDS.items()} == {
        "order_status": OrderStatusFacts,
        "birthday": BirthdayFacts,
        "replenishment": ReplenishmentFacts,
        "welcome": WelcomeFacts,
        "consent_confirmation": ConsentConfirmationFacts,
        "campaign": CampaignFacts,
        "cart_abandonment": CartAbandonmentFacts,
        "browse_abandonment": BrowseAbandonmentFacts,
        "back_in_stock": BackInStockFacts,
        "price_drop": PriceDropFacts,
    }


def test_registry_facts_model_without_a_kind_refuses_to_load():
    with pytest.raises(
        ValueError,
        match=r"^no trigger kind for BackInStockFacts, BrowseAbandonmentFacts, CampaignFacts, "
        r"CartAbandonmentFacts, ConsentConfirmationFacts, PriceDropFacts, WelcomeFacts$",
    ):
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
        (CONFIRMATION, "consent_confirmation"),
        (CAMPAIGN, "campaign"),
        (CART, "cart_abandonment"),
        (BROWSE, "browse_abandonment"),
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
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME, CONFIRMATION, CART, BROWSE)
    }
    assert life == {
        "order_status": None,
        "birthday": datetime(2027, 3, 5, 12, 0, tzinfo=UTC),  # midnight in Kamchatka (UTC+12)
        "replenishment": NOW + timedelta(days=7),
        "welcome": NOW + timedelta(days=3),
        "consent_confirmation": None,
        "cart_abandonment": NOW + timedelta(days=2),
        "browse_abandonment": NOW + timedelta(days=3),
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
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME, CONFIRMATION, CART, BROWSE)
    }
    days = (date(2027, 3, 4), date(2027, 3, 5))
    assert {t: (r.product_ids, r.days) for t, r in asked.items()} == {
        "order_status": (("cup", "extra", "tea"), ()),
        "birthday": (("extra",), days),
        "replenishment": (("extra", "food"), days),
        "welcome": (("extra",), days),
        "consent_confirmation": (("extra",), ()),
        "cart_abandonment": (("extra", "food"), days),
        "browse_abandonment": (("cup", "extra"), days),
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
        for facts in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME, CONFIRMATION)
    }
    assert seen == {
        "order_status": ({"tea": 2, "cup": 1}, False, frozenset()),
        "birthday": ({}, True, frozenset()),
        "replenishment": ({"food": 3}, False, frozenset({"food"})),
        "welcome": ({}, True, frozenset()),
        "consent_confirmation": ({}, False, frozenset()),
    }


def test_origin_channel_order_status_is_the_orders_channel_and_other_kinds_have_none():
    assert kind_of(ORDER).origin_channel(ORDER) == "web"
    others = (BIRTHDAY, REPLENISHMENT, WELCOME, CONFIRMATION)
    assert [kind_of(f).origin_channel(f) for f in others] == [None, None, None, None]


def asserted(msg: str = "m-2", address: str | None = "anna@example.com") -> Stamped:
    value = {"subscribed": True, "consent_version": None, "source_id": "browser", "pending": True}
    return Stamped(value={**value, "address": address} if address else value, at=NOW, msg=msg)


def with_consent(
    pending: Stamped, *, email: str = "other@example.com", **subscriptions: Stamped
) -> ProfileState:
    traits = {"email": Stamped(value=email, at=NOW, msg="t-1")}
    return ProfileState(
        traits=traits, pending_consents={"email.marketing": pending}, subscriptions=subscriptions
    )


def test_recipient_confirmation_is_the_address_of_the_assertion_while_it_waits():
    state = with_consent(asserted())
    assert kind_of(CONFIRMATION).recipient(CONFIRMATION, state) == Recipient(
        channel="email", address="anna@example.com"
    )


def test_recipient_confirmation_without_an_asserted_address_is_the_profiles_own():
    state = with_consent(asserted(address=None))
    assert kind_of(CONFIRMATION).recipient(CONFIRMATION, state) == Recipient(
        channel="email", address="other@example.com"
    )


@pytest.mark.parametrize(
    "state",
    [
        ProfileState(),  # nothing asserted (erased and back, or never)
        with_consent(asserted(msg="m-3")),  # asserted again since: that assertion's intent asks
        with_consent(
            asserted(),
            **{
                "email.marketing": Stamped(
                    value={"subscribed": False}, at=NOW + timedelta(minutes=5), msg="w"
                )
            },
        ),  # withdrawn after it
        with_consent(asserted(), **{"email.marketing": Stamped(value={"subscribed": True}, at=NOW, msg="c")}),
    ],
    ids=["nothing", "asserted_again", "withdrawn", "granted"],
)
def test_recipient_confirmation_no_longer_waiting_reaches_nobody(state):
    assert kind_of(CONFIRMATION).recipient(CONFIRMATION, state) == Recipient(
        channel="email", address=None, reason="not_pending"
    )


def test_recipient_confirmation_without_any_usable_address_reaches_nobody():
    state = with_consent(asserted(address=None), email="not an address")
    assert kind_of(CONFIRMATION).recipient(CONFIRMATION, state) == Recipient(
        channel="email", address=None, reason="no_address"
    )


def test_recipient_and_confirms_only_a_confirmation_names_its_address_and_link():
    state = with_consent(asserted())
    assert [kind_of(f).recipient(f, state) for f in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME)] == [None] * 4
    assert [kind_of(f).confirms(f) for f in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME)] == [None] * 4
    assert kind_of(CONFIRMATION).confirms(CONFIRMATION) == ("email", "marketing")


def test_campaign_kind_words_from_its_facts_on_the_channels_it_has_words_for():
    kind = kind_of(CAMPAIGN)
    assert kind.templates(CAMPAIGN) == {
        "email": {"ru": ("Корм", "Скидка на корм"), "en": ("Food", "Pet food on sale")},
        "sms": {"ru": (None, "Скидка")},
        "push": {"ru": ("Корм", "Скидка")},
        "store": {"ru": (None, "Скидка")},
        "call_center": {"ru": (None, "Скидка")},
    }
    assert kind.channels(CAMPAIGN) == {"email", "sms", "push", "store", "call_center"}
    only_email = CAMPAIGN.model_copy(update={"channels": ("email", "sms")})
    assert kind.channels(only_email) == {"email", "sms"}
    assert channel_templates({"en": CampaignContent(text="Hi")}) == {
        c: {"en": (None, "Hi")} for c in ("sms", "push", "store", "call_center")
    }


def test_campaign_kind_program_segment_offer_and_life():
    kind = kind_of(CAMPAIGN)
    assert (kind.program(CAMPAIGN), kind.campaign_id(CAMPAIGN), kind.segment_id(CAMPAIGN)) == (
        "campaign#pets-december",
        "pets-december",
        "pets",
    )
    assert kind.shows_offer is True
    intent = make_intent("p_1", Topic.MARKETING, "campaign:pets-december:p_1", CAMPAIGN, NOW)
    assert useful_until(intent, ("Europe/Moscow",)) == NOW + timedelta(days=2)
    assert [kind_of(f).program(f) for f in (ORDER, BIRTHDAY, REPLENISHMENT, WELCOME, CONFIRMATION)] == [
        None
    ] * 5
