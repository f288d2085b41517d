"""The links a message carries: its explanation ("why you got this"), for marketing the one-click
unsubscribe, and in a confirmation the link that confirms the opt-in. All are signed, expiring
tokens (asusual.delivery.tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asusual.delivery.tokens import LinkClaims, LinkPurpose, link_url, sign_link

WHY_PATH = "/v1/messages/{message_id}/why"
UNSUBSCRIBE_PATH = "/v1/unsubscribe"
CONFIRM_CONSENT_PATH = "/v1/consent/confirm"


@dataclass(frozen=True)
class LinkSigner:
    base_url: str
    secrets: Sequence[bytes]
    ttl: timedelta

    def _token(
        self,
        purpose: LinkPurpose,
        message_id: str,
        profile_id: str,
        channel: str,
        topic: str,
        to: str | None,
        now: datetime,
    ) -> str:
        claims = LinkClaims(
            purpose=purpose,
            message_id=message_id,
            profile_id=profile_id,
            channel=channel,
            topic=topic,
            to=to,
            expires_at=now + self.ttl,
        )
        return sign_link(claims, self.secrets)

    def why_url(self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime) -> str:
        token = self._token(LinkPurpose.WHY, message_id, profile_id, channel, topic, None, now)
        return link_url(self.base_url, WHY_PATH.format(message_id=message_id), token)

    def unsubscribe_url(
        self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime
    ) -> str:
        # no address in the token: a URL is logged by mail scanners and proxies; the unsubscribe
        # reads the address from the message's record
        token = self._token(LinkPurpose.UNSUBSCRIBE, message_id, profile_id, channel, topic, None, now)
        return link_url(self.base_url, UNSUBSCRIBE_PATH, token)

    def confirm_consent_url(
        self, message_id: str, profile_id: str, channel: str, topic: str, now: datetime
    ) -> str:
        """The link of a confirmation message: ids only; the confirmation reads the address and the
        assertion it confirms from the message's record."""
        token = self._token(LinkPurpose.CONFIRM_CONSENT, message_id, profile_id, channel, topic, None, now)
        return link_url(self.base_url, CONFIRM_CONSENT_PATH, token)
