"""One Logger, Tracer and Metrics for the whole package.

The service name comes from POWERTOOLS_SERVICE_NAME, which the infrastructure sets per function
(``asusual`` when unset); the metric namespace is always ``asusual``.

No personal data and no key in logs: the code logs ids (``key_id``, never a key), never traits; as a
safety net every record passes a filter that replaces email addresses, international phone numbers,
our API keys (``asu_w_…``, ``asu_r_…``, ``asu_a_…``) and ``Bearer``/``Basic`` credentials in the
message and in every extra field (nested too), blanks the values of fields named like personal data
or credentials (exact names: ``key`` is blanked, ``key_id`` stays), and redacts an exception's text
when it carries a key.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "asusual")

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d\s()-]{8,18}\d")  # international form (E.164 and spaced): +7 916 123-45-67
PERSONAL_FIELDS = frozenset(
    {"email", "phone", "to", "address", "name", "first_name", "last_name", "middle_name", "traits",
     "firstName", "lastName", "middleName", "birthday", "device_token", "push_address",
     # a visitor's IP address (docs/privacy.md, "Where the visitor is"): context.ip, API Gateway's
     # requestContext.http.sourceIp and the forwarding headers of a logged event
     "ip", "sourceIp", "source_ip", "client_ip", "x-forwarded-for", "forwarded", "x-real-ip"}
)  # fmt: skip
# asusual.access.keys: a scope prefix and secrets.token_urlsafe(32) (43 characters; shorter ones too)
API_KEY = re.compile(r"(asu_[wra]_)[A-Za-z0-9_-]{16,}")
# an Authorization header's credentials: Bearer <key>, Basic base64(<key>:); a token of letters
# only counts from 16 characters, so "basic information" in a sentence stays
CREDENTIALS = re.compile(
    r"\b(bearer|basic)(\s+)(?:(?=[A-Za-z0-9_.~+/=-]*[0-9_.~+/=-])[A-Za-z0-9_.~+/=-]{8,}|[A-Za-z]{16,})",
    re.IGNORECASE,
)
# fields whose values are credentials, compared by exact lowercased name (key_id, key_hash stay)
CREDENTIAL_FIELDS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x_api_key", "api_key", "api-key", "apikey",
     "key", "write_key", "writekey", "secret", "token", "password", "cookie", "cookies",
     "identity_secret", "identity_signature"}
)  # fmt: skip
# what a log record carries of its own (never personal: kept as they are)
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(value: Any) -> Any:
    """``value`` with email addresses, phone numbers and keys replaced, recursively; the values of
    fields named like personal data or credentials blanked."""
    if isinstance(value, str):
        value = CREDENTIALS.sub(r"\1\2<redacted>", API_KEY.sub(r"\1<redacted>", value))
        return PHONE.sub("<phone>", EMAIL.sub("<email>", value))
    if isinstance(value, dict):
        body_is_base64 = value.get("isBase64Encoded") is True  # an API Gateway event: cannot be read
        return {
            k: "<redacted>" if _blanked(k) or (body_is_base64 and k == "body") else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def _blanked(field: object) -> bool:
    return isinstance(field, str) and (field in PERSONAL_FIELDS or field.lower() in CREDENTIAL_FIELDS)


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str | dict | list | tuple):  # a dict: e.g. the event (log_event)
            record.msg = redact(record.msg)
        if record.args:
            record.args = redact(record.args) if isinstance(record.args, tuple | dict) else record.args
        for key, value in list(vars(record).items()):
            if key in _RECORD_FIELDS:
                continue
            setattr(record, key, "<redacted>" if _blanked(key) else redact(value))
        self._redact_exception(record)
        return True

    @staticmethod
    def _redact_exception(record: logging.LogRecord) -> None:
        """An exception whose text carries a key or personal data is logged as redacted text only
        (``exception``, ``exception_name``: what the powertools formatter prints)."""
        if not (isinstance(record.exc_info, tuple) and record.exc_info[0] is not None):
            return
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(text)
        if cleaned != text:
            record.exception = cleaned
            record.exception_name = record.exc_info[0].__name__
            record.exc_info, record.exc_text = None, None


logger = Logger(service=SERVICE)
logger.addFilter(RedactPersonalData())
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="asusual", service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "redact", "tracer"]
