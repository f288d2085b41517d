import base64

import pytest

from asusual.access.keys import generate_key, hash_key, key_from_authorization
from asusual.access.models import KeyScope


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("wk:"), "wk"),  # Segment clients
        (basic("wk"), "wk"),  # without the trailing colon
        (basic("wk:ignored"), "wk"),
        ("Bearer rk", "rk"),
        ("bearer   rk  ", "rk"),
        (None, None),
        ("", None),
        ("Basic", None),
        ("Basic !!!notbase64", None),
        (basic(":"), None),
        ("Digest abc", None),
    ],
)
def test_key_from_authorization_header_forms(header, expected):
    assert key_from_authorization(header) == expected


def test_generated_keys_are_unique_scoped_and_hash_is_sha256():
    keys = {generate_key(KeyScope.WRITE) for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith("asu_w_") and len(k) > 40 for k in keys)
    assert len(hash_key("x")) == 64 and hash_key("x") != hash_key("y")
