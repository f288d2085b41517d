"""Content for every message that is due: the causes of "no_content" the delivery audit found.

The audit (tests/unit/delivery/test_audit.py) ended 444 of 9,177 dispatches in SKIPPED no_content,
all for one cause: the default pack had no birthday, replenishment or welcome template for the
store and call_center channels, which the dispatcher chooses for a customer who opted in to
marketing there (their preferred channel, or the one they engage with most). compose() raised
ContentUnavailable("the content pack has no template ...") before any variant was tried.

The one no_content that stays correct: an order update whose order id is blank or reads as a
null. It cannot say which order it is about, and its send-once key is not one order's.
"""

# ruff: noqa: RUF001  (Russian copy under test: Cyrillic letters that look Latin are intended)

import pytest

from asusual.content.pack import MESSAGE_CHANNELS, PLACEMENTS
from asusual.content.render import ContentUnavailable, compose, default_pack, leak
from asusual.triggers.models import OrderStatus
from tests.unit.content import WHY_URL, minimal_facts, product, profile, request

ORDER_TRIGGERS = tuple(f"order_{status.value}" for status in OrderStatus)
MARKETING_TRIGGERS = (
    "birthday",
    "replenishment",
    "welcome",
    "cart_abandonment",
    "browse_abandonment",
    "back_in_stock",
    "price_drop",
)
MESSAGE_TRIGGERS = (*MARKETING_TRIGGERS, *ORDER_TRIGGERS)
WEBHOOK_CHANNELS = ("store", "call_center")
LOCALES = ("ru", "en")
SENSITIVE = "Тест на беременность Clearblue"


def named(locale: str, orders: int = 0):
    if locale == "ru":
        return profile(first_name="Анна", locale="ru", timezone="Europe/Moscow", orders=orders)
    return profile(first_name="Anna", last_name="Smith", locale="en", timezone="Europe/London", orders=orders)


# a confirmation goes to the very address asked to confirm (asusual.profiles.consent): email or SMS
ADDRESS_TRIGGERS = {"consent_confirmation": ("email", "sms")}
# a campaign brings its own words in its intent (checked by rendering when it is created): the
# pack gives it only its why line
OWN_WORDS_TRIGGERS = ("campaign",)


def test_default_pack_message_triggers_are_every_trigger_with_a_why_line():
    assert set(default_pack().why) - PLACEMENTS == {*MESSAGE_TRIGGERS, *ADDRESS_TRIGGERS, *OWN_WORDS_TRIGGERS}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("trigger", "channel"), [(t, c) for t, channels in ADDRESS_TRIGGERS.items() for c in channels]
)
def test_default_pack_address_trigger_on_its_channels_has_a_template(trigger, channel, locale):
    variants = default_pack().variants(trigger, channel, locale)
    assert variants, f"no template {trigger}.{channel}.{locale}: such messages end in no_content"
    assert variants[-1].conditions.empty()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", sorted(MESSAGE_CHANNELS))
@pytest.mark.parametrize("trigger", MESSAGE_TRIGGERS)
def test_default_pack_any_message_trigger_on_any_channel_has_a_template(trigger, channel, locale):
    variants = default_pack().variants(trigger, channel, locale)
    assert variants, f"no template {trigger}.{channel}.{locale}: such messages end in no_content"
    assert variants[-1].conditions.empty()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
@pytest.mark.parametrize("trigger", MARKETING_TRIGGERS)
def test_compose_marketing_on_store_or_call_center_unknown_customer_renders(trigger, channel, locale):
    out = compose(default_pack(), request(trigger, channel, profile(locale=locale)))
    assert out.template_id == f"{trigger}.{channel}" and out.locale == locale
    assert out.subject is None and out.html is None
    assert leak(out.body) is None, out.body
    assert out.why in out.body and WHY_URL in out.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_compose_replenishment_of_sensitive_product_on_store_or_call_center_names_it_neutrally(
    channel, locale
):
    item = product(SENSITIVE, "590", product_id="test-1", sensitive=True)
    out = compose(default_pack(), request("replenishment", channel, named(locale), products=(item,)))
    assert out.variant_id == "named"
    assert "clearblue" not in out.body.lower() and "беременност" not in out.body.lower()
    assert ("вы покупали у нас товар" if locale == "ru" else "you bought an item") in out.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_compose_replenishment_on_store_or_call_center_names_an_ordinary_product(channel, locale):
    item = product("Корм Purina One", "1290")
    out = compose(default_pack(), request("replenishment", channel, named(locale), products=(item,)))
    assert out.variant_id == "named"
    assert "Корм Purina One" in out.body and "7%" in out.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_compose_birthday_on_store_or_call_center_with_offer_names_offer_and_price(channel, locale):
    offer = product("Зонт складной", "1500", product_id="umbrella-1")
    out = compose(default_pack(), request("birthday", channel, named(locale), offer=offer))
    assert out.variant_id == "named_offer"
    assert "Зонт складной" in out.body
    assert ("1\u00a0500,00\u00a0₽" if locale == "ru" else "RUB\u00a01,500.00") in out.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_compose_welcome_on_store_or_call_center_new_customer_with_offer_gets_it(channel, locale):
    offer = product("Зонт складной", "1500", product_id="umbrella-1")
    out = compose(default_pack(), request("welcome", channel, named(locale), offer=offer))
    assert out.variant_id == "new_offer"
    assert "Зонт складной" in out.body
    loyal = compose(default_pack(), request("welcome", channel, named(locale, orders=6), offer=offer))
    assert loyal.variant_id == "named"  # the welcome offer is for new customers only


@pytest.mark.parametrize("order_id", ["   ", "null", "None", "undefined"])
@pytest.mark.parametrize("channel", sorted(MESSAGE_CHANNELS))
def test_compose_order_update_without_a_usable_order_id_is_unavailable(channel, order_id):
    """A blank id, or one that is nothing but a serialized null, is no order id."""
    facts = minimal_facts("order_shipped") | {"order_id": order_id}
    with pytest.raises(ContentUnavailable):
        compose(default_pack(), request("order_shipped", channel, profile(), facts=facts))


@pytest.mark.parametrize("order_id", ["W-null-7", "None-42", "NaN 2027/11", "{{7}}", "A{% 1 %}"])
@pytest.mark.parametrize("channel", sorted(MESSAGE_CHANNELS))
def test_compose_order_update_whose_order_id_spells_a_placeholder_still_goes_out(channel, order_id):
    """The order id is the customer's data: that it contains "null" or "{{" is no template leak."""
    facts = minimal_facts("order_shipped") | {"order_id": order_id}
    out = compose(default_pack(), request("order_shipped", channel, profile(), facts=facts))
    assert order_id in out.body
