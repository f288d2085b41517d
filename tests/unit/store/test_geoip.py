"""The IP lookup adapter over a City database the tests build (tests/geoip.py)."""

import pytest

from asusual.iplocation import IpLocation
from asusual.store.geoip import GeoipDatabaseError, locator, open_locator
from tests.geoip import (
    BERLIN_IP,
    LONDON_IP,
    MOSCOW_IP,
    MOSCOW_IPV6,
    MOSCOW_PLACE,
    NOVOSIBIRSK_IP,
    PARIS_IP,
    build_city_database,
)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return str(build_city_database(tmp_path_factory.mktemp("geoip") / "city.mmdb"))


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (MOSCOW_IP, MOSCOW_PLACE),
        (MOSCOW_IPV6, MOSCOW_PLACE),
        (
            NOVOSIBIRSK_IP,
            IpLocation(
                country="RU",
                city={"en": "Novosibirsk", "ru": "Новосибирск"},
                time_zone="Asia/Novosibirsk",
                latitude=55.0415,
                longitude=82.9346,
            ),
        ),
        (
            LONDON_IP,
            IpLocation(
                country="GB",
                city={"en": "London", "ru": "Лондон"},
                time_zone="Europe/London",
                latitude=51.5142,
                longitude=-0.0931,
            ),
        ),
        (BERLIN_IP, IpLocation(country="DE", city={"en": "Berlin"}, latitude=52.52, longitude=13.405)),
        (PARIS_IP, IpLocation(country="FR", city={"en": "Paris", "ru": "Париж"}, time_zone="Europe/Paris")),
    ],
)
def test_locate_test_networks_exact_place(database, address, expected):
    assert open_locator(database).locate(address) == expected


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "10.0.0.1", "not an ip", ""])
def test_locate_address_outside_database_or_no_address_none(database, address):
    assert open_locator(database).locate(address) is None


def test_locate_ipv6_in_ipv4_only_database_none(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="DBIP-City-Lite")
    writer.insert_network(IPSet(["95.165.0.0/16"]), {"country": {"iso_code": "RU"}})
    writer.to_db_file(str(tmp_path / "v4.mmdb"))
    located = open_locator(str(tmp_path / "v4.mmdb"))
    assert located.locate(MOSCOW_IP) == IpLocation(country="RU")
    assert located.locate(MOSCOW_IPV6) is None


def test_open_locator_opens_once_per_process(database):
    assert open_locator(database) is open_locator(database)
    assert locator(database) is open_locator(database)


def test_locator_unset_none():
    assert locator(None) is None
    assert locator("") is None


def test_open_locator_missing_file_refuses_naming_the_variable(tmp_path):
    path = str(tmp_path / "absent.mmdb")
    with pytest.raises(GeoipDatabaseError, match=r"ASUSUAL_GEOIP_DATABASE='.*absent\.mmdb' does not open"):
        open_locator(path)


def test_open_locator_not_a_database_refuses(tmp_path):
    path = tmp_path / "garbage.mmdb"
    path.write_bytes(b"\x00" * 4096)
    with pytest.raises(GeoipDatabaseError, match="does not open as a MaxMind database"):
        open_locator(str(path))


def test_open_locator_country_database_refuses_naming_its_type(tmp_path):
    path = build_city_database(tmp_path / "country.mmdb", database_type="GeoLite2-Country")
    with pytest.raises(GeoipDatabaseError, match="is a 'GeoLite2-Country' database; a City database"):
        open_locator(str(path))
