"""The secrets: the signing secrets for links (why, unsubscribe) and webhooks, and the keys that
hash suppressed identifiers of erased people. From the environment in tests, from Secrets
Manager in a deployed stage and in local mode (read once per container)."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from asusual.privacy.models import SuppressionKeys
from asusual.settings import get_settings
from asusual.store import clients

WEBHOOK_CONTEXT = b"asusual-webhook-v1"


def _split(raw: str) -> tuple[bytes, ...]:
    return tuple(part.strip().encode() for part in raw.split(",") if part.strip())


def _read(arn: str | None, value: str | None, what: str, variable: str) -> tuple[bytes, ...]:
    if arn:
        secrets = _split(clients.secretsmanager().get_secret_value(SecretId=arn)["SecretString"])
    else:
        secrets = _split(value or "")
    if not secrets:
        raise RuntimeError(f"{what}: set ASUSUAL_{variable} or ASUSUAL_{variable}_ARN")
    return secrets


@cache
def link_secrets() -> tuple[bytes, ...]:
    """The first signs, every one verifies (rotation: prepend the new secret, drop the old later)."""
    settings = get_settings()
    return _read(settings.link_secrets_arn, settings.link_secrets, "link secrets", "LINK_SECRETS")


@cache
def suppression_keys() -> SuppressionKeys:
    """The first hashes new suppressions, every one matches: rotation prepends a new key and keeps
    the old ones, or suppressions made under them would stop matching (docs/privacy.md)."""
    settings = get_settings()
    return SuppressionKeys(
        _read(
            settings.suppression_secrets_arn,
            settings.suppression_secrets,
            "suppression keys",
            "SUPPRESSION_SECRETS",
        )
    )


def webhook_secret() -> bytes:
    """Derived one way from the link secret: a POS vendor holding it cannot forge customer links."""
    return hmac.new(link_secrets()[0], WEBHOOK_CONTEXT, hashlib.sha256).hexdigest().encode()


def reset_secrets() -> None:
    link_secrets.cache_clear()
    suppression_keys.cache_clear()
