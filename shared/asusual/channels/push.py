"""Mobile push through Amazon SNS platform endpoints (APNs, FCM).

``message.to`` is an SNS endpoint ARN, or ``<platform>:<device token>`` (``fcm:dXk...``), for which
the sender first creates (or finds) the platform endpoint: CreatePlatformEndpoint answers the
existing endpoint's ARN for a token it knows. When the token's endpoint exists with other
attributes (it was disabled, or carries user data), SNS refuses and names that endpoint in the
error; the sender then publishes to it, so a disabled endpoint is reported as such.

One publish carries a payload per platform (``MessageStructure=json``); SNS picks the one of the
endpoint's platform. Title is ``message.subject``, body ``message.body``; ``message_id`` travels as
custom data for the app.

Errors: throttling and outages are retryable; a disabled endpoint or platform application, an
unknown endpoint, an unknown platform or a refused token is a :class:`PermanentFailure`; anything
else is raised as is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asusual.channels.sms import sns_failure
from asusual.delivery.models import OutgoingMessage, PermanentFailure, SendReceipt

ENDPOINT_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:endpoint/[A-Za-z_]+/[^/\s]+/[^/\s]+")
_EXISTING = re.compile(r"Endpoint (arn:\S+) already exists with the same [Tt]oken")
PUSH_PERMANENT_CODES = frozenset(
    {
        "EndpointDisabled",
        "PlatformApplicationDisabled",
        "NotFound",
        "InvalidParameter",
        "ParameterValueInvalid",
    }
)


class SnsPushSender:
    def __init__(self, client: Any, *, platform_applications: dict[str, str]) -> None:
        """``platform_applications``: platform name as used in ``message.to`` (``apns``,
        ``apns_sandbox``, ``fcm``) -> its SNS platform application ARN."""
        self._sns = client
        self._applications = {name.lower(): arn for name, arn in platform_applications.items()}

    def send(self, message: OutgoingMessage) -> SendReceipt:
        payload = push_payload(message)
        try:
            endpoint = self._endpoint(message.to)
            response = self._sns.publish(TargetArn=endpoint, Message=payload, MessageStructure="json")
        except PermanentFailure:
            raise
        except Exception as exc:
            typed = sns_failure(exc, "push (SNS)", PUSH_PERMANENT_CODES)
            if typed is None:
                raise
            raise typed from exc
        return SendReceipt(provider_id=response.get("MessageId"))

    def _endpoint(self, to: str) -> str:
        if to.startswith("arn:"):
            if not ENDPOINT_ARN.fullmatch(to):
                raise PermanentFailure("push: the ARN is not an SNS platform endpoint ARN")
            return to
        platform, _, token = to.partition(":")
        token = token.strip()
        if not platform or not token:
            raise PermanentFailure("push: the address is neither an endpoint ARN nor <platform>:<token>")
        application = self._applications.get(platform.lower())
        if application is None:
            raise PermanentFailure(f"push: no platform application for {platform!r}")
        try:
            created = self._sns.create_platform_endpoint(PlatformApplicationArn=application, Token=token)
        except Exception as exc:
            error = getattr(exc, "response", {}).get("Error", {})
            existing = _EXISTING.search(error.get("Message", ""))
            if error.get("Code") != "InvalidParameter" or existing is None:
                raise
            return existing.group(1)
        return str(created["EndpointArn"])


def push_payload(message: OutgoingMessage) -> str:
    """The ``MessageStructure=json`` message: a payload for APNs (production and sandbox), one for
    FCM (HTTP v1 shape), and the plain body for anything else."""
    alert = {"title": message.subject, "body": message.body} if message.subject else {"body": message.body}
    apns = {"aps": {"alert": alert}, "message_id": message.id}
    fcm = {"fcmV1Message": {"message": {"notification": alert, "data": {"message_id": message.id}}}}
    per_platform = {
        "default": message.body,
        "APNS": _compact(apns),
        "APNS_SANDBOX": _compact(apns),
        "GCM": _compact(fcm),
    }
    return _compact(per_platform)


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
