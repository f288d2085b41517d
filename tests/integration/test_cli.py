import json

import pytest

from asusual import cli


def run(capsys, *argv):
    capsys.readouterr()  # drop what earlier calls (metrics of the intake handler) printed
    code = cli.main(["--json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_sources_create_prints_key_once_and_it_authenticates(runtime, capsys, intake):
    code, created, err = run(
        capsys,
        "sources",
        "create",
        "--id",
        "pos-msk",
        "--name",
        "POS Moscow",
        "--channel",
        "store",
        "--timezone",
        "Europe/Moscow",
        "--country",
        "ru",
        "--store-id",
        "msk-01",
    )
    assert code == 0 and created["key"].startswith("asu_w_") and created["source_id"] == "pos-msk"
    assert err == ""  # JSON mode stays machine-readable
    assert intake("/v1/track", {"userId": "u", "event": "Order Completed"}, key=created["key"]).status == 200
    code, sources, _ = run(capsys, "sources", "list")
    listed = {s["source_id"]: s for s in sources}
    assert listed["pos-msk"]["country"] == "RU" and listed["pos-msk"]["timezone"] == "Europe/Moscow"
    assert created["key"] not in json.dumps(sources)
    code, keys, _ = run(capsys, "keys", "list")
    assert created["key"] not in json.dumps(keys)
    assert any(k["key_id"] == created["key_id"] and k["usable"] for k in keys)


def test_sources_rotate_then_revoke(runtime, capsys, intake, clock):
    _, created, _ = run(capsys, "sources", "create", "--id", "web2", "--name", "Web 2", "--channel", "web")
    code, rotated, _ = run(capsys, "sources", "rotate", "web2", "--overlap-hours", "0")
    assert code == 0 and rotated["key"] != created["key"]
    assert intake("/v1/page", {"anonymousId": "a"}, key=rotated["key"]).status == 200
    assert intake("/v1/page", {"anonymousId": "a"}, key=created["key"]).status == 401
    code, revoked, _ = run(capsys, "sources", "revoke", "web2")
    assert code == 0 and revoked == {"source_id": "web2", "status": "revoked"}


def test_keys_create_and_revoke_admin_key(runtime, capsys):
    code, created, _ = run(capsys, "keys", "create", "--scope", "admin", "--label", "ops")
    assert code == 0 and created["key"].startswith("asu_a_")
    code, revoked, _ = run(capsys, "keys", "revoke", created["key_id"])
    assert code == 0 and revoked["status"] == "revoked"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sources", "create", "--id", "Bad Id", "--name", "x", "--channel", "web"], "source_id"),
        (
            [
                "sources",
                "create",
                "--id",
                "x",
                "--name",
                "x",
                "--channel",
                "web",
                "--timezone",
                "Nowhere/City",
            ],
            "timezone",
        ),
        (["sources", "rotate", "missing"], "source_id"),
        (["keys", "revoke", "000000000000"], "key_id"),
    ],
)
def test_cli_errors_exit_2_naming_the_field(runtime, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_cli_duplicate_source_is_refused(runtime, capsys):
    argv = ["sources", "create", "--id", "dup", "--name", "x", "--channel", "web"]
    assert run(capsys, *argv)[0] == 0
    code, _, err = run(capsys, *argv)
    assert code == 2 and "already exists" in err


def test_webhook_key_is_derived_from_the_link_secret_and_verifies_a_sent_webhook(monkeypatch, capsys):
    import hashlib
    import hmac

    from asusual.channels.webhook import sign_webhook, verify_webhook
    from asusual.cli import main
    from asusual.store import secrets

    monkeypatch.setenv("ASUSUAL_LINK_SECRETS", "new-secret,old-secret")
    monkeypatch.delenv("ASUSUAL_LINK_SECRETS_ARN", raising=False)
    assert main(["webhook-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert key == hmac.new(b"new-secret", b"asusual-webhook-v1", hashlib.sha256).hexdigest()
    assert key.encode() == secrets.webhook_secret()
    body = b'{"id": "m_1"}'
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    verify_webhook(body, sign_webhook(body, key.encode(), int(now.timestamp())), [key.encode()], now=now)
    secrets.reset_secrets()


def test_webhook_key_without_a_secret_says_what_to_set(monkeypatch, capsys):
    from asusual.cli import main
    from asusual.store import secrets

    monkeypatch.delenv("ASUSUAL_LINK_SECRETS", raising=False)
    monkeypatch.delenv("ASUSUAL_LINK_SECRETS_ARN", raising=False)
    assert main(["webhook-key"]) == 2
    assert "ASUSUAL_LINK_SECRETS" in capsys.readouterr().err
    secrets.reset_secrets()


def test_sources_identity_secret_is_the_admin_apis_and_only_for_public_sources(runtime, capsys, admin_api):
    code, shown, _ = run(capsys, "sources", "identity-secret", "browser_local")
    expected = admin_api("GET", "/v1/sources/browser_local/identity-secret").json()["identity_secret"]
    assert (code, shown) == (0, {"source_id": "browser_local", "identity_secret": expected})
    code, _, err = run(capsys, "sources", "identity-secret", "web_local")
    assert code == 2
    assert err == (
        "asusual: source_id: source 'web_local' is server-side: its events are vouched for as they are; "
        "only a public source's page passes signed user ids\n"
    )
