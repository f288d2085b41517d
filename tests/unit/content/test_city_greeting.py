"""Greetings may name the city: the declared one, else the IP's in the reader's language; the IP's
zone may tell a page's time of day, never a message's (asusual.profiles.location)."""

from asusual.content.render import compose, default_pack
from asusual.localtime import country_zones
from asusual.profiles.state import ProfileState, Stamped
from asusual.profiles.view import view
from tests.unit.content import NOW, profile, request

RU = country_zones("RU")


def visitor(place, **traits):
    """A visitor the intake placed (an anonymous profile: no name), with ``traits`` declared."""
    at = NOW.replace(hour=8)
    state = ProfileState(
        traits={k: Stamped(value=v, at=at, msg=f"t_{k}") for k, v in traits.items()},
        ip_location=Stamped(value=place, at=at, msg="m_page"),
        first_seen=at,
        last_seen=at,
    )
    return view("p_visitor", state)


MOSCOW = {"country": "RU", "city": {"en": "Moscow", "ru": "Москва"}, "time_zone": "Europe/Moscow"}
BERLIN = {"country": "DE", "city": {"en": "Berlin"}, "time_zone": "Europe/Berlin"}


def greet(who, zones=RU, locale=None, trigger="site_greeting", channel="web"):
    base = request(trigger, channel, who, facts={}, zones=zones)
    return compose(default_pack(), base.model_copy(update={"locale": locale}) if locale else base)


def test_site_greeting_ip_city_and_ip_zones_daypart_for_a_visitor():
    out = greet(visitor(MOSCOW))  # 12:00 in Moscow; the deployment's RU zones disagree on the daypart
    assert (out.greeting, out.body, out.variant_id) == ("Добрый день", "Добрый день, Москва!", "city")
    assert out.context["daypart"] == "day"
    english = greet(visitor(MOSCOW), locale="en")
    assert english.body == "Good afternoon, Moscow!"


def test_site_greeting_ip_city_without_a_name_in_the_locale_not_named():
    out = greet(visitor(BERLIN), zones=())  # nothing else known: the IP's zone alone (11:00 in Berlin)
    assert (out.body, out.variant_id) == ("Доброе утро!", "fallback")
    assert greet(visitor(BERLIN), zones=(), locale="en").body == "Good morning, Berlin!"


def test_site_greeting_ip_zone_outside_the_plausible_zones_neutral():
    out = greet(visitor(BERLIN))  # a Berlin address for a shop whose customers are in Russia: a VPN
    assert (out.greeting, out.body) == ("Здравствуйте", "Здравствуйте!")
    assert out.context["daypart"] is None


def test_site_greeting_declared_city_wins_over_the_ips():
    out = greet(visitor(MOSCOW, address={"city": "Тверь", "country": "RU"}))
    assert out.body == "Добрый день, Тверь!"


def test_site_greeting_named_customer_is_greeted_by_name_not_city():
    out = greet(visitor(MOSCOW, first_name="Анна"))
    assert out.body == "Добрый день, Анна! Рады, что вы с нами."  # noqa: RUF001


def test_message_never_timed_by_the_ip_zone():
    # a message is read later: its daypart comes from the zones alone, whatever the IP said
    out = compose(default_pack(), request("welcome", "email", visitor(MOSCOW), zones=RU))
    assert out.context["daypart"] is None


def test_no_city_no_city_variant():
    out = greet(profile(), zones=("Europe/Moscow",))
    assert (out.body, out.variant_id) == ("Добрый день!", "fallback")
