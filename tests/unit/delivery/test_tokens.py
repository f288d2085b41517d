from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asusual.delivery.tokens import LinkClaims, LinkPurpose, link_url, sign_link, verify_link
from asusual.errors import Forbidden

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = b"s" * 32
OLD_SECRET = b"o" * 32


def claims(**changes: object) -> LinkClaims:
    fields: dict[str, object] = {
        "purpose": LinkPurpose.UNSUBSCRIBE,
        "message_id": "m_1",
        "profile_id": "p_1",
        "channel": "email",
        "topic": "marketing",
        "to": "anna@example.com",
        "expires_at": NOW + timedelta(days=30),
    }
    return LinkClaims.model_validate({**fields, **changes})


def refused(token: str, *, purpose: LinkPurpose = LinkPurpose.UNSUBSCRIBE, now: datetime = NOW) -> str:
    with pytest.raises(Forbidden) as caught:
        verify_link(token, [SECRET], purpose=purpose, now=now)
    return caught.value.code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_sign_link_round_trip_returns_the_claims():
    original = claims()
    token = sign_link(original, [SECRET])
    assert verify_link(token, [SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW) == original


def test_sign_link_without_address_and_cyrillic_ids_round_trips():
    original = claims(purpose=LinkPurpose.WHY, to=None, profile_id="профиль-1")
    token = sign_link(original, [SECRET])
    assert verify_link(token, [SECRET], purpose=LinkPurpose.WHY, now=NOW) == original


def test_sign_link_token_is_compact_and_url_safe():
    token = sign_link(claims(), [SECRET])
    assert len(token) < 200
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert "=" not in token


def test_sign_link_expiry_with_microseconds_is_rounded_down_to_the_second():
    token = sign_link(claims(expires_at=NOW + timedelta(seconds=10, microseconds=900_000)), [SECRET])
    verified = verify_link(token, [SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW)
    assert verified.expires_at == NOW + timedelta(seconds=10)


def test_verify_link_tampered_payload_is_invalid_link():
    token = sign_link(claims(), [SECRET])
    payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["u"] = "p_2"  # someone else's profile
    forged = b64(json.dumps(data, separators=(",", ":")).encode())
    assert refused(f"{forged}.{signature}") == "invalid_link"


def test_verify_link_tampered_signature_is_invalid_link():
    token = sign_link(claims(), [SECRET])
    last = token[-1]
    assert refused(token[:-1] + ("A" if last != "A" else "B")) == "invalid_link"


def test_verify_link_signature_of_another_secret_is_invalid_link():
    assert refused(sign_link(claims(), [b"x" * 32])) == "invalid_link"


@pytest.mark.parametrize("cut", [1, 5, 43, 44])
def test_verify_link_truncated_token_is_invalid_link(cut):
    token = sign_link(claims(), [SECRET])
    assert refused(token[:-cut]) == "invalid_link"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "..",
        "a.b.c",
        "abc",
        "abc.",
        ".abc",
        "a",
        "a.a",
        "====.====",
        "abc=.def=",
        "eyJ9.eyJ9",
        "!!!.???",
        "a b.c d",
        "a\n.b",
        "x" * 10_000,
        "x" * 5000 + "." + "y" * 5000,
    ],
)
def test_verify_link_garbage_is_invalid_link(garbage):
    assert refused(garbage) == "invalid_link"


@pytest.mark.parametrize(
    "garbage", ["токен.подпись", "abc.dé", "😀.😀", "a\u2212b.c", "\x00.\x00", "abc\u00a0.d"]
)
def test_verify_link_non_ascii_is_invalid_link(garbage):
    assert refused(garbage) == "invalid_link"


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b"null",
        b"not json",
        b"\xff\xfe",
        b'{"e": "soon"}',
        b'{"e": true}',
        b'{"p": "why"}',
        b'{"e": 1e999}',
    ],
)
def test_verify_link_well_signed_nonsense_is_invalid_link(content):
    """Even a payload signed with the right secret is refused when it is not a set of claims."""
    import hashlib
    import hmac

    payload = b64(content)
    signature = b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())
    assert refused(f"{payload}.{signature}") == "invalid_link"


def test_verify_link_huge_expiry_is_invalid_link():
    import hashlib
    import hmac

    content = json.dumps(
        {"p": "why", "m": "m", "u": "u", "c": "email", "t": "marketing", "e": 10**20}
    ).encode()
    payload = b64(content)
    signature = b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())
    assert refused(f"{payload}.{signature}", purpose=LinkPurpose.WHY) == "invalid_link"


def test_verify_link_after_expiry_is_link_expired():
    token = sign_link(claims(expires_at=NOW + timedelta(hours=1)), [SECRET])
    assert verify_link(token, [SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW + timedelta(minutes=59))
    assert refused(token, now=NOW + timedelta(hours=1)) == "link_expired"
    assert refused(token, now=NOW + timedelta(days=400)) == "link_expired"


def test_verify_link_expired_ok_opens_an_expired_genuine_link_only():
    token = sign_link(claims(expires_at=NOW - timedelta(days=300)), [SECRET])
    opened = verify_link(token, [SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW, expired_ok=True)
    assert opened.expires_at == NOW - timedelta(days=300)
    payload, signature = token.split(".")
    with pytest.raises(Forbidden) as forged:
        verify_link(
            f"{payload}.{signature[::-1]}",
            [SECRET],
            purpose=LinkPurpose.UNSUBSCRIBE,
            now=NOW,
            expired_ok=True,
        )
    assert forged.value.code == "invalid_link"
    with pytest.raises(Forbidden) as other:
        verify_link(token, [SECRET], purpose=LinkPurpose.PREFERENCES, now=NOW, expired_ok=True)
    assert other.value.code == "wrong_link"


def test_verify_link_other_purpose_is_wrong_link():
    why = sign_link(claims(purpose=LinkPurpose.WHY), [SECRET])
    assert refused(why, purpose=LinkPurpose.UNSUBSCRIBE) == "wrong_link"
    unsubscribe = sign_link(claims(), [SECRET])
    assert refused(unsubscribe, purpose=LinkPurpose.WHY) == "wrong_link"


def test_verify_link_old_secret_after_rotation_still_verifies():
    before = sign_link(claims(), [OLD_SECRET])
    rotated = [SECRET, OLD_SECRET]
    after = sign_link(claims(), rotated)
    assert verify_link(before, rotated, purpose=LinkPurpose.UNSUBSCRIBE, now=NOW) == claims()
    assert verify_link(after, rotated, purpose=LinkPurpose.UNSUBSCRIBE, now=NOW) == claims()
    # the new secret signs: the old one alone no longer verifies new tokens
    with pytest.raises(Forbidden, match="invalid signature"):
        verify_link(after, [OLD_SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW)
    assert after.split(".")[0] == before.split(".")[0] and after != before


def test_verify_link_without_secrets_or_naive_now_is_a_value_error():
    token = sign_link(claims(), [SECRET])
    with pytest.raises(ValueError, match="secret"):
        verify_link(token, [], purpose=LinkPurpose.UNSUBSCRIBE, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        verify_link(token, [SECRET], purpose=LinkPurpose.UNSUBSCRIBE, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="secret"):
        sign_link(claims(), [])


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        (
            "https://api.example.com",
            "/v1/messages/m_1/why",
            "https://api.example.com/v1/messages/m_1/why?token=T.S",
        ),
        (
            "https://api.example.com/",
            "/v1/messages/m_1/why",
            "https://api.example.com/v1/messages/m_1/why?token=T.S",
        ),
        ("https://api.example.com/", "v1/unsubscribe", "https://api.example.com/v1/unsubscribe?token=T.S"),
        (
            "https://api.example.com/prod/",
            "/v1/unsubscribe",
            "https://api.example.com/prod/v1/unsubscribe?token=T.S",
        ),
        (
            "http://127.0.0.1:8787",
            "/v1/unsubscribe?lang=ru",
            "http://127.0.0.1:8787/v1/unsubscribe?lang=ru&token=T.S",
        ),
    ],
)
def test_link_url_any_base_joins_once(base, path, expected):
    assert link_url(base, path, "T.S") == expected


def test_link_url_without_a_token_is_a_forms_action():
    assert (
        link_url("https://api.example.com/prod", "/v1/preferences", None)
        == "https://api.example.com/prod/v1/preferences"
    )


def test_link_url_relative_base_is_a_value_error():
    with pytest.raises(ValueError, match="absolute"):
        link_url("api.example.com", "/v1/unsubscribe", "T.S")


def test_link_url_token_from_the_url_verifies():
    from urllib.parse import parse_qs, urlsplit

    url = link_url(
        "https://api.example.com", "/v1/messages/m_1/why", sign_link(claims(purpose="why"), [SECRET])
    )
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert verify_link(token, [SECRET], purpose=LinkPurpose.WHY, now=NOW).message_id == "m_1"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_=-]{0,80}\.[A-Za-z0-9_=-]{0,80}", fullmatch=True))
def test_verify_link_any_text_is_forbidden_never_a_crash(garbage):
    with pytest.raises(Forbidden) as caught:
        verify_link(garbage, [SECRET], purpose=LinkPurpose.WHY, now=NOW)
    assert caught.value.code == "invalid_link"
