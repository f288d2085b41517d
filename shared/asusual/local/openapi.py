"""The OpenAPI document of every API function, generated from the code.

``python -m asusual.local.openapi > docs/openapi.json`` (``make openapi``) keeps docs/ in sync; a
test fails when it is not."""

from __future__ import annotations

import json
import sys
from typing import Any

from asusual.access.views import KeyRequest, RotateRequest, SourceRequest
from asusual.api import openapi_document
from asusual.catalog.service import CatalogUpload
from asusual.decisions.decide import DecideRequest
from asusual.decisions.visitor import VisitorRequest
from asusual.intake.models import SegmentBatch, SegmentMessage
from asusual.local.functions import API_FUNCTIONS
from functions.profiles_api.handler import UnmergeRequest


def document() -> dict[str, Any]:
    return openapi_document(
        [function.load().app for function in API_FUNCTIONS],
        body_models=[
            SegmentBatch,
            SegmentMessage,
            CatalogUpload,
            SourceRequest,
            RotateRequest,
            KeyRequest,
            DecideRequest,
            VisitorRequest,
            UnmergeRequest,
        ],
    )


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
