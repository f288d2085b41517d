"""Email through Amazon SES v2: one raw MIME message per send.

The message is built with the stdlib ``email`` package: a text part, and an HTML alternative when
the message has one; a UTF-8 subject (RFC 2047 encoded words); 7-bit clean bodies; the RFC 8058
one-click unsubscribe headers whenever the message carries an unsubscribe link. No Message-ID is
set: SES assigns its own, and our id travels in ``X-Asusual-Message-Id``.

Errors: throttling and outages become typed retryable errors (:func:`classify_aws_error`; SES v2
``LimitExceededException`` counts as throttling). ``SendingPausedException`` is retried too:
sending is paused for the whole account or configuration set (by its owner or by SES while a
reputation issue is reviewed), which says nothing about this message, and once sending resumes the
message should go out, not be lost; a long pause ends in the dead-letter queue, from where it can be
redriven. Refusals of this message or of the set-up (rejected content, bad address, unverified
MAIL FROM domain, unknown configuration set, suspended account) are :class:`PermanentFailure`.
Anything else (for example AccessDenied, a deployment fault) is raised as is.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from asusual.delivery.models import OutgoingMessage, PermanentFailure, SendReceipt
from asusual.errors import Throttled, TransientError
from asusual.store.dynamo import classify_aws_error

# CRLF line ends, and every part 7-bit clean (quoted-printable or base64 for non-ASCII text)
POLICY = SMTP.clone(cte_type="7bit")

PERMANENT_CODES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "AccountSuspendedException",
        "BadRequestException",
        "InvalidParameterValue",
    }
)
PAUSED_RETRY_AFTER = 300  # seconds; a paused account or configuration set does not resume at once


class SesEmailSender:
    def __init__(
        self,
        client: Any,
        *,
        sender: str,
        configuration_set: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        name, address = parseaddr(sender)
        if "@" not in address:
            raise ValueError(f"sender must be an email address, got {sender!r}")
        self._ses = client
        self._sender = sender
        # FromEmailAddress takes a non-ASCII display name only as RFC 2047 encoded words
        self._from_address = formataddr((name, address), charset="utf-8")
        self._configuration_set = configuration_set
        self._reply_to = reply_to

    def send(self, message: OutgoingMessage) -> SendReceipt:
        raw = build_mime(message, sender=self._sender, reply_to=self._reply_to)
        request: dict[str, Any] = {
            "FromEmailAddress": self._from_address,
            "Destination": {"ToAddresses": [parseaddr(message.to)[1]]},  # the envelope: the bare address
            "Content": {"Raw": {"Data": raw}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._ses.send_email(**request)
        except Exception as exc:
            typed = _failure(exc)
            if typed is None:
                raise
            raise typed from exc
        return SendReceipt(provider_id=response.get("MessageId"))


def build_mime(message: OutgoingMessage, *, sender: str, reply_to: str | None = None) -> bytes:
    """The raw MIME message for ``message``; PermanentFailure when the address cannot be used."""
    _check_address(message.to)
    mime = EmailMessage(policy=POLICY)
    mime["From"] = sender
    mime["To"] = message.to
    if reply_to:
        mime["Reply-To"] = reply_to
    mime["Subject"] = message.subject or ""
    mime["Date"] = format_datetime(message.sent_at)
    mime["X-Asusual-Message-Id"] = message.id
    if message.unsubscribe_url:
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.body, subtype="plain", charset="utf-8")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime.as_bytes(policy=POLICY)


def _check_address(to: str) -> None:
    _name, address = parseaddr(to)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c in to for c in "\r\n") or not address.isascii():
        raise PermanentFailure("email: the recipient is not a usable address")  # no PII in errors


def _failure(exc: Exception) -> Exception | None:
    """The typed error for an exception of the SES client, or None to raise it as is."""
    error = getattr(exc, "response", {}).get("Error", {})
    code = error.get("Code", "")
    if code == "SendingPausedException":
        return TransientError("email: sending is paused; retry", retry_after=PAUSED_RETRY_AFTER)
    if code == "LimitExceededException":
        return Throttled("email: the SES sending quota is exhausted; retry", retry_after=60)
    if code in PERMANENT_CODES:
        return PermanentFailure(f"email: SES refused the message ({code}): {error.get('Message', '')}")
    return classify_aws_error(exc, "email (SES)")
