"""The served OpenAPI document, byte for byte: how the routes are served may change (issue 25 took
Powertools' Event Handler off the request path), what they promise a client may not.

The golden copy was written from the document as Powertools' resolver served it before that change.
A change meant to alter the document rewrites it (``PYTHONPATH=layers/minted:. python -m
tests.api.test_openapi_document``), and the diff shows in review what a client will see.
"""

from __future__ import annotations

import json
from pathlib import Path

from local.gateway import LocalGateway

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "openapi" / "openapi.json"
SERVER = "http://127.0.0.1:3000"


def served_document() -> str:
    """What GET /openapi.json answers (the local gateway sends ``json.dumps`` of it), indented to review."""
    return json.dumps(LocalGateway().openapi(SERVER), indent=1, ensure_ascii=False) + "\n"


def test_the_served_openapi_document_is_the_golden_copy() -> None:
    assert served_document() == GOLDEN.read_text(encoding="utf-8"), "the served OpenAPI document changed"


if __name__ == "__main__":
    GOLDEN.write_text(served_document(), encoding="utf-8")
