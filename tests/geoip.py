"""A small City database of the tests' own, in the MaxMind DB format GeoLite2 City and DB-IP City
Lite use (written by mmdb-writer, read by maxminddb like the retailer's): a few public networks
with exact places, so a lookup has one right answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from asusual.iplocation import IpLocation

MOSCOW_IP = "95.165.10.20"
NOVOSIBIRSK_IP = "5.3.4.5"
LONDON_IP = "81.2.69.142"
MOSCOW_IPV6 = "2a02:6b8::feed:0ff"
BERLIN_IP = "80.94.1.2"  # a DB-IP Lite-like record: no time zone; Germany has two
PARIS_IP = "88.160.1.2"  # no time zone either; France has one

MOSCOW = {
    "country": {"iso_code": "RU", "names": {"en": "Russia", "ru": "Россия"}},
    "city": {"names": {"en": "Moscow", "ru": "Москва", "de": "Moskau"}},
    "location": {"time_zone": "Europe/Moscow", "latitude": 55.7522, "longitude": 37.6156},
}
# what the lookup answers for MOSCOW_IP
MOSCOW_PLACE = IpLocation(
    country="RU",
    city={"en": "Moscow", "ru": "Москва", "de": "Moskau"},
    time_zone="Europe/Moscow",
    latitude=55.7522,
    longitude=37.6156,
)
NETWORKS: dict[str, dict[str, Any]] = {
    "95.165.0.0/16": MOSCOW,
    "2a02:6b8::/32": MOSCOW,
    "5.3.0.0/16": {
        "country": {"iso_code": "RU"},
        "city": {"names": {"en": "Novosibirsk", "ru": "Новосибирск"}},
        "location": {"time_zone": "Asia/Novosibirsk", "latitude": 55.0415, "longitude": 82.9346},
    },
    "81.2.69.0/24": {
        "country": {"iso_code": "GB"},
        "city": {"names": {"en": "London", "ru": "Лондон"}},
        "location": {"time_zone": "Europe/London", "latitude": 51.5142, "longitude": -0.0931},
    },
    "80.94.0.0/16": {
        "country": {"iso_code": "DE"},
        "city": {"names": {"en": "Berlin"}},
        "location": {"latitude": 52.52, "longitude": 13.405},
    },
    "88.160.0.0/16": {"country": {"iso_code": "FR"}, "city": {"names": {"en": "Paris", "ru": "Париж"}}},
}


def build_city_database(path: Path, database_type: str = "GeoLite2-City") -> Path:
    """The test networks written to ``path`` (IPv4 within IPv6, as GeoLite2 City has them)."""
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type=database_type, languages=["en", "ru", "de"]
    )
    for network, record in NETWORKS.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
