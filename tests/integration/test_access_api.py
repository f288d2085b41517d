"""Sources and keys over the admin API end to end on moto (GET/POST /v1/sources,
POST /v1/sources/{id}/rotate, DELETE /v1/sources/{id}, GET/POST /v1/keys, DELETE /v1/keys/{id}):
a new key works at once, a rotated-out key works for the overlap, a revoked one stops within the
key cache's minute; no answer but the one creating a key carries key material."""

import re
from datetime import timedelta

import pytest

from asusual.access.keys import hash_key
from asusual.local.runtime import ADMIN_KEY, READ_KEY
from asusual.settings import get_settings
from tests.integration.api_calls import call

SOURCE = {"source_id": "pos-msk", "name": "POS Moscow", "channel": "store", "timezone": "Europe/Moscow",
          "country": "ru", "store_id": "msk-01"}  # fmt: skip
TRACK = {"userId": "u-1", "event": "Order Completed"}
FULL_HASH = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def api(runtime):
    """Call any API route with the admin key (key=None: no key)."""

    def request(method, target, body=None, key=ADMIN_KEY, auth="bearer"):
        return call(runtime, method, target, key=key, body=body, auth=auth)

    return request


@pytest.fixture
def cache_ttl(runtime) -> timedelta:
    return timedelta(seconds=get_settings().key_cache_seconds)


def create_source(api, **fields):
    answer = api("POST", "/v1/sources", {**SOURCE, **fields})
    assert answer.status == 201, answer.body
    return answer.json()


def test_create_source_answers_its_write_key_once_and_the_key_works_on_intake(api, intake, queued, clock):
    answer = api("POST", "/v1/sources", SOURCE)
    assert answer.status == 201, answer.body
    assert answer.headers.get("Cache-Control") == "no-store"
    created = answer.json()
    key = created["key"]
    assert key.startswith("asu_w_") and created["key_id"] == hash_key(key)[:12]
    assert created["scope"] == "write" and created["source_id"] == "pos-msk"
    assert created["source"] == {
        **SOURCE, "country": "RU", "rate_limit": None, "burst": None, "status": "active", "public": False,
        "allowed_origins": [],
        "created_at": clock.now().isoformat().replace("+00:00", "Z"),
    }  # fmt: skip
    assert intake("/v1/track", TRACK, key=key).status == 200
    [event] = queued()
    assert event.source.source_id == "pos-msk" and event.source.store_id == "msk-01"
    listed = api("GET", "/v1/sources")
    assert listed.status == 200 and key.encode() not in listed.body
    assert {s["source_id"]: s for s in listed.json()["sources"]}["pos-msk"]["status"] == "active"
    keys = api("GET", "/v1/keys")
    assert keys.status == 200 and key.encode() not in keys.body and not FULL_HASH.search(keys.body.decode())
    [mine] = [k for k in keys.json()["keys"] if k["key_id"] == created["key_id"]]
    assert mine == {
        "key_id": created["key_id"], "scope": "write", "status": "active", "usable": True,
        "label": "write key of pos-msk", "source_id": "pos-msk", "created_at": created["created_at"],
        "not_after": None,
    }  # fmt: skip


def test_a_source_id_taken_is_409(api):
    create_source(api)
    answer = api("POST", "/v1/sources", {**SOURCE, "name": "another"})
    assert answer.status == 409 and answer.json()["message"].startswith("source_id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SOURCE, "source_id": "POS Moscow"}, "source_id"),
        ({**SOURCE, "channel": "fax"}, "channel"),
        ({**SOURCE, "timezone": "Mars/Olympus"}, "timezone"),
        ({**SOURCE, "country": "Russia"}, "country"),
        ({**SOURCE, "rate_limit": 0}, "rate_limit"),
        ({**SOURCE, "burst": -1}, "burst"),
        ({**SOURCE, "status": "revoked"}, "status"),
        ({k: v for k, v in SOURCE.items() if k != "name"}, "name"),
        (["not", "an", "object"], "body"),
        (None, "body"),
    ],
)
def test_invalid_source_is_400_naming_the_field(api, body, field):
    answer = api("POST", "/v1/sources", body)
    assert answer.status == 400, answer.body
    assert answer.json()["message"].startswith(f"{field}:"), answer.json()
    assert "pos-msk" not in [s["source_id"] for s in api("GET", "/v1/sources").json()["sources"]]


def test_rotation_keeps_both_keys_for_the_overlap_then_refuses_the_old_one(api, intake, clock):
    old = create_source(api)["key"]
    assert intake("/v1/track", TRACK, key=old).status == 200  # cached by the warm intake container
    start = clock.now()
    answer = api("POST", "/v1/sources/pos-msk/rotate", {"overlap_hours": 2})
    assert answer.status == 200, answer.body
    assert answer.headers.get("Cache-Control") == "no-store"
    rotated = answer.json()
    new = rotated["key"]
    assert new != old and new.startswith("asu_w_") and rotated["key_id"] == hash_key(new)[:12]
    assert rotated["old_keys_expire_at"] == (start + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    for minutes in (0, 119):
        clock.set(start + timedelta(minutes=minutes))
        assert intake("/v1/track", TRACK, key=old).status == 200, minutes
        assert intake("/v1/track", TRACK, key=new).status == 200, minutes
    clock.set(start + timedelta(hours=2))
    assert intake("/v1/track", TRACK, key=old).status == 401
    assert intake("/v1/track", TRACK, key=new).status == 200
    listed = {k["key_id"]: k for k in api("GET", "/v1/keys").json()["keys"]}
    assert listed[hash_key(old)[:12]]["not_after"] == rotated["old_keys_expire_at"]
    assert not listed[hash_key(old)[:12]]["usable"] and listed[rotated["key_id"]]["usable"]


def test_rotation_overlap_defaults_to_the_setting_and_may_come_in_the_query(api, clock):
    create_source(api)
    default = api("POST", "/v1/sources/pos-msk/rotate")
    assert default.status == 200, default.body
    hours = get_settings().rotation_overlap_hours
    assert hours == 24
    expected = clock.now() + timedelta(hours=hours)
    assert default.json()["old_keys_expire_at"] == expected.isoformat().replace("+00:00", "Z")
    query = api("POST", "/v1/sources/pos-msk/rotate?overlap_hours=0.5")
    expected = clock.now() + timedelta(minutes=30)
    assert query.status == 200 and query.json()["old_keys_expire_at"] == expected.isoformat().replace(
        "+00:00", "Z"
    )


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/v1/sources/pos-msk/rotate", {"overlap_hours": -1}),
        ("/v1/sources/pos-msk/rotate", {"overlap_hours": 721}),
        ("/v1/sources/pos-msk/rotate", {"overlap": 1}),
        ("/v1/sources/pos-msk/rotate?overlap_hours=-1", None),
        ("/v1/sources/pos-msk/rotate?overlap_hours=soon", None),
        ("/v1/sources/pos-msk/rotate?overlap_hours=1", {"overlap_hours": 2}),
    ],
)
def test_invalid_overlap_is_400_naming_it(api, target, body):
    create_source(api)
    answer = api("POST", target, body)
    assert answer.status == 400, answer.body
    assert answer.json()["message"].startswith(("overlap_hours", "overlap:")), answer.json()


def test_revoking_a_source_refuses_its_keys_within_the_key_cache_ttl(api, intake, clock, cache_ttl):
    warm = create_source(api)["key"]
    cold = api("POST", "/v1/sources/pos-msk/rotate", {"overlap_hours": 24}).json()["key"]
    assert intake("/v1/track", TRACK, key=warm).status == 200  # the intake container caches it
    answer = api("DELETE", "/v1/sources/pos-msk")
    assert answer.status == 200, answer.body
    assert answer.json()["source_id"] == "pos-msk" and answer.json()["status"] == "revoked"
    assert intake("/v1/track", TRACK, key=cold).status == 401  # not cached anywhere: refused at once
    # a warm container still accepts the key it cached, for at most the cache's TTL ...
    assert intake("/v1/track", TRACK, key=warm).status == 200
    clock.advance(cache_ttl + timedelta(seconds=1))
    # ... the documented bound: refused everywhere within a minute
    assert cache_ttl <= timedelta(minutes=1)
    assert intake("/v1/track", TRACK, key=warm).status == 401
    assert intake("/v1/track", TRACK, key=cold).status == 401
    listed = [k for k in api("GET", "/v1/keys").json()["keys"] if k["source_id"] == "pos-msk"]
    assert len(listed) == 2 and all(k["status"] == "revoked" and not k["usable"] for k in listed)
    sources = {s["source_id"]: s for s in api("GET", "/v1/sources").json()["sources"]}
    assert sources["pos-msk"]["status"] == "revoked" and sources["web_local"]["status"] == "active"
    for method, target in (("POST", "/v1/sources/pos-msk/rotate"), ("DELETE", "/v1/sources/pos-msk")):
        again = api(method, target)  # a revoked source stays revoked: 409, not 403 (which is for scopes)
        assert again.status == 409 and "revoked" in again.json()["message"], again.body


def test_unknown_source_is_404_on_rotate_and_revoke(api):
    for method, target in (("POST", "/v1/sources/nope/rotate"), ("DELETE", "/v1/sources/nope")):
        answer = api(method, target)
        assert answer.status == 404 and answer.json()["message"].startswith("source_id"), answer.body


def test_read_and_admin_keys_are_created_listed_without_secrets_and_revoked_by_key_id(api, clock, cache_ttl):
    read = api("POST", "/v1/keys", {"scope": "read", "label": "site greeting"})
    admin = api("POST", "/v1/keys", {"scope": "admin", "label": "ops"})
    assert read.status == admin.status == 201 and read.headers.get("Cache-Control") == "no-store"
    read_key, admin_key = read.json()["key"], admin.json()["key"]
    assert read_key.startswith("asu_r_") and admin_key.startswith("asu_a_")
    assert read.json()["key_id"] == hash_key(read_key)[:12] and read.json()["source_id"] is None
    # each works for its scope at once
    assert api("GET", "/v1/profiles/user_id/nobody", key=read_key).status == 404
    assert api("GET", "/v1/sources", key=read_key).status == 403
    listed = api("GET", "/v1/keys", key=admin_key)
    assert listed.status == 200
    text = listed.body.decode()
    assert read_key not in text and admin_key not in text and ADMIN_KEY not in text
    assert not FULL_HASH.search(text) and hash_key(read_key) not in text
    rows = {k["key_id"]: k for k in listed.json()["keys"]}
    assert rows[read.json()["key_id"]] | {"created_at": None} == {
        "key_id": read.json()["key_id"], "scope": "read", "status": "active", "usable": True,
        "label": "site greeting", "source_id": None, "created_at": None, "not_after": None,
    }  # fmt: skip
    assert rows[admin.json()["key_id"]]["scope"] == "admin"
    assert all(set(row) == set(rows[read.json()["key_id"]]) for row in rows.values())
    # revoke by id: the read key was used (cached by the profiles container), the admin key too
    revoked = api("DELETE", f"/v1/keys/{read.json()['key_id']}", key=admin_key)
    assert revoked.status == 200, revoked.body
    assert revoked.json()["status"] == "revoked" and not revoked.json()["usable"]
    assert read_key not in revoked.body.decode()
    assert api("GET", "/v1/profiles/user_id/nobody", key=read_key).status == 404  # cached: still works
    clock.advance(cache_ttl + timedelta(seconds=1))
    assert api("GET", "/v1/profiles/user_id/nobody", key=read_key).status == 401
    assert api("DELETE", f"/v1/keys/{admin.json()['key_id']}").status == 200
    clock.advance(cache_ttl + timedelta(seconds=1))
    assert api("GET", "/v1/keys", key=admin_key).status == 401


def test_a_key_never_used_is_refused_as_soon_as_it_is_revoked(api):
    created = api("POST", "/v1/keys", {"scope": "admin", "label": "temp"}).json()
    assert api("DELETE", f"/v1/keys/{created['key_id']}").status == 200
    assert api("GET", "/v1/keys", key=created["key"]).status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "write", "label": "x"}, "scope"),
        ({"scope": "owner", "label": "x"}, "scope"),
        ({"label": "x"}, "scope"),
        ({"scope": "read"}, "label"),
        ({"scope": "read", "label": ""}, "label"),
        ({"scope": "read", "label": "x", "source_id": "web_local"}, "source_id"),
    ],
)
def test_invalid_key_request_is_400_naming_the_field_and_write_keys_are_refused(api, body, field):
    before = len(api("GET", "/v1/keys").json()["keys"])
    answer = api("POST", "/v1/keys", body)
    assert answer.status == 400, answer.body
    assert answer.json()["message"].startswith(f"{field}:"), answer.json()
    assert len(api("GET", "/v1/keys").json()["keys"]) == before


def test_revoking_a_key_id_is_400_when_malformed_and_404_when_unknown(api):
    assert api("DELETE", "/v1/keys/not-a-key-id").json()["message"].startswith("key_id")
    assert api("DELETE", "/v1/keys/not-a-key-id").status == 400
    unknown = api("DELETE", "/v1/keys/0123456789ab")
    assert unknown.status == 404 and unknown.json()["message"].startswith("key_id")


def test_basic_authorization_works_for_the_admin_routes_too(api):
    assert api("GET", "/v1/keys", auth="basic").status == 200
    assert api("GET", "/v1/keys", key=READ_KEY, auth="basic").status == 403


@pytest.mark.parametrize("target", ["/v1/sources", "/v1/keys", "/v1/sources/web_local/rotate"])
def test_a_body_that_is_not_utf8_is_400_invalid_json_not_a_server_error(runtime, target):
    from asusual.local.gateway import api_gateway_event
    from tests.integration.api_calls import authorization, invoke

    headers = {"content-type": "application/json", "authorization": authorization(ADMIN_KEY, "bearer")}
    answer = invoke(runtime, api_gateway_event("POST", target, headers, b'{"name": "\xff\xfe"}'))
    assert answer.status == 400 and answer.json()["code"] == "invalid_json", answer.body
