"""The links a message carries: its explanation ("why you got this"), the preference center,
for marketing the one-click unsubscribe, and in a confirmation the link that confirms the opt-in;
and the short-lived undo an unsubscribe page offers. All are signed, expiring tokens
(asusual.delivery.tokens) naming ids only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asusual.delivery.tokens import LinkClaims, LinkPurpose, link_url, sign_link

WHY_PATH = "/v1/messages/{message_id}/why"
UNSUBSCRIBE_PATH = "/v1/unsubscribe"
PREFERENCES_PATH = "/v1/preferences"
RESUBSCRIBE_PATH = "/v1/resubscribe"
CONFIRM_CONSENT_PATH = "/v1/consent/confirm"


@dataclass(frozen=True)
class LinkSigner:
    base_url: str
    secrets: Sequence[bytes]
    ttl: timedelta

    def token(
        self,
        purpose: LinkPurpose,
        message_id: str,
        profile_id: str,
        channel: str,
        topic: str,
        expires_at: datetime,
    ) -> str:
        """A token for ``purpose`` naming the message, its profile, channel and topic — no address:
        a URL is logged by mail scanners and proxies (the unsubscribe reads the address from the
        message's record)."""
        claims = LinkClaims(
            purpose=purpose,
            message_id=message_id,
            profile_id=profile_id,
            channel=channel,
            topic=topic,
            expires_at=expires_at,
        )
        return sign_link(claims, self.secrets)

    def url(self, path: str, token: str | None = None) -> str:
        """The public URL of ``path`` with ``token`` (none: a form's action; the form holds it)."""
        return link_url(self.base_url, path, token)

    def why_url(self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime) -> str:
        token = self.token(LinkPurpose.WHY, message_id, profile_id, channel, topic, now + self.ttl)
        return self.url(WHY_PATH.format(message_id=message_id), token)

    def unsubscribe_url(
        self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime
    ) -> str:
        token = self.token(LinkPurpose.UNSUBSCRIBE, message_id, profile_id, channel, topic, now + self.ttl)
        return self.url(UNSUBSCRIBE_PATH, token)

    def preferences_url(
        self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime
    ) -> str:
        token = self.token(LinkPurpose.PREFERENCES, message_id, profile_id, channel, topic, now + self.ttl)
        return self.url(PREFERENCES_PATH, token)

    def confirm_consent_url(
        self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime
    ) -> str:
        """The link of a confirmation message: ids only; the confirmation reads the address and the
        assertion it confirms from the message's record."""
        purpose = LinkPurpose.CONFIRM_CONSENT
        token = self.token(purpose, message_id, profile_id, channel, topic, now + self.ttl)
        return self.url(CONFIRM_CONSENT_PATH, token)
