"""No personal data in logs: the filter on the package's logger."""

import io
import json
import logging

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
