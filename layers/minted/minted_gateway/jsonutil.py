"""JSON that keeps money and grams exact.

Numbers are read as ``Decimal`` (never ``float``) and ``Decimal`` values are written back as JSON
numbers, which the standard library cannot do on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except RecursionError:
        # Nesting deeper than Python can follow is bad input, not a crash.
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nesting too deep", document, 0) from None


def dumps(value: Any) -> str:
    return _encode(value)


def _encode(value: Any) -> str:
    # Each leaf is written by the json module's own string escaper or repr, not by a json.dumps
    # call per leaf: same text, about 7 times faster (docs/performance.md, warm overhead).
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a money or gram value must be finite")
        # 'f' never writes an exponent, so 1E+2 goes out as 100.
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("float reached a JSON body; use Decimal for money and grams")
    if isinstance(value, datetime | date):
        return encode_basestring(value.isoformat())
    if isinstance(value, Mapping):
        return "{" + ",".join(encode_basestring(str(key)) + ":" + _encode(item) for key, item in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
