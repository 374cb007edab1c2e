"""``make api-docs``: docs/api.md's route table, written from the OpenAPI document the handlers produce.

The table sits between two markers in docs/api.md; ``--write`` replaces it, ``--check`` (the
tests) fails when it differs, so the documented statuses cannot drift from what the routes answer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from local.gateway import LocalGateway
from local.template import TEMPLATE

API_DOC = TEMPLATE.parent / "docs" / "api.md"
BEGIN = "<!-- routes:begin: written by `make api-docs` from the OpenAPI document; edit the handlers, not this -->"
END = "<!-- routes:end -->"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def route_table(document: dict[str, Any]) -> str:
    rows = ["| route | operationId | what it does | answers |", "|---|---|---|---|"]
    for path, item in document["paths"].items():
        for method in sorted(item, key=METHOD_ORDER.index):
            operation = item[method]
            statuses = sorted(operation.get("responses", {}), key=lambda status: (int(status) >= 400, int(status)))
            summary = str(operation.get("summary", "")).replace("|", "\\|")
            operation_id = operation.get("operationId", "")
            rows.append(f"| `{method.upper()} {path}` | `{operation_id}` | {summary} | {', '.join(statuses)} |")
    return "\n".join(rows)


def with_table(markdown: str, table: str) -> str:
    before, found_begin, rest = markdown.partition(BEGIN)
    _, found_end, after = rest.partition(END)
    if not (found_begin and found_end):
        raise ValueError(f"{API_DOC.name} lacks the markers {BEGIN!r} and {END!r}")
    return f"{before}{BEGIN}\n{table}\n{END}{after}"


def expected_markdown(path: Path = API_DOC) -> str:
    document = LocalGateway().openapi("http://127.0.0.1:3000")
    return with_table(path.read_text(encoding="utf-8"), route_table(document))


def main() -> None:
    parser = argparse.ArgumentParser(prog="make api-docs", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite docs/api.md's route table")
    args = parser.parse_args()
    expected = expected_markdown()
    if args.write:
        API_DOC.write_text(expected, encoding="utf-8")
        print(f"wrote the route table of {API_DOC.relative_to(TEMPLATE.parent)}")
    elif expected != API_DOC.read_text(encoding="utf-8"):
        print("docs/api.md's route table differs from the OpenAPI document: run make api-docs", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
