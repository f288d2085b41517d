"""Where the visitor is, over the local runtime with a City database of the tests' own: a shop's
page is greeted with its visitor's city and local time of day; the IP address reaches neither the
queue, nor the table, nor a log line (docs/privacy.md, "Where the visitor is")."""

from __future__ import annotations

import json
import zlib

import pytest

from asusual.local.gateway import api_gateway_event
from asusual.local.runtime import LocalContext, LocalRuntime
from asusual.store import clients
from asusual.store.profiles import data_json
from tests.geoip import BERLIN_IP, LONDON_IP, MOSCOW_IP, NOVOSIBIRSK_IP, build_city_database
from tests.integration.conftest import Answer, basic

PAGE = "http://127.0.0.1:5173"
BROWSER = "browser_local_key"


@pytest.fixture
def runtime(clock, tmp_path, monkeypatch):
    """The local runtime with ASUSUAL_GEOIP_DATABASE set to the tests' City database."""
    monkeypatch.setenv("ASUSUAL_GEOIP_DATABASE", str(build_city_database(tmp_path / "city.mmdb")))
    with LocalRuntime(clock=clock) as rt:
        yield rt


def post(path, message, *, source_ip, key=BROWSER, origin=PAGE):
    """One message as a page's browser (or a shop's server) sends it, from ``source_ip``."""
    from functions.intake_api import handler

    headers = {"content-type": "application/json", "authorization": basic(key)}
    if origin:
        headers["origin"] = origin
    event = api_gateway_event("POST", path, headers, json.dumps(message).encode(), source_ip=source_ip)
    result = handler.lambda_handler(event, LocalContext("intake_api"))
    assert result["statusCode"] == 200 and json.loads(result["body"]) == {"success": True}, result


def ask(anonymous_id, locale=None):
    from functions.decide_api import handler

    headers = {"content-type": "application/json", "authorization": basic(BROWSER), "origin": PAGE}
    body = {
        "anonymous_id": anonymous_id,
        "placement": "site_greeting",
        **({"locale": locale} if locale else {}),
    }
    event = api_gateway_event("POST", "/v1/decide/visitor", headers, json.dumps(body).encode())
    result = handler.lambda_handler(event, LocalContext("decide_api"))
    answer = Answer(result["statusCode"], result.get("headers") or {}, (result.get("body") or "").encode())
    assert answer.status == 200, answer.body
    return answer.json()


def _readable(value: object) -> str:
    """A binary attribute as text: a profile's zlib-compressed JSON unpacked, anything else in hex."""
    assert isinstance(value, bytes)
    try:
        return data_json(value).decode()
    except zlib.error:
        return value.hex()


def table_text(runtime) -> str:
    """Every item of the table, profiles unpacked: what a search for an address would read."""
    items = clients.dynamodb().scan(TableName=runtime.table_name)["Items"]
    return json.dumps(items, ensure_ascii=False, default=_readable)


def test_browser_visitor_from_moscow_greeted_with_the_city_and_local_time(runtime, queued, log_text):
    # analytics-next sends no context.ip: the request's address places the visitor
    post(
        "/v1/p",
        {"anonymousId": "anon-1", "name": "Home", "context": {"locale": "ru-RU"}},
        source_ip=MOSCOW_IP,
    )
    waiting = queued()
    assert len(waiting) == 1
    assert waiting[0].ip_location.kept() == {
        "country": "RU",
        "city": {"en": "Moscow", "ru": "Москва"},
        "time_zone": "Europe/Moscow",
    }
    assert MOSCOW_IP not in json.dumps([m["Body"] for m in runtime.peek("events")])
    runtime.run()
    answer = ask("anon-1")  # 12:00 in Moscow; the deployment's RU zones alone would disagree
    assert (answer["greeting"], answer["text"]) == ("Добрый день", "Добрый день, Москва!")
    assert answer["context"]["daypart"] == "day"
    assert ask("anon-1", locale="en")["text"] == "Good afternoon, Moscow!"
    stored = table_text(runtime)
    assert "Москва" in stored and MOSCOW_IP not in stored
    assert MOSCOW_IP not in log_text()


def test_browser_visitor_context_ip_wins_over_the_request_address(runtime):
    post(
        "/v1/p",
        {"anonymousId": "anon-2", "context": {"ip": NOVOSIBIRSK_IP, "locale": "ru"}},
        source_ip=MOSCOW_IP,
    )
    runtime.run()
    assert ask("anon-2")["text"] == "Добрый день, Новосибирск!"  # 16:00 in Novosibirsk
    assert NOVOSIBIRSK_IP not in table_text(runtime)


def test_browser_visitor_behind_a_vpn_abroad_gets_the_neutral_greeting(runtime):
    post("/v1/p", {"anonymousId": "anon-3", "context": {"locale": "ru"}}, source_ip=LONDON_IP)
    runtime.run()
    # a London exit for a shop whose customers are in Russia: its zone is none of Russia's
    assert ask("anon-3")["text"] == "Здравствуйте!"


def test_server_side_source_is_never_placed_by_its_own_servers_address(runtime, profile, queued):
    message = {"userId": "u-1", "traits": {"firstName": "Анна"}, "context": {"locale": "ru"}}
    post("/v1/identify", message, key="web_local_key", origin=None, source_ip=BERLIN_IP)
    assert queued()[0].ip_location is None
    forwarded = {"userId": "u-1", "name": "Home", "context": {"ip": MOSCOW_IP, "locale": "ru-RU"}}
    post("/v1/page", forwarded, key="web_local_key", origin=None, source_ip=BERLIN_IP)
    runtime.run()
    seen = profile("user_id", "u-1")
    assert seen["city"] == {"name": "Москва", "evidence": "ip", "names": {"en": "Moscow", "ru": "Москва"}}
    assert seen["country"] == {"code": "RU", "evidence": "ip"}
    assert seen["timezone"] == {"zone": "Europe/Moscow", "evidence": "ip"}
    assert MOSCOW_IP not in json.dumps(seen) and BERLIN_IP not in table_text(runtime)
