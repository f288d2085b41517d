"""No personal data in logs: the filter on the package's logger."""

import base64
import io
import json
import logging

import pytest

from asusual.access.keys import generate_key, hash_key
from asusual.access.models import KeyScope
from asusual.observability import RedactPersonalData, logger, redact


def test_redact_emails_and_international_phones_anywhere_keeps_ids_times_and_amounts():
    assert (
        redact("to anna@example.com and +7 916 123-45-67 or +79161234567")
        == "to <email> and <phone> or <phone>"
    )
    kept = "p_5caed8b1 W-1001 2026-11-24 01:44:15 2026-11-24T06:00:00Z 1290.00 RUB m_6d25"
    assert redact(kept) == kept
    assert redact({"to": "a@b.ru", "nested": [{"phone": "x"}, "c@d.org"], "n": 3}) == {
        "to": "<redacted>", "nested": [{"phone": "<redacted>"}, "<email>"], "n": 3
    }  # fmt: skip


def test_logger_records_pass_the_filter_message_and_extra_fields():
    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    try:
        logger.info("sent to anna@example.com", email="anna@example.com", first_name="Анна",
                    detail={"phone": "+79161234567", "why": "order W-1"}, profile_id="p_1")  # fmt: skip
    finally:
        handler.setStream(previous)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "sent to <email>"
    assert line["email"] == line["first_name"] == "<redacted>"
    assert line["detail"] == {"phone": "<redacted>", "why": "order W-1"} and line["profile_id"] == "p_1"
    assert any(isinstance(f, RedactPersonalData) for f in logger._logger.filters)


# -- no key is ever logged ----------------------------------------------------------------------

KEYS = {scope: generate_key(scope) for scope in KeyScope}


def test_redact_replaces_our_keys_anywhere_and_keeps_key_ids_and_hashes():
    write, read, admin = KEYS[KeyScope.WRITE], KEYS[KeyScope.READ], KEYS[KeyScope.ADMIN]
    key_id, key_hash = hash_key(write)[:12], hash_key(write)
    assert redact(f"auth with {write}, {read} and x{admin}.") == (
        "auth with asu_w_<redacted>, asu_r_<redacted> and xasu_a_<redacted>."
    )
    ids = {"key_id": key_id, "key_hash": key_hash}
    assert redact({"nested": [{"why": f"key {write}"}, (read,)], **ids}) == {
        "nested": [{"why": "key asu_w_<redacted>"}, ("asu_r_<redacted>",)],
        **ids,
    }
    assert redact(f'{{"writeKey":"{write}","batch":[]}}') == '{"writeKey":"asu_w_<redacted>","batch":[]}'


def test_redact_blanks_credentials_in_headers_and_text_but_not_ordinary_words():
    encoded = base64.b64encode(f"{KEYS[KeyScope.WRITE]}:".encode()).decode()
    assert redact(f"Authorization: Basic {encoded}") == "Authorization: Basic <redacted>"
    assert redact("got bearer read_local_key and Bearer abc.def-123") == (
        "got bearer <redacted> and Bearer <redacted>"
    )
    assert redact("basic information, Bearer of news") == "basic information, Bearer of news"


@pytest.mark.parametrize(
    "field",
    ["authorization", "Authorization", "x-api-key", "X-Api-Key", "api_key", "key", "KEY", "write_key",
     "writeKey", "secret", "token", "password"],
)  # fmt: skip
def test_fields_named_like_credentials_are_blanked_by_exact_name(field):
    assert redact({field: "local-secret-value"}) == {field: "<redacted>"}


@pytest.mark.parametrize(
    "field",
    ["key_id", "key_hash", "keys", "monkey", "key_prefix", "token_expires_at", "secret_arn", "tokens"],
)
def test_fields_that_only_contain_a_credential_word_stay_visible(field):
    assert redact({field: "0123456789ab"}) == {field: "0123456789ab"}


def test_api_gateway_event_logged_whole_has_no_credentials_and_no_unreadable_body():
    event = {
        "headers": {"authorization": f"Bearer {KEYS[KeyScope.ADMIN]}", "x-api-key": "k", "host": "h"},
        "queryStringParameters": {"token": "signed-link-token", "profile_id": "p_1"},
        "body": base64.b64encode(f'{{"writeKey":"{KEYS[KeyScope.WRITE]}"}}'.encode()).decode(),
        "isBase64Encoded": True,
    }
    assert redact(event) == {
        "headers": {"authorization": "<redacted>", "x-api-key": "<redacted>", "host": "h"},
        "queryStringParameters": {"token": "<redacted>", "profile_id": "p_1"},
        "body": "<redacted>",
        "isBase64Encoded": True,
    }


def test_api_gateway_event_logged_whole_has_no_ip_address():
    event = {
        "headers": {"x-forwarded-for": "95.165.10.20", "forwarded": "for=95.165.10.20", "host": "h"},
        "requestContext": {"http": {"sourceIp": "95.165.10.20", "method": "POST"}},
        "context": {"ip": "95.165.10.20", "locale": "ru-RU"},
    }
    assert "95.165.10.20" not in json.dumps(redact(event))
    assert redact(event)["requestContext"] == {"http": {"sourceIp": "<redacted>", "method": "POST"}}


def _log_lines(emit) -> list[str]:
    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        emit()
    finally:
        handler.setStream(previous)
        logger.setLevel(level)
    return stream.getvalue().splitlines()


def test_logger_never_writes_a_key_in_messages_extras_dict_messages_args_or_exceptions():
    write, read, admin = KEYS[KeyScope.WRITE], KEYS[KeyScope.READ], KEYS[KeyScope.ADMIN]
    key_id = hash_key(admin)[:12]

    def emit():
        logger.debug(f"checking {write}", key_id=key_id, headers={"Authorization": f"Bearer {admin}"})
        logger.info("caller %s", read, writeKey=write, detail={"why": [f"key={admin}"]})
        logger.info({"headers": {"authorization": f"Bearer {read}"}, "body": f'{{"writeKey":"{write}"}}'})
        try:
            raise ValueError(f"bad key {admin}")
        except ValueError:
            logger.exception("failed", key_id=key_id)

    lines = _log_lines(emit)
    text = "\n".join(lines)
    assert len(lines) == 4 and all(k not in text for k in (write, read, admin))
    first, second, third, fourth = (json.loads(line) for line in lines)
    assert first["message"] == "checking asu_w_<redacted>" and first["key_id"] == key_id
    assert first["headers"] == {"Authorization": "<redacted>"}
    assert second["message"] == "caller asu_r_<redacted>" and second["writeKey"] == "<redacted>"
    assert third["message"]["headers"] == {"authorization": "<redacted>"}
    assert fourth["exception_name"] == "ValueError" and "bad key asu_a_<redacted>" in fourth["exception"]
    assert fourth["key_id"] == key_id
