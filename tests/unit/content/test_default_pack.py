"""Every template of the shipped pack, for a customer we know nothing about and for one we know well."""

# ruff: noqa: RUF001  (Russian copy under test: Cyrillic letters that look Latin are intended)

from datetime import UTC, datetime

import pytest

from asusual.content.pack import PLACEMENTS
from asusual.content.render import Rendered, compose, default_pack, leak
from tests.unit.content import NOW, UNSUBSCRIBE_URL, WHY_URL, minimal_facts, product, profile, request

ENTRIES = [(trigger, channel, locale) for trigger, channel, locale, _ in default_pack().entries()]
MESSAGE_CHANNELS = {"email", "sms", "push", "store", "call_center"}
PILLS = "Но-шпа форте"
# anyone can type anyone's address and name into a shop's form: a confirmation never names anyone
NEVER_BY_NAME = {"consent_confirmation"}


def ids(entry: tuple[str, str, str]) -> str:
    return ".".join(entry)


def minimal(trigger: str, channel: str, locale: str) -> Rendered:
    """No name, no zone, no orders, no products, no offer: only the intent's own facts."""
    who = profile(locale=locale)
    facts = {} if trigger in PLACEMENTS else minimal_facts(trigger)
    return compose(default_pack(), request(trigger, channel, who, facts=facts))


def full(trigger: str, channel: str, locale: str, *, now: datetime = NOW, orders: int = 6) -> Rendered:
    names = (
        {"first_name": "Анна", "middle_name": "Сергеевна", "last_name": "Иванова"}
        if locale == "ru"
        else {"first_name": "Anna", "last_name": "Smith"}
    )
    who = profile(orders=orders, gender="female", locale=locale, timezone="Europe/Moscow", **names)
    facts = {} if trigger in PLACEMENTS else minimal_facts(trigger)
    if trigger.startswith("order_"):
        facts["details"] = {
            "tracking_number": "RA123456789RU",
            "tracking_url": "https://track.example/RA123456789RU",
            "carrier": "Почта России",
            "pickup_location": "Москва, Тверская, 5",
        }
    lines = (
        product("Корм Purina One", "1290", quantity=2.0),
        product(PILLS, "250", product_id="sku_rx", sensitive=True),
    )
    if trigger == "replenishment":
        lines = lines[:1]
    return compose(
        default_pack(),
        request(
            trigger,
            channel,
            who,
            zones=("Europe/Moscow",),
            country="RU",
            now=now,
            facts=facts,
            products=lines if trigger not in PLACEMENTS else (),
            offer=product("Зонт складной", "1500", product_id="sku_umbrella"),
            unsubscribe_url=UNSUBSCRIBE_URL if channel == "email" else None,
        ),
    )


def assert_clean(out: Rendered, trigger: str, channel: str, locale: str) -> None:
    assert out.locale == locale
    assert out.template_id == f"{trigger}.{channel}"
    assert leak(out.body) is None, out.body
    assert out.why.strip() and leak(out.why) is None
    assert out.greeting.strip()
    if out.subject is not None:
        assert leak(out.subject) is None
    if channel == "email":
        assert out.subject and out.html
    if trigger in PLACEMENTS:
        assert WHY_URL not in out.body
    else:
        assert channel in MESSAGE_CHANNELS
        assert out.why in out.body and WHY_URL in out.body


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_default_pack_minimal_profile_renders(entry):
    out = minimal(*entry)
    assert_clean(out, *entry)
    assert out.context["daypart"] is None and out.context["season"] is None


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_default_pack_full_profile_renders_a_warmer_variant(entry):
    _, channel, locale = entry
    out = full(*entry)
    assert_clean(out, *entry)
    name = "Анна" if locale == "ru" else "Anna"
    if entry[0] in NEVER_BY_NAME:
        text = f"{out.subject}\n{out.body}"
        assert all(part not in text for part in (name, "Smith", "Иванова"))
        return
    assert (
        name in out.body
        or name in (out.subject or "")
        or "Ms Smith" in out.body
        or out.variant_id != "fallback"
    )
    off_email = [out.subject or "", out.why] + ([] if channel == "email" else [out.body])
    assert all("но-шпа" not in text.lower() for text in off_email)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_default_pack_new_customer_never_welcomed_back(entry):
    out = full(*entry, orders=1)
    text = f"{out.subject or ''}\n{out.body}".lower()
    for phrase in ("снова", "вновь", "again", "welcome back"):
        assert phrase not in text


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e[1] == "sms"], ids=ids)
def test_default_pack_sms_stays_within_three_segments(entry):
    # A Cyrillic SMS segment holds 67 characters when concatenated; the body carries the why
    # line and its link, so three segments is the practical ceiling for the fullest variant.
    out = full(*entry)
    assert len(out.body) <= 3 * 67, (len(out.body), out.body)


def test_default_pack_holiday_named_only_when_every_zone_agrees():
    christmas = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    out = full("site_greeting", "web", "ru", now=christmas)
    assert out.variant_id == "holiday"


def test_default_pack_is_loaded_once():
    assert default_pack() is default_pack()
