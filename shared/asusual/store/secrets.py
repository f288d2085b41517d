"""The signing secrets for links (why, unsubscribe) and webhooks: from the environment in local
mode and tests, from Secrets Manager in a deployed stage (read once per container)."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from asusual.settings import get_settings
from asusual.store import clients

WEBHOOK_CONTEXT = b"asusual-webhook-v1"


def _split(raw: str) -> tuple[bytes, ...]:
    return tuple(part.strip().encode() for part in raw.split(",") if part.strip())


@cache
def link_secrets() -> tuple[bytes, ...]:
    """The first signs, every one verifies (rotation: prepend the new secret, drop the old later)."""
    settings = get_settings()
    if settings.link_secrets_arn:
        raw = clients.secretsmanager().get_secret_value(SecretId=settings.link_secrets_arn)["SecretString"]
        secrets = _split(raw)
    else:
        secrets = _split(settings.link_secrets or "")
    if not secrets:
        raise RuntimeError("link secrets: set ASUSUAL_LINK_SECRETS or ASUSUAL_LINK_SECRETS_ARN")
    return secrets


def webhook_secret() -> bytes:
    """Derived one way from the link secret: a POS vendor holding it cannot forge customer links."""
    return hmac.new(link_secrets()[0], WEBHOOK_CONTEXT, hashlib.sha256).hexdigest().encode()


def reset_secrets() -> None:
    link_secrets.cache_clear()
