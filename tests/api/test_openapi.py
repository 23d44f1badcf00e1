"""docs/openapi.json is the document the app serves; regenerate it with
``python -m mql.api.openapi docs/openapi.json`` (or ``mql serve --write-openapi PATH``)."""

from __future__ import annotations

import json
from pathlib import Path

from mql.api.openapi import document

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_checked_in_openapi_document_is_current() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == document(), (
        "docs/openapi.json is stale; run `python -m mql.api.openapi docs/openapi.json` "
        "and review the diff")


def test_every_endpoint_documents_its_refusals_and_security() -> None:
    doc = json.loads(document())
    assert {"/v1/track", "/v1/batch", "/v1/leads/{lead}", "/v1/models"} <= set(doc["paths"])
    schemes = doc["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"basic", "bearer"}
