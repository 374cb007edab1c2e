"""docs/api.md's route table is the OpenAPI document's: statuses and operations cannot drift."""

from __future__ import annotations

from local import api_docs


def test_the_route_table_in_docs_api_md_is_the_one_the_openapi_document_gives() -> None:
    assert api_docs.API_DOC.read_text(encoding="utf-8") == api_docs.expected_markdown(), "run make api-docs"


def test_the_table_lists_every_operation_with_every_status_it_documents() -> None:
    document = {
        "paths": {
            "/b": {"post": {"operationId": "makeB", "summary": "B | b", "responses": {"422": {}, "201": {}}}},
            "/a": {"get": {"operationId": "getA", "summary": "A", "responses": {"503": {}, "200": {}}}},
        }
    }
    table = api_docs.route_table(document).splitlines()
    assert table[2:] == [
        "| `POST /b` | `makeB` | B \\| b | 201, 422 |",
        "| `GET /a` | `getA` | A | 200, 503 |",
    ]
