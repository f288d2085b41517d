"""The intake places a visitor by their IP address and keeps the address off the queue
(asusual.intake.service.located)."""

import pytest

from asusual.intake.models import IntakeEvent
from asusual.intake.service import located
from asusual.iplocation import IpLocation
from tests.geoip import MOSCOW_PLACE

from ..events import event


class Locator:
    """A database that knows one address, and remembers what it was asked."""

    def __init__(self):
        self.asked = []

    def locate(self, address):
        self.asked.append(address)
        return MOSCOW_PLACE if address == "95.165.10.20" else None


def page(source="browser", **context):
    return event("page", source=source, anonymous_id="anon-1", context=context)


def test_located_context_ip_replaced_by_the_place_in_the_visitors_language_and_english():
    db = Locator()
    placed = located(page(ip="95.165.10.20", locale="ru-RU"), db, client_ip="81.2.69.142")
    assert placed.context == {"locale": "ru-RU"}
    assert placed.ip_location == IpLocation(
        country="RU", city={"en": "Moscow", "ru": "Москва"}, time_zone="Europe/Moscow", latitude=55.7522,
        longitude=37.6156,
    )  # fmt: skip
    assert db.asked == ["95.165.10.20"]  # the message's own address, not the request's


def test_located_public_source_without_context_ip_uses_the_request_address():
    db = Locator()
    placed = located(page(locale="en-GB"), db, client_ip="95.165.10.20")
    assert placed.ip_location is not None and placed.ip_location.city == {"en": "Moscow"}
    assert db.asked == ["95.165.10.20"]


def test_located_server_side_source_never_uses_the_request_address():
    db = Locator()
    placed = located(page(source="web"), db, client_ip="95.165.10.20")
    assert placed.ip_location is None and db.asked == []


def test_located_server_side_source_forwarding_the_visitors_ip_is_placed():
    placed = located(page(source="web", ip="95.165.10.20"), Locator(), client_ip="10.0.0.5")
    assert placed.ip_location is not None and placed.ip_location.country == "RU"
    assert "ip" not in placed.context


@pytest.mark.parametrize("sent", ["0.0.0.0", "", None, "10.1.2.3", "garbage", "\ud800", "9" * 5000, 42, {}])
def test_located_context_ip_opt_out_private_or_garbage_places_nobody_and_is_dropped(sent):
    db = Locator()
    placed = located(page(ip=sent), db, client_ip="95.165.10.20")  # the request address is not used
    assert (placed.ip_location, placed.context, db.asked) == (None, {}, [])


def test_located_private_request_address_no_lookup():
    db = Locator()
    assert located(page(), db, client_ip="127.0.0.1").ip_location is None
    assert located(page(), db, client_ip=None).ip_location is None
    assert db.asked == []


def test_located_without_database_still_drops_the_address():
    placed = located(page(ip="95.165.10.20", locale="ru"), None, client_ip="95.165.10.20")
    assert (placed.ip_location, placed.context) == (None, {"locale": "ru"})


def test_located_address_unknown_to_the_database_nothing_added():
    plain = page(locale="ru")
    assert located(plain, Locator(), client_ip="8.8.8.8") is plain


def test_located_event_on_the_queue_holds_the_place_and_never_the_address():
    placed = located(page(ip="95.165.10.20", locale="ru-RU"), Locator(), client_ip="81.2.69.142")
    wire = placed.model_dump_json()
    assert "95.165.10.20" not in wire and "81.2.69.142" not in wire
    assert IntakeEvent.model_validate_json(wire) == placed
    assert '"ip_location"' not in page().model_dump_json()  # absent unless located
