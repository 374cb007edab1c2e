"""The README's walkthroughs as data: the blocks to run and the answers they should give.

The README marks them with HTML comments (invisible when rendered):

- ``<!-- readme:walkthrough NAME -->`` starts a walkthrough; its steps run in order.
- ``<!-- readme:run [sandbox-seconds=N] [exit=nonzero] -->`` before a ```bash block: run it. The
  sandbox's clock moves N seconds first (instead of sleeping); it must succeed, or with ``exit=nonzero`` fail.
- ``<!-- readme:expect [vary=key,key] -->`` before the block that shows the answer: ```json (the
  last JSON document printed), ```http (``curl -i``: status, headers, JSON body) or plain text
  (these lines, in this order; ``...`` stands for any lines).
- ``<!-- readme:banner -->`` before the lines ``make dev`` prints once it is up.

A line ``NAME=<key from above>`` in a run block is what the reader fills in: the test sets NAME to
``key``'s value in the walkthrough's last JSON answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
_MARKER = re.compile(r"^<!-- readme:(\w+)\s*(.*?)\s*-->$")
_PLACEHOLDER = re.compile(r"^(\w+)=<(\w+) from above>$", re.MULTILINE)
ANY = "..."

# Values that differ from run to run: prices, tokens, ids Minted makes, times. Only their JSON type is compared.
VOLATILE_KEYS = frozenset(
    {
        "price_token", "token", "expires_at", "expire_ttl", "expires_in_seconds", "unit_price", "line_total",
        "total", "price", "spot_price", "buy_price", "sell_price", "currency_total", "order_codes", "order_code",
        "guids", "guid", "order_at", "created_at", "updated_at", "as_of", "age_seconds", "started_at", "at",
        "request_id", "source", "refreshed", "stale",
    }
)  # fmt: skip
VOLATILE_HEADERS = frozenset({"x-request-id", "date", "content-length", "server", "connection"})


@dataclass
class Expectation:
    kind: str  # json, http or text
    text: str
    vary: frozenset[str] = frozenset()


@dataclass
class Step:
    script: str
    sandbox_seconds: float = 0
    fails: bool = False
    expect: Expectation | None = None


@dataclass
class Walkthrough:
    name: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class Readme:
    banner: list[str]
    walkthroughs: list[Walkthrough]


def _options(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def parse(text: str | None = None) -> Readme:
    lines = (text if text is not None else README.read_text(encoding="utf-8")).splitlines()
    banner: list[str] = []
    walkthroughs: list[Walkthrough] = []
    pending: tuple[str, dict[str, str]] | None = None
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        marker = _MARKER.match(line)
        if marker:
            kind, rest = marker.groups()
            if kind == "walkthrough":
                walkthroughs.append(Walkthrough(rest))
            else:
                pending = (kind, _options(rest))
        elif line.startswith("```") and pending is not None:
            language = line.removeprefix("```").strip()
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            block = "\n".join(lines[index + 1 : end])
            kind, options = pending
            pending = None
            index = end
            if kind == "banner":
                banner = block.splitlines()
            elif kind == "run":
                walkthroughs[-1].steps.append(
                    Step(block, float(options.get("sandbox-seconds", 0)), options.get("exit") == "nonzero")
                )
            elif kind == "expect":
                vary = frozenset(filter(None, options.get("vary", "").split(",")))
                expect_kind = language if language in ("json", "http") else "text"
                walkthroughs[-1].steps[-1].expect = Expectation(expect_kind, block, vary)
        index += 1
    return Readme(banner, walkthroughs)


def fill_placeholders(script: str, last_answer: Any) -> str:
    def value(match: re.Match[str]) -> str:
        found = find_key(last_answer, match.group(2))
        assert found is not None, f"no {match.group(2)!r} in the previous answer to fill {match.group(0)!r}"
        return f"{match.group(1)}='{found}'"

    return _PLACEHOLDER.sub(value, script)


def find_key(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = find_key(item, key)
            if found is not None:
                return found
    return None


def json_documents(text: str) -> list[Any]:
    """Every JSON document in ``text`` (curl prints them back to back, with or without newlines)."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    documents, index = [], 0
    while True:
        start = min((i for i in (text.find("{", index), text.find("[", index)) if i >= 0), default=-1)
        if start < 0:
            return documents
        try:
            document, index = decoder.raw_decode(text, start)
            documents.append(document)
        except ValueError:
            index = start + 1


def _json_type(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value) if value is None else "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    return type(value).__name__


def differences(expected: Any, actual: Any, vary: frozenset[str] = frozenset(), path: str = "$") -> list[str]:
    """Where ``actual`` breaks what the README shows: keys and structure strictly, volatile values by type."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{path}.{key}: missing")
            elif key in VOLATILE_KEYS or key in vary:
                if value != ANY and _json_type(value) != _json_type(actual[key]):
                    found.append(f"{path}.{key}: expected a {_json_type(value)}, got {actual[key]!r}")
            else:
                found += differences(value, actual[key], vary, f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        open_ended = bool(expected) and expected[-1] == ANY
        items = expected[:-1] if open_ended else expected
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{path}: expected {len(items)}{'+' if open_ended else ''} items, got {len(actual)}"]
        found = []
        for i, item in enumerate(items):
            found += differences(item, actual[i], vary, f"{path}[{i}]")
        return found
    if _json_type(expected) != _json_type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def text_differences(expected: str, actual: str) -> list[str]:
    """The expected lines appear in order (``...`` skips any number of lines); spacing inside a line is free."""

    def norm(line: str) -> str:
        return " ".join(line.split())

    got = [norm(line) for line in actual.splitlines()]
    position = 0
    for line in (norm(line) for line in expected.splitlines()):
        if line in ("", ANY):
            continue
        try:
            position = got.index(line, position) + 1
        except ValueError:
            return [f"line {line!r} not found (in order) in:\n{actual}"]
    return []


def http_differences(expected: str, actual: str, vary: frozenset[str]) -> list[str]:
    """``curl -i``: the status code, the headers shown (volatile ones by name only), the JSON body."""
    want_head, _, want_body = expected.partition("\n\n")
    got_head, _, got_body = actual.replace("\r\n", "\n").partition("\n\n")
    want_lines, got_lines = want_head.splitlines(), got_head.splitlines()
    found = []
    got_status = got_lines[0].split()[1] if got_lines and len(got_lines[0].split()) > 1 else ""
    if want_lines[0].split()[1] != got_status:
        found.append(f"status: expected {want_lines[0]!r}, got {got_lines[0]!r}")
    got_headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in got_lines[1:])}
    for header in want_lines[1:]:
        name, _, value = header.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name not in got_headers:
            found.append(f"header {name} missing")
        elif name not in VOLATILE_HEADERS and got_headers[name] != value:
            found.append(f"header {name}: expected {value!r}, got {got_headers[name]!r}")
    if want_body.strip():
        documents = json_documents(got_body)
        if not documents:
            return [*found, f"no JSON body in:\n{actual}"]
        found += differences(json.loads(want_body, parse_float=Decimal), documents[-1], vary)
    return found
