"""One Logger, Tracer and Metrics for the whole package.

The service name comes from POWERTOOLS_SERVICE_NAME, which the infrastructure sets per function
(``asusual`` when unset); the metric namespace is always ``asusual``.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "asusual")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="asusual", service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
