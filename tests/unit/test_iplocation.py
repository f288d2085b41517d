"""Which addresses are looked up, and what of a City database's record is kept (asusual.iplocation)."""

import pytest

from asusual.iplocation import IpLocation, from_record, languages_for, lookup_address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("95.165.10.20", "95.165.10.20"),
        (" 95.165.10.20 ", "95.165.10.20"),
        ("2A02:6B8::FEED:0FF", "2a02:6b8::feed:ff"),
        ("::ffff:95.165.1.1", "95.165.1.1"),  # IPv4-mapped IPv6: looked up as its IPv4
    ],
)
def test_lookup_address_public_addresses_normalized(raw, expected):
    assert lookup_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",  # private
        "127.0.0.1",
        "::1",  # loopback
        "169.254.1.1",
        "fe80::1",
        "fe80::1%eth0",  # link-local, scoped
        "100.64.0.1",  # shared address space (carrier NAT)
        "0.0.0.0",
        "::",  # unspecified: Segment's clients send 0.0.0.0 to opt out
        "192.0.2.1",
        "2001:db8::1",  # documentation
        "224.0.0.1",
        "ff02::1",  # multicast
        "240.0.0.1",
        "255.255.255.255",  # reserved, broadcast
        "fc00::1",  # unique local
        "",
        "   ",
        "not an ip",
        "95.165.10",
        "95.165.10.20.1",
        "95.165.10.256",
        "1.2.3.4:80",
        "http://95.165.10.20/",
        "x" * 10_000,
        "9" * 46,
        "95.165.10.20\x00",
        "\ud800",
        "95.165.\udc00.20",  # lone surrogates
        "\u0669\u0665.\u0661\u0666\u0665.\u0661\u0660.\u0662\u0660",  # Arabic-Indic digits
        95,
        1604127252,
        None,
        True,
        ["95.165.10.20"],
        {"ip": "95.165.10.20"},
        9.5,
    ],
)
def test_lookup_address_private_reserved_or_garbage_none(raw):
    assert lookup_address(raw) is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru-RU", ("ru-RU", "ru", "en")),
        ("ru_ru", ("ru-RU", "ru", "en")),
        ("pt-BR", ("pt-BR", "pt", "en")),
        ("en", ("en",)),
        ("EN-gb", ("en-GB", "en")),
        (None, ("en",)),
        ("", ("en",)),
        (42, ("en",)),
        ("x" * 200, ("en",)),
        ("1234", ("en",)),
    ],
)
def test_languages_for_locale_its_language_and_english(locale, expected):
    assert languages_for(locale) == expected


GEOLITE_RECORD = {
    "continent": {"code": "EU"},
    "country": {"iso_code": "RU", "names": {"en": "Russia"}},
    "city": {"geoname_id": 524901, "names": {"en": "Moscow", "ru": "Москва", "zh-CN": "莫斯科"}},
    "location": {
        "time_zone": "Europe/Moscow",
        "latitude": 55.7522,
        "longitude": 37.6156,
        "accuracy_radius": 20,
    },
    "subdivisions": [{"iso_code": "MOW"}],
}


def test_from_record_geolite_city_record_country_city_zone_and_coordinates():
    assert from_record(GEOLITE_RECORD) == IpLocation(
        country="RU",
        city={"en": "Moscow", "ru": "Москва", "zh-CN": "莫斯科"},
        time_zone="Europe/Moscow",
        latitude=55.7522,
        longitude=37.6156,
    )


def test_from_record_dbip_lite_without_zone_single_zone_country_gives_it():
    record = {
        "country": {"iso_code": "fr"},
        "city": {"names": {"en": "Paris"}},
        "location": {"latitude": 48.85},
    }
    assert from_record(record) == IpLocation(
        country="FR", city={"en": "Paris"}, time_zone="Europe/Paris", latitude=48.85
    )


def test_from_record_without_zone_several_zone_country_gives_no_zone():
    record = {"country": {"iso_code": "DE"}, "city": {"names": {"en": "Berlin"}}}
    assert from_record(record) == IpLocation(country="DE", city={"en": "Berlin"})


def test_from_record_unknown_zone_region_code_bad_names_and_coordinates_dropped():
    record = {
        "country": {"iso_code": "EU"},  # a region some databases give, not a country
        "city": {"names": {"en": "  ", "ru": "x" * 101, "bad lang": "X", "de": 5, "fr": "Lyon"}},
        "location": {"time_zone": "Mars/Olympus", "latitude": 91.0, "longitude": float("nan")},
    }
    assert from_record(record) == IpLocation(city={"fr": "Lyon"})


@pytest.mark.parametrize(
    "record",
    [
        None,
        "RU",
        [],
        {},
        {"country": "RU"},
        {"location": {"time_zone": "Nowhere/Else"}},
        {"city": {"names": []}},
    ],
)
def test_from_record_nothing_usable_none(record):
    assert from_record(record) is None


def test_in_languages_and_kept_keep_no_coordinates_and_only_asked_languages():
    place = from_record(GEOLITE_RECORD)
    assert place is not None
    trimmed = place.in_languages(languages_for("ru-RU"))
    assert trimmed.city == {"en": "Moscow", "ru": "Москва"}  # zh-CN is not the visitor's language
    assert trimmed.kept() == {
        "country": "RU",
        "city": {"en": "Moscow", "ru": "Москва"},
        "time_zone": "Europe/Moscow",
    }
    assert IpLocation().kept() == {}
