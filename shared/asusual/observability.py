"""One Logger, Tracer and Metrics for the whole package.

The service name comes from POWERTOOLS_SERVICE_NAME, which the infrastructure sets per function
(``asusual`` when unset); the metric namespace is always ``asusual``.

No personal data in logs: the code logs ids, never traits; as a safety net every record passes a
filter that replaces email addresses and international phone numbers in the message and in every
extra field (nested too), and the values of fields named like personal data.
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
     "firstName", "lastName", "middleName", "birthday", "device_token", "push_address"}
)  # fmt: skip
# what a log record carries of its own (never personal: kept as they are)
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(value: Any) -> Any:
    """``value`` with email addresses and phone numbers replaced, recursively."""
    if isinstance(value, str):
        return PHONE.sub("<phone>", EMAIL.sub("<email>", value))
    if isinstance(value, dict):
        return {k: "<redacted>" if k in PERSONAL_FIELDS else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        for key, value in list(vars(record).items()):
            if key in _RECORD_FIELDS:
                continue
            setattr(record, key, "<redacted>" if key in PERSONAL_FIELDS else redact(value))
        return True


logger = Logger(service=SERVICE)
logger.addFilter(RedactPersonalData())
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="asusual", service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "redact", "tracer"]
