"""Signed identity for public sources (pure): the shop's server vouches for a user id its page sends.

A public source's key is in every page, so anybody can send ``identify {userId: "<someone>"}``
from their own browser. Such a claim is the visitor's word only: it may still add events and
traits to that user id's profile, but it never unlocks the customer's name or offers in the
claimant's browser. The shop's server, which knows who is logged in, signs the user id with the
source's *identity secret* and the page passes the signature with the call, in
``context.identity_signature`` (as Intercom's identity verification passes ``user_hash``):

    identity_signature = hex(HMAC-SHA256(key = identity secret as UTF-8 text, message = userId as UTF-8))

The identity secret of a source is derived, one way, from the link-signing secrets the stack
already keeps (``HMAC-SHA256(link secret, "asusual-identity-v1:" + source_id)``, hex): no new
secret to store, one per source (a shop holding its own cannot sign for another source), and it
rotates with the link secrets — the first one gives the secret an operator hands out, every one
verifies, so a shop's server has until the old link secret is dropped to take the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Sequence

IDENTITY_CONTEXT = b"asusual-identity-v1:"
SIGNATURE_FIELD = "identity_signature"  # where a page puts it: context.identity_signature
SIGNATURE_ALGORITHM = "hex(HMAC-SHA256(key=identity_secret, message=userId)), both as UTF-8 text"
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")


def identity_secret(link_secret: bytes, source_id: str) -> str:
    """The identity secret of ``source_id`` under one link secret (64 hex characters)."""
    return hmac.new(link_secret, IDENTITY_CONTEXT + source_id.encode(), hashlib.sha256).hexdigest()


def sign_user_id(secret: str, user_id: str) -> str:
    """What the shop's server computes for a logged-in customer: the hex HMAC-SHA256 of the user id
    under the source's identity secret (``secret`` used as its UTF-8 text, as most HMAC APIs take it)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def signature_valid(signature: object, user_id: str, source_id: str, link_secrets: Sequence[bytes]) -> bool:
    """Whether ``signature`` signs ``user_id`` for ``source_id`` under any of ``link_secrets``
    (compared in constant time). Anything but 64 hex characters (either case) is not a signature."""
    if not isinstance(signature, str):
        return False
    given = signature.strip().lower()
    if not _SIGNATURE.match(given):
        return False
    matched = False
    for link_secret in link_secrets:  # every secret is tried: the time does not tell which matched
        expected = sign_user_id(identity_secret(link_secret, source_id), user_id)
        matched |= hmac.compare_digest(expected, given)
    return matched


class IdentityVerifier:
    """Checks signatures with the link secrets, read on first use only (a request without a
    signature never reads them) and then kept, like every secret of a container."""

    def __init__(self, link_secrets: Callable[[], Sequence[bytes]]) -> None:
        self._read = link_secrets
        self._secrets: tuple[bytes, ...] | None = None
        self._lock = threading.Lock()

    def valid(self, signature: object, user_id: str, source_id: str) -> bool:
        if not isinstance(signature, str) or not signature:
            return False
        with self._lock:
            if self._secrets is None:
                self._secrets = tuple(self._read())
        return signature_valid(signature, user_id, source_id, self._secrets)
