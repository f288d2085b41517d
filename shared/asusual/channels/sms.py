"""SMS through Amazon SNS (direct publish to a phone number).

Marketing messages go as ``Promotional`` (cheapest route, may be held back in quiet hours by some
carriers), everything else as ``Transactional``. Before publishing, the sender asks SNS whether the
number has opted out (a STOP reply is recorded by SNS, not by us): Publish does not fail for an
opted-out number, the drop only shows in the SMS delivery logs, so without the check the message
would count as sent. ``check_opt_out=False`` skips the check (one API call per message).

Errors: throttling and outages are retryable (SNS's own ``Throttled`` and ``KMSThrottling`` codes
included); an invalid number, an opted-out number or a refused parameter is a
:class:`PermanentFailure`; anything else is raised as is.
"""

from __future__ import annotations

import re
from typing import Any

from asusual.delivery.models import OutgoingMessage, PermanentFailure, SendReceipt
from asusual.errors import Throttled
from asusual.store.dynamo import classify_aws_error

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
SNS_THROTTLING_CODES = frozenset({"Throttled", "KMSThrottling"})
SMS_PERMANENT_CODES = frozenset({"InvalidParameter", "ParameterValueInvalid", "OptedOut"})


class SnsSmsSender:
    def __init__(
        self,
        client: Any,
        *,
        sender_id: str | None = None,
        origination_number: str | None = None,
        check_opt_out: bool = True,
    ) -> None:
        self._sns = client
        self._sender_id = sender_id
        self._origination_number = origination_number
        self._check_opt_out = check_opt_out

    def send(self, message: OutgoingMessage) -> SendReceipt:
        if not E164.fullmatch(message.to):
            raise PermanentFailure("sms: the recipient is not an E.164 phone number")  # no PII in errors
        attributes = {
            "AWS.SNS.SMS.SMSType": _string("Promotional" if message.topic == "marketing" else "Transactional")
        }
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = _string(self._sender_id)
        if self._origination_number:
            attributes["AWS.MM.SMS.OriginationNumber"] = _string(self._origination_number)
        try:
            if self._check_opt_out:
                answer = self._sns.check_if_phone_number_is_opted_out(phoneNumber=message.to)
                if answer.get("isOptedOut"):
                    raise PermanentFailure("sms: the recipient has opted out of SMS")
            response = self._sns.publish(
                PhoneNumber=message.to, Message=message.body, MessageAttributes=attributes
            )
        except PermanentFailure:
            raise
        except Exception as exc:
            typed = sns_failure(exc, "sms (SNS)", SMS_PERMANENT_CODES)
            if typed is None:
                raise
            raise typed from exc
        return SendReceipt(provider_id=response.get("MessageId"))


def sns_failure(exc: Exception, what: str, permanent: frozenset[str]) -> Exception | None:
    """The typed error for an exception of the SNS client (``permanent``: the error codes that
    refuse the message for good), or None to raise it as is."""
    error = getattr(exc, "response", {}).get("Error", {})
    code = error.get("Code", "")
    if code in SNS_THROTTLING_CODES:
        return Throttled(f"{what} is throttled; retry", retry_after=1)
    if code in permanent:
        return PermanentFailure(f"{what} refused the message ({code}): {error.get('Message', '')}")
    return classify_aws_error(exc, what)


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
