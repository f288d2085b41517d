"""Key generation, hashing and extraction from requests (pure)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from asusual.access.models import KeyScope

_PREFIX = {KeyScope.WRITE: "asu_w_", KeyScope.READ: "asu_r_", KeyScope.ADMIN: "asu_a_"}


def generate_key(scope: KeyScope) -> str:
    """A new random key (256 bits). Shown once; only its hash is stored."""
    return _PREFIX[scope] + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 of the key's UTF-8; any text hashes (a lone surrogate too: no key has one, so such a
    "key" is simply unknown, 401)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def key_from_authorization(header: str | None) -> str | None:
    """The key in an Authorization header: ``Basic base64(key:)`` (Segment clients), ``Basic
    base64(key)`` without the colon, or ``Bearer key``. None when absent or unusable."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == "bearer":
        return value
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None
