"""Where a customer is: the IP address is weak evidence, below everything declared or reported by a
device, and never what a message is timed by (asusual.profiles.location)."""

from asusual.identity.models import Identifier
from asusual.iplocation import IpLocation
from asusual.localtime import country_zones
from asusual.profiles.birthday import country_of, plausible_zones
from asusual.profiles.facts import contribution
from asusual.profiles.location import City, Country, PlaceEvidence
from asusual.profiles.state import ProfileState
from asusual.profiles.view import Timezone, TimezoneEvidence, present_zones, view

from ..events import event

U = frozenset({Identifier(kind="user_id", value="u1")})
MOSCOW = IpLocation(country="RU", city={"en": "Moscow", "ru": "Москва"}, time_zone="Europe/Moscow",
                    latitude=55.75, longitude=37.62)  # fmt: skip
BERLIN = IpLocation(country="DE", city={"en": "Berlin"}, time_zone="Europe/Berlin")
NOVOSIBIRSK = IpLocation(country="RU", city={"en": "Novosibirsk", "ru": "Новосибирск"},
                         time_zone="Asia/Novosibirsk")  # fmt: skip


def profile(*events):
    state = ProfileState()
    for e in events:
        state = state.join(contribution(e, U))
    return state


def visit(place=MOSCOW, minutes=0, source="browser", **context):
    return event("page", source=source, user_id="u1", minutes=minutes, ip_location=place, context=context)


def identify(minutes=1, **traits):
    return event("identify", user_id="u1", minutes=minutes, traits=traits)


def test_contribution_keeps_country_city_and_zone_never_coordinates():
    state = profile(visit())
    assert state.ip_location is not None
    assert state.ip_location.value == {
        "country": "RU",
        "city": {"en": "Moscow", "ru": "Москва"},
        "time_zone": "Europe/Moscow",
    }


def test_ip_location_latest_located_event_wins_whatever_the_order():
    early, late = visit(MOSCOW, minutes=0), visit(NOVOSIBIRSK, minutes=5)
    assert profile(early, late) == profile(late, early)
    assert profile(early, late).ip_location.value["time_zone"] == "Asia/Novosibirsk"
    # an event without a place takes nothing away
    assert profile(early, visit(None, minutes=9)).ip_location.value["time_zone"] == "Europe/Moscow"


def test_timezone_ip_alone_gives_the_zone():
    assert view("p", profile(visit())).timezone == Timezone(
        zone="Europe/Moscow", evidence=TimezoneEvidence.IP
    )


def test_timezone_declared_zone_wins_over_ip():
    state = profile(visit(), identify(timezone="Asia/Vladivostok"))
    assert view("p", state).timezone == Timezone(zone="Asia/Vladivostok", evidence=TimezoneEvidence.TRAIT)


def test_timezone_device_zone_wins_over_ip():
    state = profile(visit(NOVOSIBIRSK, timezone="Europe/Kaliningrad"))
    assert view("p", state).timezone == Timezone(zone="Europe/Kaliningrad", evidence=TimezoneEvidence.CONTEXT)


def test_timezone_store_zone_wins_over_ip():
    state = profile(
        visit(NOVOSIBIRSK), event("track", source="store", user_id="u1", event="Visited", minutes=2)
    )
    assert view("p", state).timezone == Timezone(zone="Europe/Moscow", evidence=TimezoneEvidence.SOURCE)


def test_timezone_ip_zone_off_the_devices_offset_ignored():
    # the browser says UTC+7 (Novosibirsk), the IP says Moscow (a carrier's NAT in the capital)
    assert view("p", profile(visit(MOSCOW, timezone="GMT+0700"))).timezone is None
    assert view("p", profile(visit(NOVOSIBIRSK, timezone="GMT+0700"))).timezone == Timezone(
        zone="Asia/Novosibirsk", evidence=TimezoneEvidence.IP
    )


def test_timezone_ip_zone_outside_the_declared_country_ignored():
    state = profile(visit(BERLIN), identify(address={"country": "RU"}))
    assert view("p", state).timezone is None
    assert view("p", profile(visit(NOVOSIBIRSK), identify(address={"country": "RU"}))).timezone == Timezone(
        zone="Asia/Novosibirsk", evidence=TimezoneEvidence.IP
    )


def test_plausible_zones_ip_never_narrows_the_zones_messages_go_by():
    russia = country_zones("RU")
    assert plausible_zones(profile(visit()), "RU") == russia
    assert plausible_zones(profile(visit(), identify(address={"country": "RU"})), None) == russia
    # nor supplies a country, nor replaces the deployment's: a VPN exit is no place to keep hours by
    assert plausible_zones(profile(visit(BERLIN)), None) == ()
    assert plausible_zones(profile(visit(BERLIN)), "RU") == russia
    # a device's offset still narrows, as without the IP
    narrowed = plausible_zones(profile(visit(MOSCOW, timezone="GMT+0700")), "RU")
    assert "Asia/Novosibirsk" in narrowed and "Europe/Moscow" not in narrowed


def test_country_of_never_the_ips():
    assert country_of({}, None) is None
    assert country_of({}, "KZ") == "KZ"


def test_present_zones_ip_zone_within_the_plausible_zones_or_alone():
    seen = view("p", profile(visit()))
    assert present_zones(seen, country_zones("RU")) == ("Europe/Moscow",)
    assert present_zones(seen, ()) == ("Europe/Moscow",)
    assert present_zones(seen, country_zones("KZ")) == ()  # a Moscow IP for a Kazakh shop's customer
    declared = view("p", profile(visit(), identify(timezone="Europe/Moscow")))
    assert present_zones(declared, ("Europe/Moscow",)) == ()  # nothing to add: zones tell already


def test_city_ip_city_in_the_profiles_language_else_english():
    ru = view("p", profile(visit(locale="ru-RU")))
    assert ru.city == City(name="Москва", evidence=PlaceEvidence.IP, names={"en": "Moscow", "ru": "Москва"})
    assert view("p", profile(visit(locale="de-DE"))).city.name == "Moscow"
    assert view("p", profile(visit())).city.name_in("ru") == "Москва"
    assert view("p", profile(visit(BERLIN))).city.name_in("ru") is None  # no Russian name: none


def test_city_ip_city_never_overrides_a_declared_city():
    state = profile(visit(minutes=9), identify(minutes=1, address={"city": "Тверь", "country": "RU"}))
    assert view("p", state).city == City(name="Тверь", evidence=PlaceEvidence.ADDRESS)
    assert view("p", state).city.name_in("en") == "Тверь"  # as the customer wrote it


def test_country_declared_then_phone_then_ip():
    assert view("p", profile(visit(BERLIN))).country == Country(code="DE", evidence=PlaceEvidence.IP)
    assert view("p", profile(visit(BERLIN), identify(phone="+79161234567"))).country == Country(
        code="RU", evidence=PlaceEvidence.PHONE
    )
    assert view("p", profile(visit(), identify(address={"country": "kz"}))).country == Country(
        code="KZ", evidence=PlaceEvidence.ADDRESS
    )
    assert view("p", ProfileState()).country is None and view("p", ProfileState()).city is None


def test_view_ip_evidence_holds_no_address_or_coordinates():
    dumped = view("p", profile(visit())).model_dump_json()
    assert "55.75" not in dumped and "37.62" not in dumped


def test_timezone_ip_zone_checked_against_the_offset_at_the_time_it_was_reported():
    # Europe/London is UTC+0 in November: a device reporting GMT+0100 then rules it out
    london = IpLocation(country="GB", city={"en": "London"}, time_zone="Europe/London")
    assert view("p", profile(visit(london, timezone="GMT+0100"))).timezone is None
    state = profile(visit(london, timezone="UTC+00:00"))
    assert state.context_utc_offset.value == 0
    assert view("p", state).timezone == Timezone(zone="Europe/London", evidence=TimezoneEvidence.IP)
