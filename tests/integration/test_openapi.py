from pathlib import Path

from asusual.local.openapi import document, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_matches_the_code():
    assert DOCS.read_text(encoding="utf-8") == render(), "run `make openapi` and commit docs/openapi.json"


def test_openapi_documents_bodies_auth_and_400_not_422():
    doc = document()
    batch = doc["paths"]["/v1/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SegmentBatch")
    assert {"200", "400", "401", "429", "503"} <= set(batch["responses"])
    assert "422" not in batch["responses"]
    assert {"keyBasic", "keyBearer"} <= set(doc["components"]["securitySchemes"])
    assert "SegmentMessage" in doc["components"]["schemas"]
