"""Minted's JSON bodies, read and written with exact numbers (prices and grams as ``Decimal``).

The sandbox keeps its own JSON code rather than the client's (``minted_gateway.jsonutil``): it
stands in for Minted, so a mistake in the client's reading or writing must not be shared by it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(raw: str | bytes) -> Any:
    """Numbers with a fraction or an exponent become ``Decimal``; nesting too deep is a ValueError."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def dumps(value: Any) -> str:
    """``Decimal`` goes out as a JSON number without an exponent (``1E+1`` as ``10``)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, float):
        raise TypeError("the sandbox writes money and grams as Decimal, never float")
    return json.dumps(value, ensure_ascii=False)
