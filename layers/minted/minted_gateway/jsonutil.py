"""JSON that keeps money and grams exact.

Numbers are read as ``Decimal`` (never ``float``) and ``Decimal`` values are written back as JSON
numbers, which the standard library cannot do on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except RecursionError:
        # Nesting deeper than Python can follow is bad input, not a crash.
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nesting too deep", document, 0) from None


def dumps(value: Any) -> str:
    return "".join(_encode(value))


def _encode(value: Any) -> list[str] | str:
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a money or gram value must be finite")
        # 'f' never writes an exponent, so 1E+2 goes out as 100.
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("float reached a JSON body; use Decimal for money and grams")
    if isinstance(value, datetime | date):
        return json.dumps(value.isoformat())
    if isinstance(value, Mapping):
        parts = [json.dumps(str(key), ensure_ascii=False) + ":" + "".join(_encode(item)) for key, item in value.items()]
        return "{" + ",".join(parts) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join("".join(_encode(item)) for item in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
