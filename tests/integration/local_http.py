"""One JSON call over real HTTP to a local gateway (the tests of `make serve` use it)."""

import json
import urllib.error
import urllib.request


def http(gateway, method, path, body=None, key="admin_local_key", timeout=120):
    """(status, decoded JSON) of ``method path`` with a Bearer ``key`` (None: no key)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(gateway.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def welcome_of_anna(gateway, at: str) -> dict:
    """Anna (Russian, Moscow) subscribes to marketing email through the shop's backend at ``at``;
    her welcome email, from the local outbox (the pages' tests open its links)."""
    identify = {
        "type": "identify",
        "userId": "u-anna",
        "timestamp": at,
        "traits": {
            "email": "anna@example.com",
            "firstName": "Анна",
            "locale": "ru-RU",
            "timezone": "Europe/Moscow",
            "subscriptions": {"email": {"marketing": True, "consent_version": "2026-01"}},
        },
    }
    assert http(gateway, "POST", "/v1/batch", {"batch": [identify]}, key="web_local_key")[0] == 200
    assert http(gateway, "POST", "/_local/run")[0] == 200
    [message] = [m for m in http(gateway, "GET", "/_local/outbox")[1] if m["trigger"] == "welcome"]
    return message
