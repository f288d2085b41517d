"""The AWS channel senders against moto (SES v2, SNS SMS, SNS mobile push), and their error mapping
with botocore's Stubber where moto cannot produce the error (throttling, outages, paused sending)."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email.policy import default as default_policy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from asusual.channels.push import SnsPushSender, push_payload
from asusual.channels.ses import SesEmailSender
from asusual.channels.sms import SnsSmsSender
from asusual.delivery.models import DeliveryChannel, PermanentFailure
from asusual.errors import Throttled, TransientError
from tests.unit.delivery import message

REGION = "eu-west-1"
SENDER = "Магазин «Утро» <news@shop.example>"
PHONE = "+79161234567"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def captured(client: Any, event: str) -> list[dict[str, Any]]:
    """The parameters of every call of ``event`` (e.g. ``sns.Publish``) the client makes."""
    calls: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(f"provide-client-params.{event}", keep)
    return calls


def client_error(code: str, message: str = "refused") -> dict[str, Any]:
    return {"service_error_code": code, "service_message": message, "http_status_code": 400}


# -- SES v2 ---------------------------------------------------------------------------------------


@pytest.fixture
def sesv2(aws: None) -> Any:
    client = boto3.client("sesv2", region_name=REGION)
    client.create_email_identity(EmailIdentity="shop.example")
    return client


def sent_mail() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_ses_sender_marketing_email_is_raw_mime_with_one_click_unsubscribe(sesv2):
    receipt = SesEmailSender(sesv2, sender=SENDER, reply_to="help@shop.example").send(message())

    [stored] = sent_mail()
    assert receipt.provider_id == stored.id
    assert "anna@example.com" in stored.destinations
    assert stored.raw_data.isascii()  # 7-bit clean: encoded words and base64 parts
    mime = email.message_from_string(stored.raw_data, policy=default_policy)
    assert mime["Subject"] == "Поздравляем, Анна!"
    assert mime["From"].addresses[0].display_name == "Магазин «Утро»"
    assert mime["From"].addresses[0].addr_spec == "news@shop.example"
    assert mime["To"] == "anna@example.com"
    assert mime["Reply-To"] == "help@shop.example"
    assert mime["List-Unsubscribe"] == "<https://api.example.com/v1/unsubscribe?token=u>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mime["X-Asusual-Message-Id"] == "m_1"
    assert mime["Message-ID"] is None  # SES assigns it
    assert mime.get_content_type() == "multipart/alternative"
    text, html = mime.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "Анна, для вас скидка 15% до воскресенья."
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == "<p>Анна, для вас скидка <b>15%</b> до воскресенья.</p>"


def test_ses_sender_transactional_text_email_has_one_part_and_no_unsubscribe(sesv2):
    msg = message(topic="transactional", html=None, unsubscribe_url=None, subject="Ваш заказ №12 готов")
    SesEmailSender(sesv2, sender="news@shop.example").send(msg)

    mime = email.message_from_string(sent_mail()[0].raw_data, policy=default_policy)
    assert mime.get_content_type() == "text/plain"
    assert mime["Subject"] == "Ваш заказ №12 готов"
    assert mime.get_content().strip() == "Анна, для вас скидка 15% до воскресенья."
    assert mime["List-Unsubscribe"] is None and mime["List-Unsubscribe-Post"] is None


def test_ses_sender_request_uses_from_address_destination_and_configuration_set(sesv2):
    calls = captured(sesv2, "sesv2.SendEmail")
    SesEmailSender(sesv2, sender=SENDER, configuration_set="marketing").send(message())

    [params] = calls
    assert params["FromEmailAddress"].endswith("<news@shop.example>")
    assert params["FromEmailAddress"].isascii()  # the Cyrillic display name as RFC 2047 words
    assert params["Destination"] == {"ToAddresses": ["anna@example.com"]}
    assert params["ConfigurationSetName"] == "marketing"
    assert set(params["Content"]) == {"Raw"}


def test_ses_sender_recipient_with_display_name_has_bare_envelope_address(sesv2):
    calls = captured(sesv2, "sesv2.SendEmail")
    SesEmailSender(sesv2, sender=SENDER).send(message(to="Анна Петрова <anna@example.com>"))

    assert calls[0]["Destination"] == {"ToAddresses": ["anna@example.com"]}
    mime = email.message_from_string(sent_mail()[0].raw_data, policy=default_policy)
    assert mime["To"].addresses[0].display_name == "Анна Петрова"
    assert mime["To"].addresses[0].addr_spec == "anna@example.com"


def test_ses_sender_unverified_sender_is_permanent_failure(sesv2):
    with pytest.raises(PermanentFailure, match="MessageRejected"):
        SesEmailSender(sesv2, sender="news@elsewhere.example").send(message())
    assert sent_mail() == []


@pytest.mark.parametrize(
    "to", ["anna", "anna@", "@example.com", "anna@localhost", "a@b.c\r\nBcc: x@y.z", "анна@пример.рф"]
)
def test_ses_sender_unusable_address_is_permanent_failure_without_a_call(sesv2, to):
    calls = captured(sesv2, "sesv2.SendEmail")
    with pytest.raises(PermanentFailure, match="not a usable address"):
        SesEmailSender(sesv2, sender=SENDER).send(message(to=to))
    assert calls == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TooManyRequestsException", Throttled),
        ("LimitExceededException", Throttled),
        ("InternalFailure", TransientError),
        ("SendingPausedException", TransientError),
        ("MessageRejected", PermanentFailure),
        ("MailFromDomainNotVerifiedException", PermanentFailure),
        ("NotFoundException", PermanentFailure),
        ("AccountSuspendedException", PermanentFailure),
        ("BadRequestException", PermanentFailure),
    ],
)
def test_ses_sender_error_code_maps_to_typed_error(code, expected):
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", **client_error(code))
        with pytest.raises(expected) as caught:
            SesEmailSender(client, sender=SENDER).send(message())
    assert isinstance(caught.value.__cause__, ClientError)
    if code == "SendingPausedException":
        assert isinstance(caught.value, TransientError) and caught.value.retry_after >= 60


def test_ses_sender_unexpected_error_is_raised_as_is():
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", **client_error("AccessDeniedException"))
        with pytest.raises(ClientError, match="AccessDenied"):
            SesEmailSender(client, sender=SENDER).send(message())


def test_ses_sender_non_address_sender_is_a_value_error():
    with pytest.raises(ValueError, match="email address"):
        SesEmailSender(object(), sender="Магазин")


# -- SNS SMS --------------------------------------------------------------------------------------


@pytest.fixture
def sns(aws: None) -> Any:
    return boto3.client("sns", region_name=REGION)


def sns_backend() -> Any:
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION]


def sms(**changes: Any) -> Any:
    fields = {"channel": DeliveryChannel.SMS, "to": PHONE, "subject": None, "html": None}
    return message(**{**fields, **changes})


def test_sms_sender_marketing_is_promotional_with_sender_id(sns):
    calls = captured(sns, "sns.Publish")
    receipt = SnsSmsSender(sns, sender_id="SHOP", origination_number="+12065550100").send(sms())

    assert dict(sns_backend().sms_messages) == {
        receipt.provider_id: (PHONE, "Анна, для вас скидка 15% до воскресенья.")
    }
    [params] = calls
    assert params["MessageAttributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
        "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "SHOP"},
        "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": "+12065550100"},
    }


def test_sms_sender_transactional_is_transactional_without_optional_attributes(sns):
    calls = captured(sns, "sns.Publish")
    SnsSmsSender(sns).send(sms(topic="transactional", body="Заказ №12 готов"))

    assert list(sns_backend().sms_messages.values()) == [(PHONE, "Заказ №12 готов")]
    assert calls[0]["MessageAttributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
    }


def test_sms_sender_opted_out_number_is_permanent_failure(sns):
    # moto answers "opted out" for every number ending in 99
    with pytest.raises(PermanentFailure, match="opted out"):
        SnsSmsSender(sns).send(sms(to="+79161234599"))
    assert sns_backend().sms_messages == {}


def test_sms_sender_without_opt_out_check_publishes_directly(sns):
    calls = captured(sns, "sns.CheckIfPhoneNumberIsOptedOut")
    SnsSmsSender(sns, check_opt_out=False).send(sms())
    assert calls == [] and len(sns_backend().sms_messages) == 1


@pytest.mark.parametrize(
    "to", ["89161234567", "+0123", "+7 916 123-45-67", "anna@example.com", "+7916123456789012"]
)
def test_sms_sender_non_e164_number_is_permanent_failure(sns, to):
    with pytest.raises(PermanentFailure, match=r"E\.164"):
        SnsSmsSender(sns).send(sms(to=to))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Throttled", Throttled),
        ("Throttling", Throttled),
        ("KMSThrottling", Throttled),
        ("InternalError", TransientError),
        ("InvalidParameter", PermanentFailure),
        ("ParameterValueInvalid", PermanentFailure),
    ],
)
def test_sms_sender_error_code_maps_to_typed_error(code, expected):
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("publish", **client_error(code))
        with pytest.raises(expected):
            SnsSmsSender(client, check_opt_out=False).send(sms())


def test_sms_sender_throttled_opt_out_check_is_throttled():
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("check_if_phone_number_is_opted_out", **client_error("Throttled"))
        with pytest.raises(Throttled):
            SnsSmsSender(client).send(sms())


# -- SNS mobile push ------------------------------------------------------------------------------


@pytest.fixture
def apps(sns: Any) -> dict[str, str]:
    def app(name: str, platform: str) -> str:
        return sns.create_platform_application(Name=name, Platform=platform, Attributes={})[
            "PlatformApplicationArn"
        ]

    return {"fcm": app("shop-android", "GCM"), "apns": app("shop-ios", "APNS")}


def push(**changes: Any) -> Any:
    fields = {"channel": DeliveryChannel.PUSH, "subject": "Поздравляем!", "html": None}
    return message(**{**fields, **changes})


def endpoints() -> list[Any]:
    return list(sns_backend().platform_endpoints.values())


def test_push_sender_device_token_creates_one_endpoint_and_publishes_json(sns, apps):
    token = "dXk3:APA91bH-token"  # FCM tokens contain a colon
    sender = SnsPushSender(sns, platform_applications=apps)
    first = sender.send(push(to=f"fcm:{token}"))
    second = sender.send(push(to=f"fcm:{token}", id="m_2"))

    [endpoint] = endpoints()  # the same token twice: one endpoint
    assert endpoint.token == token and endpoint.application.arn == apps["fcm"]
    assert list(endpoint.messages) == [first.provider_id, second.provider_id]
    structured = json.loads(next(iter(endpoint.messages.values())))
    assert set(structured) == {"default", "APNS", "APNS_SANDBOX", "GCM"}
    assert structured["default"] == "Анна, для вас скидка 15% до воскресенья."
    fcm = json.loads(structured["GCM"])["fcmV1Message"]["message"]
    assert fcm["notification"] == {
        "title": "Поздравляем!",
        "body": "Анна, для вас скидка 15% до воскресенья.",
    }
    assert fcm["data"] == {"message_id": "m_1"}
    apns = json.loads(structured["APNS"])
    assert apns["aps"]["alert"] == {
        "title": "Поздравляем!",
        "body": "Анна, для вас скидка 15% до воскресенья.",
    }
    assert json.loads(structured["APNS_SANDBOX"]) == apns


def test_push_sender_endpoint_arn_publishes_without_creating(sns, apps):
    arn = sns.create_platform_endpoint(PlatformApplicationArn=apps["apns"], Token="a" * 64)["EndpointArn"]
    calls = captured(sns, "sns.CreatePlatformEndpoint")
    receipt = SnsPushSender(sns, platform_applications=apps).send(push(to=arn))

    assert calls == []
    [endpoint] = endpoints()
    assert list(endpoint.messages) == [receipt.provider_id]


def test_push_sender_disabled_endpoint_is_permanent_failure(sns, apps):
    arn = sns.create_platform_endpoint(PlatformApplicationArn=apps["fcm"], Token="tok-1")["EndpointArn"]
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    sender = SnsPushSender(sns, platform_applications=apps)

    with pytest.raises(PermanentFailure, match="EndpointDisabled"):
        sender.send(push(to=arn))
    # by token: SNS refuses to recreate it (same token, other attributes), naming the disabled endpoint
    with pytest.raises(PermanentFailure, match="EndpointDisabled"):
        sender.send(push(to="fcm:tok-1"))
    assert len(endpoints()) == 1 and not endpoints()[0].messages


def test_push_sender_deleted_endpoint_is_permanent_failure(sns, apps):
    arn = sns.create_platform_endpoint(PlatformApplicationArn=apps["fcm"], Token="tok-2")["EndpointArn"]
    sns.delete_endpoint(EndpointArn=arn)
    with pytest.raises(PermanentFailure, match="NotFound"):
        SnsPushSender(sns, platform_applications=apps).send(push(to=arn))


@pytest.mark.parametrize(
    ("to", "match"),
    [
        ("hms:token", "no platform application for 'hms'"),
        ("token-without-platform", "neither"),
        ("fcm:", "neither"),
        ("arn:aws:sns:eu-west-1:123456789012:my-topic", "not an SNS platform endpoint"),
    ],
)
def test_push_sender_unusable_address_is_permanent_failure(sns, apps, to, match):
    with pytest.raises(PermanentFailure, match=match):
        SnsPushSender(sns, platform_applications=apps).send(push(to=to))
    assert endpoints() == []


def test_push_payload_without_subject_has_body_only():
    structured = json.loads(push_payload(push(subject=None)))
    assert json.loads(structured["APNS"])["aps"]["alert"] == {
        "body": "Анна, для вас скидка 15% до воскресенья."
    }
    fcm = json.loads(structured["GCM"])["fcmV1Message"]["message"]["notification"]
    assert fcm == {"body": "Анна, для вас скидка 15% до воскресенья."}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Throttled", Throttled),
        ("InternalError", TransientError),
        ("EndpointDisabled", PermanentFailure),
        ("PlatformApplicationDisabled", PermanentFailure),
        ("InvalidParameter", PermanentFailure),
    ],
)
def test_push_sender_error_code_maps_to_typed_error(code, expected):
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-android/0b6e7f1c-2f5a-4c1e-9a57-1d3c0b9f3a11"
    with Stubber(client) as stub:
        stub.add_client_error("publish", **client_error(code))
        with pytest.raises(expected):
            SnsPushSender(client, platform_applications={}).send(push(to=arn))


def test_push_sender_create_endpoint_error_other_than_existing_is_mapped():
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    app = "arn:aws:sns:eu-west-1:123456789012:app/GCM/shop-android"
    with Stubber(client) as stub:
        stub.add_client_error("create_platform_endpoint", **client_error("InvalidParameter", "Invalid token"))
        with pytest.raises(PermanentFailure, match="Invalid token"):
            SnsPushSender(client, platform_applications={"fcm": app}).send(push(to="fcm:bad"))
