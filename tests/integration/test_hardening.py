"""Issue "hardening": no event can poison a customer, outvote her unsubscribe, or lose its
neighbours. Each test plays what an attacker or a careless client did, through the real handlers
on the local runtime (moto), and checks what must hold instead."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zlib
from datetime import date
from urllib.parse import quote

import pytest

from asusual.local.runtime import LocalRuntime
from asusual.profiles.limits import MAX_CUSTOM_TRAIT_BYTES, MAX_CUSTOM_TRAITS
from asusual.settings import get_settings
from asusual.store import clients
from asusual.store.profiles import DynamoProfileRepository, data_json
from asusual.store.secrets import reset_secrets
from asusual.triggers.models import BirthdayFacts, Topic, make_intent
from tests.integration.test_delivery import MOSCOW, anna, catalog, identify, mine, order, publish, token_of

__all__ = ["anna", "catalog"]  # fixtures, used by name

TABLE = "asusual-local"


def nested(depth: int, leaf: object = "x") -> object:
    """``depth`` objects inside each other: {"a": {"a": ... leaf}}."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def quoted(kind: str, value: str) -> str:
    return f"/v1/profiles/{kind}/{quote(value, safe='')}"


@pytest.fixture
def admin_profiles(runtime):
    from functions.profiles_api import handler

    from .conftest import json_api

    return json_api(handler, "profiles_api", "admin_local_key")


def profile_item(profile_id: str) -> dict:
    key = {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "PROFILE"}}
    return clients.dynamodb().get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]


def rewrite_profile_data(profile_id: str, data: bytes) -> None:
    """What an older version (or a corruption) left in the item's data."""
    item = profile_item(profile_id)
    item["data"] = {"B": data}
    clients.dynamodb().put_item(TableName=TABLE, Item=item)


def everything_works_for(admin_profiles, decide_api, email: str) -> None:
    """Profile read, decide, export and erasure all answer, and the erasure leaves nobody."""
    assert admin_profiles("GET", quoted("email", email)).status == 200
    decided = decide_api(
        "POST",
        "/v1/decide",
        {"identifier": {"type": "email", "value": email}, "placement": "site_banner", "channel": "web"},
    )
    assert decided.status == 200 and decided.json()["profile_id"], decided.body
    assert admin_profiles("GET", quoted("email", email) + "/export").status == 200
    erased = admin_profiles("DELETE", quoted("email", email))
    assert erased.status == 200 and erased.json()["status"] == "completed", erased.body
    assert admin_profiles("GET", quoted("email", email)).status == 404


# -- 1. a poisoned profile -----------------------------------------------------------------------------


def test_identify_nested_past_the_limit_is_rejected_alone_naming_the_field(intake, runtime, profile):
    answer = intake(
        "/v1/batch",
        {
            "batch": [
                {"type": "identify", "userId": "u-vera", "traits": {"email": "vera@example.com"}},
                {"type": "identify", "userId": "u-vera", "messageId": "deep", "traits": {"x": nested(200)}},
                {"type": "track", "userId": "u-vera", "event": "E", "properties": {"p": nested(300)}},
            ]
        },
    )
    assert answer.status == 200
    assert answer.json()["rejected"] == [
        {
            "index": 1,
            "messageId": "deep",
            "reason": "batch[1].traits.x" + ".a" * 30 + ": nested deeper than 32 levels",
        },
        {"index": 2, "reason": "batch[2].properties.p" + ".a" * 30 + ": nested deeper than 32 levels"},
    ]
    report = runtime.run()
    assert report["queues"]["events"] == {"delivered": 1, "failed": 0, "waiting": 0, "dead_lettered": 0}
    assert profile("email", "vera@example.com")["traits"] == {"email": "vera@example.com"}


def test_profile_at_the_deepest_accepted_nesting_reads_decides_exports_and_erases(
    send, runtime, admin_profiles, decide_api
):
    # the message is level 1, traits level 2: 30 more objects reach the limit of 32
    deepest = {
        "type": "identify",
        "userId": "u-deep",
        "traits": {"email": "deep@example.com", "x": nested(30)},
    }
    send("web_local_key", deepest)
    assert runtime.run()["queues"]["events"]["dead_lettered"] == 0
    everything_works_for(admin_profiles, decide_api, "deep@example.com")


def test_profile_an_older_version_stored_200_levels_deep_still_reads_decides_exports_and_erases(
    send, runtime, profile, admin_profiles, decide_api
):
    send("web_local_key", identify("u-old", email="old@example.com", firstName="Ольга"))
    profile_id = profile("email", "old@example.com")["profile_id"]
    stored = json.loads(data_json(profile_item(profile_id)["data"]["B"]))
    [part] = stored["parts"].values()
    part["traits"]["poison"] = {"value": nested(200), "at": "2026-11-23T09:00:00Z", "msg": "old"}
    rewrite_profile_data(profile_id, zlib.compress(json.dumps(stored).encode()))
    # her next event is applied, not dead-lettered
    send("web_local_key", identify("u-old", lastName="Старая"))
    assert runtime.run()["queues"]["events"] == {
        "delivered": 0,
        "failed": 0,
        "waiting": 0,
        "dead_lettered": 0,
    }
    assert profile("email", "old@example.com")["last_name"] == "Старая"
    everything_works_for(admin_profiles, decide_api, "old@example.com")


def test_erasure_of_a_profile_whose_data_cannot_be_read_at_all_still_deletes_and_suppresses(
    send, runtime, profile, admin_profiles
):
    send("web_local_key", identify("u-lost", email="lost@example.com", phone="+79160001122"))
    profile_id = profile("email", "lost@example.com")["profile_id"]
    readable = data_json(profile_item(profile_id)["data"]["B"])
    # not a profile any more, but its identifiers are still written in it
    rewrite_profile_data(profile_id, zlib.compress(b"{broken " + readable))
    erased = admin_profiles("DELETE", quoted("email", "lost@example.com"))
    assert erased.status == 200 and erased.json()["status"] == "completed", erased.body
    assert erased.json()["identifiers_suppressed"] == 3  # email, phone and user id, read from the text
    for kind, value in (("email", "lost@example.com"), ("phone", "+79160001122"), ("user_id", "u-lost")):
        assert admin_profiles("GET", quoted(kind, value)).status == 404
    items = clients.dynamodb().query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"PROFILE#{profile_id}"}},
    )["Items"]
    assert items == []


# -- 2. a future timestamp -----------------------------------------------------------------------------


def test_a_forged_future_consent_cannot_outvote_the_customers_unsubscribe(
    send, profile, outbox, messages_api, runtime, catalog, anna
):
    [welcome] = mine(outbox, anna)
    resubscribe = identify("u-anna", ts="2099-01-01T00:00:00Z", subscriptions={"email": {"marketing": True}})
    send("web_local_key", resubscribe)
    token = token_of(welcome["unsubscribe_url"])
    assert (
        messages_api(
            "POST", f"/v1/unsubscribe?token={token}", raw=b"List-Unsubscribe=One-Click", key=None
        ).status
        == 200
    )
    runtime.run()
    assert profile("user_id", "u-anna")["subscriptions"]["email"]["marketing"] is False
    # two days later her birthday comes: nothing goes out
    runtime.clock.set(runtime.clock.now().replace(day=25))
    facts = BirthdayFacts(
        birthday=date(1990, 11, 25), celebrated_on=date(2026, 11, 25), year=2026, timezones=(MOSCOW,)
    )
    publish(runtime, make_intent(anna, Topic.MARKETING, f"birthday:{anna}:2026", facts, runtime.clock.now()))
    runtime.run()
    assert [m["trigger"] for m in mine(outbox, anna)] == ["welcome"]


def test_her_unsubscribe_wins_over_anything_received_before_it_even_at_the_same_instant(
    send, profile, outbox, messages_api, runtime, catalog, anna
):
    """The clock is frozen: the resubscription and her click carry the same instant."""
    [welcome] = mine(outbox, anna)
    now = runtime.clock.now().isoformat().replace("+00:00", "Z")
    for message_id in ("zzzz-late", "0000-early"):  # whatever the message ids
        send(
            "web_local_key",
            {
                **identify("u-anna", ts=now, subscriptions={"email": {"marketing": True}}),
                "messageId": message_id,
            },
            run=False,
        )
    messages_api("POST", f"/v1/unsubscribe?token={token_of(welcome['unsubscribe_url'])}", key=None)
    runtime.run()
    assert profile("user_id", "u-anna")["subscriptions"]["email"]["marketing"] is False


def test_a_forged_future_email_cannot_pin_her_address(send, profile, outbox, runtime, catalog, anna):
    send("web_local_key", identify("u-anna", ts="2099-01-01T00:00:00Z", email="attacker@evil.example"))
    runtime.clock.set(runtime.clock.now().replace(hour=10))
    send("web_local_key", identify("u-anna", ts="2026-11-23T10:00:00Z", email="anna.new@example.com"))
    assert profile("user_id", "u-anna")["email"] == "anna.new@example.com"
    send(
        "web_local_key",
        order("u-anna", "Order Completed", "o-pinned", ts="2026-11-23T10:00:00Z", total=100, currency="RUB"),
    )
    [confirmation] = [m for m in mine(outbox, anna) if m["trigger"] == "order_placed"]
    assert confirmation["to"] == "anna.new@example.com"


# -- 3. one bad item never costs the batch ---------------------------------------------------------------


def test_batch_with_every_kind_of_bad_item_answers_200_and_keeps_the_valid_ones(intake, queued, clock):
    items = [
        '{"type": "track", "userId": "u", "event": "E", "messageId": "ok-1"}',
        '{"type": "track", "userId": "u", "event": "E", "properties": {"x": "\\ud800"}}',
        '{"type": "track", "userId": "\\ud800", "event": "E"}',
        '{"type": "track", "userId": "u", "event": "E", "messageId": "\\ud800"}',
        '{"type": "identify", "userId": "u", "traits": {"\\ud800": 1}}',
        '{"type": "track", "userId": "u", "event": "E", "properties": '
        + '{"a": ' * 900
        + "1"
        + "}" * 900
        + "}",
        '{"type": "track", "userId": "u", "event": "E", "messageId": "far", '
        '"timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"}',
        '{"type": "track", "userId": "u", "event": "E", "messageId": "dotnet", '
        '"timestamp": "0001-01-01T00:00:00Z", "sentAt": "2026-11-23T09:00:00Z"}',
        '{"type": "track", "userId": "u", "event": "E", "messageId": "ok-2"}',
    ]
    answer = intake("/v1/batch", raw=('{"batch": [' + ", ".join(items) + "]}").encode())
    assert answer.status == 200, answer.body
    assert [r["index"] for r in answer.json()["rejected"]] == [1, 2, 3, 4, 5]
    events = {e.message_id: e for e in queued()}
    assert sorted(events) == ["dotnet", "far", "ok-1", "ok-2"]
    assert events["far"].timestamp == events["dotnet"].timestamp == clock.now()
    assert (events["far"].time_corrected, events["dotnet"].time_corrected) == ("future", "implausible")


def test_write_key_that_is_not_text_is_an_unknown_key(intake):
    answer = intake("/v1/track", raw=b'{"writeKey": "\\ud800", "userId": "u", "event": "E"}', key=None)
    assert (answer.status, answer.json()["code"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("path", "key", "status", "code"),
    [
        ("/v1/decide", None, 401, "unauthorized"),
        ("/v1/decide", "app_local_key", 403, "forbidden"),
        ("/v1/decide", "read_local_key", 400, "invalid_json"),
        ("/v1/profiles/p_1/unmerge", None, 401, "unauthorized"),
        ("/v1/profiles/p_1/unmerge", "read_local_key", 403, "forbidden"),
        ("/v1/profiles/p_1/unmerge", "admin_local_key", 400, "invalid_json"),
    ],
)
def test_the_key_is_checked_before_a_body_that_is_not_utf8(decide_api, profiles_api, path, key, status, code):
    api = decide_api if path == "/v1/decide" else profiles_api
    answer = api("POST", path, raw=b'{"identifier": "\xff\xfe"}', key=key)
    assert (answer.status, answer.json()["code"]) == (status, code)


# -- 4. the envelope cannot smuggle size -------------------------------------------------------------------


def test_batch_context_counts_toward_each_message_as_it_will_be_queued(intake, queued):
    item = {"type": "track", "userId": "u", "event": "Product Viewed", "messageId": "small"}
    answer = intake("/v1/batch", {"batch": [item], "context": {"pad": "x" * 440_000}})
    assert answer.status == 200
    [rejected] = answer.json()["rejected"]
    assert rejected["messageId"] == "small"
    assert rejected["reason"].endswith("bytes with the batch context merged in exceeds the 32 KB limit")
    assert queued() == []


# -- 5. profiles do not outgrow their item ------------------------------------------------------------------


def test_identifies_with_ever_new_traits_keep_the_profile_within_its_limits_and_nothing_is_dead_lettered(
    send, runtime, profile
):
    send("web_local_key", identify("u-grow", email="grow@example.com", firstName="Глеб"))
    for n in range(19):  # 19 x 15 new keys of 1.9 KB of random text: 540 KB, over an item's 400 KB
        traits = {f"t{n:02d}_{k:02d}": os.urandom(950).hex() for k in range(15)}
        send("web_local_key", identify("u-grow", ts=f"2026-11-23T08:{n + 1:02d}:00Z", **traits), run=False)
    report = runtime.run()
    assert report["queues"]["events"] == {"delivered": 19, "failed": 0, "waiting": 0, "dead_lettered": 0}
    traits = profile("email", "grow@example.com")["traits"]
    custom = sorted(k for k in traits if k.startswith("t"))
    kept_bytes = sum(len(json.dumps(traits[k])) for k in custom)
    assert len(custom) <= MAX_CUSTOM_TRAITS and kept_bytes <= MAX_CUSTOM_TRAIT_BYTES
    assert custom[-1] == "t18_14" and "t00_00" not in custom  # the newest stay, the oldest gave way
    assert (traits["email"], traits["first_name"]) == ("grow@example.com", "Глеб")  # never given up
    assert len(profile_item(profile("email", "grow@example.com")["profile_id"])["data"]["B"]) < 100_000


def test_a_trait_value_over_2_kb_is_not_kept_and_the_trait_keeps_its_value(send, profile):
    send("web_local_key", identify("u-big", email="big@example.com", note="short"))
    send("web_local_key", identify("u-big", ts="2026-11-23T09:05:00Z", note="x" * 3000, city="Тверь"))
    traits = profile("email", "big@example.com")["traits"]
    assert (traits["note"], traits["city"]) == ("short", "Тверь")


# -- 6. one normal form for an address ------------------------------------------------------------------


def test_display_name_address_is_the_address_everywhere(send, profile, outbox, catalog, admin_profiles):
    send(
        "web_local_key",
        identify(
            "u-dn",
            email='"Дина" <Dina@Example.com>',
            timezone=MOSCOW,
            subscriptions={"email": {"marketing": True}},
        ),
    )
    found = profile("email", "dina@example.com")
    assert found is not None and found["email"] == "dina@example.com"
    assert profile("email", '"Дина" <dina@example.com>')["profile_id"] == found["profile_id"]
    [welcome] = mine(outbox, found["profile_id"])
    assert welcome["to"] == "dina@example.com"
    assert admin_profiles("GET", quoted("email", "dina@example.com") + "/export").status == 200
    assert admin_profiles("DELETE", quoted("email", "dina@example.com")).status == 200
    assert profile("email", "dina@example.com") is None


def test_two_addresses_in_one_email_trait_are_not_an_address(send, profile):
    send("web_local_key", identify("u-two", email="a@example.com, victim@example.com", firstName="Ян"))
    found = profile("user_id", "u-two")
    assert found["email"] is None and "email" not in found["traits"]
    assert profile("email", "victim@example.com") is None and profile("email", "a@example.com") is None


# -- 7. no silent failure ----------------------------------------------------------------------------


def test_a_failing_event_is_logged_with_its_ids_and_counted_without_personal_data(
    intake, runtime, capsys, caplog, monkeypatch
):
    def broken(self, change):
        raise RuntimeError("commit refused for ann@example.com")

    monkeypatch.setattr(DynamoProfileRepository, "commit_group", broken)
    intake(
        "/v1/identify", {"userId": "u-fail", "messageId": "m-fail", "traits": {"email": "ann@example.com"}}
    )
    capsys.readouterr()
    caplog.clear()
    report = runtime.run()
    assert report["queues"]["events"]["dead_lettered"] == 1
    failures = [
        r.__dict__ for r in caplog.records if r.getMessage() == "record failed; it returns to the queue"
    ]
    assert len(failures) == 5  # every receive until the DLQ, each logged
    assert [(f["message_id"], f["type"], f["source_id"], f["error"]) for f in failures] == [
        ("m-fail", "identify", "web_local", "RuntimeError")
    ] * 5
    assert [f["receive_count"] for f in failures] == ["1", "2", "3", "4", "5"]
    assert failures[0]["where"][-1].startswith("test_hardening.py:") and failures[0]["where"][-1].endswith(
        " broken"
    )
    assert "ann@example.com" not in repr(failures) and all(r.exc_info is None for r in caplog.records)
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"RecordsFailed"' in line]
    assert sum(sum(m["RecordsFailed"]) for m in metrics) == 5


def test_an_order_id_that_spells_null_still_gets_its_confirmation(send, outbox, catalog, anna):
    send("web_local_key", order("u-anna", "Order Completed", "W-null-7", total=349, currency="RUB"))
    [confirmation] = [m for m in mine(outbox, anna) if m["trigger"] == "order_placed"]
    assert "W-null-7" in confirmation["subject"] and "W-null-7" in confirmation["body"]


# -- 8. erased identifiers cannot be read back ---------------------------------------------------------


def suppressions() -> list[str]:
    items = clients.dynamodb().scan(
        TableName=TABLE,
        FilterExpression="begins_with(pk, :s)",
        ExpressionAttributeValues={":s": {"S": "SUPPRESS#"}},
    )["Items"]
    return sorted(i["pk"]["S"].removeprefix("SUPPRESS#") for i in items)


def test_erased_identifiers_are_kept_as_keyed_hashes_that_still_match_after_a_key_rotation(
    send, profile, admin_profiles, runtime
):
    send("web_local_key", identify("u-era", email="era@example.com", phone="+79165550011"))
    assert admin_profiles("DELETE", quoted("phone", "+79165550011")).status == 200
    secrets = clients.secretsmanager()
    arn = get_settings().suppression_secrets_arn
    key = secrets.get_secret_value(SecretId=arn)["SecretString"].encode()
    phone = b"asusual-suppression-v2\0phone\0+79165550011"
    assert hmac.new(key, phone, hashlib.sha256).hexdigest() in suppressions()
    for context in ("asusual-suppression-v1", "asusual-suppression-v2"):  # no unkeyed hash to try numbers on
        unkeyed = hashlib.sha256(f"{context}\0phone\0+79165550011".encode()).hexdigest()
        assert unkeyed not in suppressions()
    # the operator rotates: a new key first, the old one kept for matching
    secrets.put_secret_value(SecretId=arn, SecretString=f"{os.urandom(24).hex()},{key.decode()}")
    reset_secrets()
    LocalRuntime._reset_caches()
    send("web_local_key", identify("u-new", phone="8 (916) 555-00-11", firstName="Эра"))
    assert profile("user_id", "u-new") is None  # still suppressed, under the old key
    assert admin_profiles("DELETE", quoted("phone", "+79165550011") + "/suppression").status == 204
    send("web_local_key", identify("u-new", ts="2026-11-23T09:10:00Z", phone="8 (916) 555-00-11"))
    assert profile("user_id", "u-new") is not None


def test_a_failing_sweep_is_logged_and_counted_and_raised_without_its_text(
    runtime, caplog, capsys, monkeypatch
):
    from asusual.consumers import InvocationFailed
    from asusual.local.runtime import LocalContext
    from functions.birthday_sweep import handler

    def broken(*_args, **_kwargs):
        raise RuntimeError("index refused for ann@example.com")

    monkeypatch.setattr(handler, "sweep", broken)
    event = {
        "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
        "time": "2026-11-23T09:00:00Z", "region": "eu-central-1", "resources": [], "detail": {},
    }  # fmt: skip
    capsys.readouterr()
    with pytest.raises(InvocationFailed) as raised:
        handler.lambda_handler(event, LocalContext("birthday_sweep"))
    assert str(raised.value) == "RuntimeError: see the log line 'invocation failed'"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    [failed] = [r.__dict__ for r in caplog.records if r.getMessage().startswith("invocation failed")]
    assert failed["error"] == "RuntimeError" and failed["where"][-1].endswith(" broken")
    assert "ann@example.com" not in repr(failed)
    assert '"InvocationsFailed"' in capsys.readouterr().out


def test_json_deeper_than_any_parser_reads_with_its_deepest_values_as_null():
    from asusual.store.profiles import DECODE_DEPTH, decode_json

    # {"v": [{"a": ...}, [{"a": ...}, [ ... 1 ]]], "w": "x"}, 3,000 lists deep
    text = '{"v": ' + '[{"a": "]}\\"["}, ' * 3000 + "1" + "]" * 3000 + ', "w": "x"}'
    decoded = decode_json(text.encode())
    assert decoded["w"] == "x"
    value, depth = decoded["v"], 2  # the outer object is level 1
    while depth < DECODE_DEPTH:
        assert value[0] == {"a": ']}"['}  # brackets inside strings are text, not structure
        value, depth = value[1], depth + 1
    assert value == [None, None]  # what opens past level 64 reads as null
