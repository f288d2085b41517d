"""The senders a deployment has: SES, SNS (SMS, push) and webhooks in AWS; every channel into the
local outbox in local mode and tests (``ASUSUAL_DELIVERY_MODE``)."""

from __future__ import annotations

from asusual.channels.outbox import OutboxSender
from asusual.channels.push import SnsPushSender
from asusual.channels.ses import SesEmailSender
from asusual.channels.sms import SnsSmsSender
from asusual.channels.webhook import WebhookSender
from asusual.delivery.models import DeliveryChannel, Sender
from asusual.settings import Settings
from asusual.store import clients
from asusual.store.secrets import webhook_secret


def senders(settings: Settings) -> dict[DeliveryChannel, Sender]:
    if settings.delivery_mode == "outbox":
        outbox = OutboxSender()
        return dict.fromkeys(DeliveryChannel, outbox)
    out: dict[DeliveryChannel, Sender] = {}
    if settings.sender_email:
        out[DeliveryChannel.EMAIL] = SesEmailSender(
            clients.sesv2(), sender=settings.sender_email, configuration_set=settings.email_configuration_set
        )
    out[DeliveryChannel.SMS] = SnsSmsSender(
        clients.sns(), sender_id=settings.sms_sender_id, origination_number=settings.sms_origination_number
    )
    if settings.push_platform_applications:
        out[DeliveryChannel.PUSH] = SnsPushSender(
            clients.sns(), platform_applications=settings.push_platform_applications
        )
    for channel in (DeliveryChannel.STORE, DeliveryChannel.CALL_CENTER):
        url = settings.webhooks.get(channel.value)
        if url:
            out[channel] = WebhookSender(url, webhook_secret())
    return out
