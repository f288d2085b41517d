"""Signed identity: the identity secret each public source's server signs user ids with."""

import hashlib
import hmac

import pytest

from asusual.access.identity import IdentityVerifier, identity_secret, sign_user_id, signature_valid

LINK = b"link-secret-one"
ROTATED = b"link-secret-two"


def test_identity_secret_is_derived_per_source_and_link_secret():
    secret = identity_secret(LINK, "shop_pages")
    expected = hmac.new(LINK, b"asusual-identity-v1:shop_pages", hashlib.sha256).hexdigest()
    assert secret == expected and len(secret) == 64
    assert identity_secret(LINK, "other_pages") != secret
    assert identity_secret(ROTATED, "shop_pages") != secret


def test_sign_user_id_is_hex_hmac_sha256_with_the_secret_as_text():
    secret = identity_secret(LINK, "shop_pages")
    assert sign_user_id(secret, "u-1") == hmac.new(secret.encode(), b"u-1", hashlib.sha256).hexdigest()
    assert (
        sign_user_id(secret, "Анна-7")
        == hmac.new(secret.encode(), "Анна-7".encode(), hashlib.sha256).hexdigest()
    )


def test_signature_valid_for_its_user_and_source_only():
    signature = sign_user_id(identity_secret(LINK, "shop_pages"), "u-1")
    assert signature_valid(signature, "u-1", "shop_pages", [LINK]) is True
    assert signature_valid(signature.upper(), "u-1", "shop_pages", [LINK]) is True
    assert signature_valid(f"  {signature} ", "u-1", "shop_pages", [LINK]) is True
    assert signature_valid(signature, "u-2", "shop_pages", [LINK]) is False
    assert signature_valid(signature, "u-1", "other_pages", [LINK]) is False
    assert signature_valid(signature, "u-1", "shop_pages", [ROTATED]) is False


def test_signature_valid_under_any_listed_link_secret_first_one_signs():
    old = sign_user_id(identity_secret(LINK, "shop_pages"), "u-1")
    new = sign_user_id(identity_secret(ROTATED, "shop_pages"), "u-1")
    assert signature_valid(old, "u-1", "shop_pages", [ROTATED, LINK]) is True  # during the rotation
    assert signature_valid(new, "u-1", "shop_pages", [ROTATED, LINK]) is True
    assert signature_valid(old, "u-1", "shop_pages", [ROTATED]) is False  # the old secret dropped


@pytest.mark.parametrize("junk", [None, 42, "", "0" * 63, "0" * 65, "g" * 64, ["0" * 64], "0" * 64])
def test_signature_valid_refuses_anything_but_the_signature(junk):
    assert signature_valid(junk, "u-1", "shop_pages", [LINK]) is False


def test_identity_verifier_reads_the_secrets_once_and_only_when_asked():
    reads = []

    def secrets():
        reads.append(1)
        return [LINK]

    verifier = IdentityVerifier(secrets)
    assert verifier.valid(None, "u-1", "shop_pages") is False and reads == []
    signature = sign_user_id(identity_secret(LINK, "shop_pages"), "u-1")
    assert verifier.valid(signature, "u-1", "shop_pages") is True
    assert verifier.valid(signature, "u-2", "shop_pages") is False
    assert reads == [1]
