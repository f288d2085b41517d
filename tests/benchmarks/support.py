"""What the DynamoDB benchmarks share: AWS's item size rules, and running the local stack in the
benchmark's process without leaving state or output behind."""

from __future__ import annotations

import base64
import contextlib
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asusual import clock as clock_module
from asusual.local.runtime import LocalRuntime


def value_size(value: dict[str, Any]) -> int:
    """AWS's size of one attribute value (item sizes and formats)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":  # bytes from boto3, base64 text on the wire
        return len(raw) if isinstance(raw, bytes | bytearray) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: r}) for r in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@contextlib.contextmanager
def process_state() -> Iterator[None]:
    """LocalRuntime sets environment variables, the clock and module caches: undo them after."""
    saved_env = dict(os.environ)
    saved_clock = clock_module.set_clock(clock_module.get_clock())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        clock_module.set_clock(saved_clock)
        LocalRuntime._reset_caches()


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The functions log JSON lines and print EMF metrics to stdout (CloudWatch in AWS); here they
    go to a null sink (still formatted: their CPU is counted)."""
    from asusual.observability import logger

    handlers = [h for h in logger._logger.handlers if isinstance(h, logging.StreamHandler)]
    with Path(os.devnull).open("w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        saved = [h.setStream(sink) for h in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, saved, strict=True):
                if stream is not None:
                    handler.setStream(stream)
