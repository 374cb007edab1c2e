"""JSON that keeps money and grams exact, and refuses values no field could take before anything reads them.

Numbers are read as ``Decimal`` (never ``float``) and ``Decimal`` values are written back as JSON
numbers, which the standard library cannot do on its own.

Safety bounds, always on: a number literal longer than ``MAX_NUMBER_CHARS`` or with an exponent
beyond ``MAX_EXPONENT`` is never turned into a value (``1e-999999999`` is cheap to write and ruinous
to compute with; a 5,000-digit integer trips Python's own limit), and a lone UTF-16 surrogate
(``"\\ud800"``) cannot be encoded to anyone. ``loads`` raises ``UnsafeJSONValue`` naming the paths
of such values; ``unsafe_values`` finds them in data that was parsed elsewhere (a Step Functions
task's input).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring
from typing import Any

# Far beyond any amount of money or metal (fields narrow it further), far below what costs time, and no
# more than Decimal keeps exactly: past its 28 digits, arithmetic rounds, and so does pydantic's count of
# a field's digits and decimal places (1.0000000000000000000000000001 passed "at most 3 decimals", then
# reached Minted; 40 digits reached DynamoDB, which keeps 38, as a 500: found by a hostile-input review).
MAX_NUMBER_CHARS = 28
MAX_EXPONENT = 40
_FIRST_TOO_LONG_INTEGER = 10**MAX_NUMBER_CHARS
NUMBER_RULE = f"must be a finite number of at most {MAX_NUMBER_CHARS} digits with an exponent within ±{MAX_EXPONENT}"
SURROGATE_RULE = "must be valid Unicode text (a lone UTF-16 surrogate is not)"
# A request body holds a few dozen values; past this many it is refused before any field is checked, so a
# hostile body cannot make validation write (and Powertools copy) one error per value: 200,000 took 1.5 s.
MAX_REQUEST_VALUES = 1000
TOO_MANY_VALUES_RULE = f"must hold at most {MAX_REQUEST_VALUES} keys and list items in all"
DUPLICATE_KEY_RULE = "appears more than once in its object (say it once)"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
# What lies between two of a body's [ { and , outside strings: text, and whole JSON strings (escapes
# included, or one left open running to the end). Possessive, so one linear scan whatever the text
# (a backtracking one took quadratic time on an open string of escaped quotes), and nothing is built.
_BETWEEN_STRUCTURE = re.compile(r'(?:"(?:[^"\\]++|\\.|\\\Z)*+(?:"|\Z)|[^"\[{,]++)*+', re.DOTALL)


class UnsafeJSONValue(ValueError):
    """Well-formed JSON holding a value no field can take; ``problems`` pairs each path with the rule it breaks."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(problems)} value(s) out of bounds")
        self.problems = problems


class _Refused:
    """Stands in for a number literal that was never converted (it exists only inside ``loads``)."""


_REFUSED = _Refused()


class _RepeatedKeys(dict[str, Any]):
    """An object that named a key twice (``{"grams": "1", "grams": "1000"}``); it exists only inside ``loads``."""

    repeated: list[str]


def decimal_in_bounds(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    _sign, digits, exponent = value.as_tuple()
    return len(digits) <= MAX_NUMBER_CHARS and isinstance(exponent, int) and abs(exponent) <= MAX_EXPONENT


def parse_decimal(text: str) -> Decimal:
    """A decimal written as text (a task's ``"1.5"``), within the bounds; ValueError otherwise."""
    if len(text) > MAX_NUMBER_CHARS + 8:  # a sign, a point and an exponent beside the digits
        raise ValueError(NUMBER_RULE)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not decimal_in_bounds(value):
        raise ValueError(NUMBER_RULE)
    return value


def loads(text: str | bytes, *, unique_keys: bool = False, max_values: int | None = None) -> Any:
    """``unique_keys``: a key named twice in one object is refused (a request's body), rather than read
    last-wins as the standard library does (Minted's answers, read tolerantly). ``max_values``: more keys
    and list items than this are refused whole, before any value is looked at one by one."""
    seen_refused = False

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal seen_refused
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        seen_refused = True
        repeated, seen = _RepeatedKeys(value), set[str]()
        repeated.repeated = []
        for key, _ in pairs:
            if key in seen:
                repeated.repeated.append(key)
            seen.add(key)
        return repeated

    def number(literal: str) -> Decimal | _Refused:
        nonlocal seen_refused
        if len(literal) <= MAX_NUMBER_CHARS + 8:
            value = Decimal(literal)
            if decimal_in_bounds(value):
                return value
        seen_refused = True
        return _REFUSED

    def integer(literal: str) -> int | _Refused:
        nonlocal seen_refused
        if len(literal.lstrip("-")) <= MAX_NUMBER_CHARS:
            return int(literal)
        seen_refused = True  # int() itself refuses past 4,300 digits, and slowly
        return _REFUSED

    def constant(name: str) -> _Refused:
        nonlocal seen_refused
        seen_refused = True  # NaN and Infinity are not JSON
        return _REFUSED

    if max_values is not None and _may_hold_more_than(text, max_values):
        raise UnsafeJSONValue([("body", TOO_MANY_VALUES_RULE)])  # before json.loads builds it all
    try:
        value = json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant,
                           object_pairs_hook=unique if unique_keys else None)  # fmt: skip
    except RecursionError:
        # Nesting deeper than Python can follow is bad input, not a crash.
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nesting too deep", document, 0) from None
    if max_values is not None and _holds_more_than(value, max_values):
        # Counted before the bad values are named: 100,000 repeated keys must not mean 100,000 errors.
        raise UnsafeJSONValue([("body", TOO_MANY_VALUES_RULE)])
    pattern = _SURROGATE_ESCAPE if isinstance(text, str) else _SURROGATE_ESCAPE_BYTES
    if seen_refused or pattern.search(text):  # type: ignore[arg-type]  # the pattern matches text's type
        problems = unsafe_values(value)
        if problems:
            raise UnsafeJSONValue(problems)
    return value


def loads_request(text: str | bytes) -> Any:
    """A request's body: a key named twice is refused, so a caller never gets the other of two values;
    a body of more than ``MAX_REQUEST_VALUES`` keys and items is refused whole, naming the bound."""
    return loads(text, unique_keys=True, max_values=MAX_REQUEST_VALUES)


def _may_hold_more_than(text: str | bytes, limit: int) -> bool:
    """Whether the text alone shows more than ``limit`` keys and list items, before anything is parsed:
    a 10 MiB body of nested empty lists made a tree of half a gigabyte before it was counted.

    Each key or item follows a ``{``, ``[`` or ``,``, and each empty object or list is itself a
    value (or the whole body), so outside strings those characters number at most twice the values
    plus one: more than that, and the body holds more than ``limit`` for certain. Up to it, the tree
    json.loads makes is small, and ``_holds_more_than`` counts it exactly.
    """
    bound = 2 * limit + 1
    if len(text) <= bound:  # a request's usual body: too short to hold that many
        return False
    if isinstance(text, bytes):  # json.loads reads UTF-16 and UTF-32 too, whose bytes the scan cannot
        try:
            text = text.decode(json.detect_encoding(text))
        except UnicodeDecodeError:
            return False  # json.loads refuses it, whole
    seen, at, end = 0, 0, len(text)
    while True:  # one step per [ { or , (constant memory), stopping once past the bound
        at = _BETWEEN_STRUCTURE.match(text, at).end()  # type: ignore[union-attr]  # it matches everywhere
        if at >= end:
            return False
        seen, at = seen + 1, at + 1
        if seen > bound:
            return True


def _holds_more_than(value: Any, limit: int) -> bool:
    """Whether ``value`` has more than ``limit`` keys and list items, counted until the limit is passed.

    ``value`` is what json.loads made: its objects are dicts, so they are told apart from the leaves
    without abc's isinstance check against Mapping (which took 60% of this count).
    """
    count, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        count += len(children)
        if count > limit:
            return True
        pending.extend(children)
    return False


def unsafe_values(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every value (and key) in parsed JSON that breaks a safety bound, with its dotted path.

    A loop, not recursion: JSON nested as deep as the parser allows must not overflow the walk.
    """
    problems: list[tuple[str, str]] = []
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending:
        here, item = pending.pop()
        rule = _broken_rule(item)
        if rule is not None:
            problems.append((here or "body", rule))
        elif isinstance(item, Mapping):
            for key in dict.fromkeys(getattr(item, "repeated", ())):
                problems.append((f"{here}.{key}" if here else str(key), DUPLICATE_KEY_RULE))
            for key, child in reversed(list(item.items())):
                name = str(key)
                if _LONE_SURROGATE.search(name):  # the key itself cannot be written back
                    problems.append((here or "body", "keys " + SURROGATE_RULE))
                else:
                    pending.append((f"{here}.{name}" if here else name, child))
        elif isinstance(item, Sequence) and not isinstance(item, str):
            pending.extend(
                (f"{here}.{index}" if here else str(index), child) for index, child in reversed(list(enumerate(item)))
            )
    return problems


def _broken_rule(value: Any) -> str | None:
    if isinstance(value, _Refused):
        return NUMBER_RULE
    if isinstance(value, str):
        return SURROGATE_RULE if _LONE_SURROGATE.search(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        # MAX_NUMBER_CHARS decimal digits exactly, as loads counts them, without converting to text.
        return NUMBER_RULE if abs(value) >= _FIRST_TOO_LONG_INTEGER else None
    if isinstance(value, float):
        return None if math.isfinite(value) and decimal_in_bounds(Decimal(repr(value))) else NUMBER_RULE
    if isinstance(value, Decimal):
        return None if decimal_in_bounds(value) else NUMBER_RULE
    return None


def dumps(value: Any) -> str:
    return _encode(value)


def _encode(value: Any) -> str:
    # Each leaf is written by the json module's own string escaper or repr, not by a json.dumps
    # call per leaf: same text, about 7 times faster (docs/performance.md, warm overhead). The
    # exact types an answer is made of are told apart by type() first: an isinstance check against
    # Mapping or Sequence goes through abc, the slowest step of a long body (an order history page).
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is dict:
        keys = _KEY_TEXTS
        return (
            "{"
            + ",".join(
                [
                    ((keys.get(key) if type(key) is str else None) or _key_text(key)) + _encode(item)
                    for key, item in value.items()
                ]
            )
            + "}"
        )
    if kind is list:
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    if kind is Decimal:
        return _encode_decimal(value)
    if value is None:
        return "null"
    return _encode_other(value)


# Each key's written form with its colon ('"external_id":'), kept: the names of an answer repeat on every
# row of a page. Bounded, so that keys coming from outside (a card payment as Minted reports it) cannot grow
# it without end; past the bound a key is written each time, as before.
_KEY_TEXTS: dict[str, str] = {}
MAX_KEY_TEXTS = 1000


def _key_text(key: Any) -> str:
    text = _encode_key(key) + ":"
    if type(key) is str and len(_KEY_TEXTS) < MAX_KEY_TEXTS:
        _KEY_TEXTS[key] = text
    return text


def _encode_key(key: Any) -> str:
    return encode_basestring(key if type(key) is str else str(key))


def _encode_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("a money or gram value must be finite")
    # 'f' never writes an exponent, so 1E+2 goes out as 100.
    return format(value, "f")


def _encode_other(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        return _encode_decimal(value)
    if isinstance(value, float):
        raise TypeError("float reached a JSON body; use Decimal for money and grams")
    if isinstance(value, datetime | date):
        return encode_basestring(value.isoformat())
    if isinstance(value, Mapping):
        return "{" + ",".join([_encode_key(key) + ":" + _encode(item) for key, item in value.items()]) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
