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
