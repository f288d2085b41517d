"""The intake marks a public source's event whose userId its page signed, and keeps no signature."""

from asusual.access.identity import IdentityVerifier, identity_secret, sign_user_id
from asusual.intake.service import signed_identity

from ..events import event

LINK = b"link-secret"
VERIFIER = IdentityVerifier(lambda: [LINK])


def with_signature(signature, source="browser", user_id="u-1"):
    return event(source=source, user_id=user_id, anonymous_id="anon-1",
                 context={"identity_signature": signature, "locale": "ru-RU"})  # fmt: skip


def test_signed_identity_valid_signature_marks_the_event_and_drops_the_signature():
    signature = sign_user_id(identity_secret(LINK, "browser_local"), "u-1")
    checked = signed_identity(with_signature(signature), VERIFIER)
    assert (checked.identity_signed, checked.vouched, checked.context) == (True, True, {"locale": "ru-RU"})


def test_signed_identity_wrong_signature_keeps_the_event_as_unsigned():
    other = sign_user_id(identity_secret(LINK, "browser_local"), "u-2")
    for signature in (other, "0" * 64, "nonsense", 12):
        checked = signed_identity(with_signature(signature), VERIFIER)
        assert (checked.identity_signed, checked.vouched, checked.context) == (
            False,
            False,
            {"locale": "ru-RU"},
        )


def test_signed_identity_server_side_event_is_vouched_and_loses_the_signature():
    checked = signed_identity(with_signature("0" * 64, source="web"), VERIFIER)
    assert (checked.identity_signed, checked.vouched, checked.context) == (False, True, {"locale": "ru-RU"})


def test_signed_identity_without_a_signature_is_the_same_event():
    plain = event(source="browser", user_id="u-1")
    assert signed_identity(plain, VERIFIER) is plain
    assert plain.vouched is False


def test_signed_identity_is_not_written_on_the_queue_unless_true():
    plain = event(source="browser", user_id="u-1")
    assert "identity_signed" not in plain.model_dump_json()
    signature = sign_user_id(identity_secret(LINK, "browser_local"), "u-1")
    assert '"identity_signed":true' in signed_identity(with_signature(signature), VERIFIER).model_dump_json()
