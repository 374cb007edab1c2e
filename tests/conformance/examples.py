"""Minted's published examples (copied verbatim into tests/fixtures/minted-examples/) and a shape diff.

The copies are the ground truth the client reads and the sandbox answers like; a test keeps them
equal to ``../shared/minted-examples/`` (beside the repository) wherever that folder is present.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from minted_gateway import jsonutil

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "minted-examples"
SHARED = ROOT.parent / "shared" / "minted-examples"


def example(name: str) -> Any:
    """One published example, numbers read as Decimal (as the client reads Minted)."""
    return jsonutil.loads((FIXTURES / name).read_bytes())


def example_names() -> list[str]:
    return sorted(path.name for path in FIXTURES.glob("*.json"))


# How a string value is written, for the shape diff: each of Minted's date formats has its own name.
_STRING_FORMATS = [
    ("YYYY-MM-DD HH:MM:SS", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    ("DD-MM-YYYY HH:MM", r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}"),
    ("ISO with offset", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"),
    ("ISO UTC micro", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"),
    ("YYYY-MM-DD", r"\d{4}-\d{2}-\d{2}"),
    ("upper-case GUID", r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"),
    ("E.164 phone", r"\+[1-9]\d{7,14}"),
    ("empty", r""),
]


def value_format(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return next((name for name, pattern in _STRING_FORMATS if re.fullmatch(pattern, value)), "text")
    if isinstance(value, int | float | Decimal):
        return "number"
    return type(value).__name__


def shape_diff(published: Any, ours: Any, path: str = "") -> list[str]:
    """Where ``ours`` differs from ``published`` in keys (at every level) or in a value's format."""
    if isinstance(published, dict) and isinstance(ours, dict):
        problems = [f"{path}.{key}: missing" for key in published if key not in ours]
        problems += [f"{path}.{key}: not in the published answer" for key in ours if key not in published]
        for key in published.keys() & ours.keys():
            problems += shape_diff(published[key], ours[key], f"{path}.{key}")
        return sorted(problems)
    if isinstance(published, list) and isinstance(ours, list):
        if bool(published) != bool(ours):
            return [f"{path}: {len(published)} entries published, {len(ours)} here"]
        return [problem for item in ours for problem in shape_diff(published[0], item, f"{path}[]")] if ours else []
    kinds = (value_format(published), value_format(ours))
    if isinstance(published, dict | list) or isinstance(ours, dict | list):
        kinds = (type(published).__name__, type(ours).__name__)
    return [] if kinds[0] == kinds[1] else [f"{path}: published {kinds[0]}, here {kinds[1]}"]
