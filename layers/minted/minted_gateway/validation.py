"""Input rules for what partners send us (contract sections 4 and 9), as pydantic types.

Minted's Buy page publishes only which customer fields are required, not their formats. So by
default a field is any non-empty text within our safety bounds (always on); each rule Minted does
not publish (T.C. Kimlik No. check digits, E.164 phones, 3-40 character names, an email's form) is
a partner setting (``settings.InputRules``), off by default. docs/decisions.md lists them all.

Every message names the rule, never the value: values here are personal data.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationInfo, WithJsonSchema

from minted_gateway import jsonutil
from minted_gateway.minted.models import base as models
from minted_gateway.settings import input_rules

ExternalId = models.ExternalId  # the one order and customer id rule, shared with the client's models
# The gateway names its own orders: a conditional order's cond-<id>, a plan's run plan-<plan_id>-<period>.
# A partner's order under such a name would take it first, and the gateway's own order would be refused as
# a conflict: one customer could stop another's plan or conditional order. So requests may not use them.
CONDITIONAL_ORDER_PREFIX = "cond-"
PLAN_RUN_PREFIX = "plan-"
GATEWAY_ORDER_ID_RULE = "must not start with cond- or plan-: the gateway names its conditional orders and plan runs so"
GATEWAY_ORDER_ID_SCHEMA: dict[str, Any] = {"not": {"pattern": "^(cond|plan)-"}}


def is_gateway_order_id(external_id: str) -> bool:
    return external_id.startswith((CONDITIONAL_ORDER_PREFIX, PLAN_RUN_PREFIX))


SKUS_FOR_SALE = ("GAU", "GAG", "GPT")


# The OpenAPI form of "each metal at most once in items", named by sku or by Minted's product_id
# (JSON Schema 2020-12's maxContains).
def _naming(sku: str) -> dict[str, Any]:
    by_sku = {"properties": {"sku": {"const": sku}}, "required": ["sku"]}
    by_product_id = {"properties": {"product_id": {"const": models.PRODUCT_ID_BY_SKU[sku]}}, "required": ["product_id"]}
    return {"anyOf": [by_sku, by_product_id]}


EACH_SKU_ONCE: dict[str, Any] = {
    "allOf": [{"contains": _naming(sku), "minContains": 0, "maxContains": 1} for sku in SKUS_FOR_SALE]
}

# Safety bounds (ours, always on): no control characters, and lengths no real value reaches.
# Text a person reads (names, addresses, ids) holds no control character and no bidirectional embedding,
# override or isolate (U+202E shows "abc" as "cba": a name that reads otherwise than it is), and begins
# and ends with a character one can see: a value of zero-width characters alone is blank (found by a
# hostile-input review). Safety bounds, always on; joiners and direction marks inside a name stay.
_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# C0 and C1 controls (NEL is a space), DEL, the bidirectional embeddings, overrides and isolates.
_CONTROL = r"\x00-\x1f\x7f\x80-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069"
# What shows nothing: soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul and Khmer fillers,
# Mongolian selectors, zero widths, direction marks, joiners, blank braille, variation selectors, BOM.
_INVISIBLE = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u2800\u3164"
    r"\ufe00-\ufe0f\ufeff\uffa0"
)
_EDGE, _INNER = rf"[^{_SPACE}{_CONTROL}{_INVISIBLE}]", rf"[^{_CONTROL}]"
_NO_CONTROL = rf"^{_EDGE}(?:{_INNER}*{_EDGE})?$"  # checked after pydantic strips the spaces


def _bounded(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=_NO_CONTROL)


def _identity_number(value: str) -> str:
    """Optional rule: a T.C. Kimlik No. (11 digits, the first not 0; digits 10 and 11 check the rest)."""
    if not input_rules().identity_number_check_digits:
        return value
    if not re.fullmatch(r"[1-9][0-9]{10}", value):
        raise ValueError("must be 11 digits and not start with 0")
    d = [int(c) for c in value]
    if (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10 != d[9] or sum(d[:10]) % 10 != d[10]:
        raise ValueError("check digits do not match: not a valid T.C. Kimlik No.")
    return value


def _phone(value: str) -> str:
    """Optional rule: an international number in E.164 form (spaces, dots and brackets dropped)."""
    if not input_rules().phone_e164:
        return value
    compact = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", compact):
        raise ValueError("must be an international number in E.164 form, such as +905322808035")
    return compact


def _email(value: str) -> str:
    """Optional rule: the form of an email address."""
    if input_rules().email_format and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        raise ValueError("must be an email address")
    return value


def _person_name(value: str) -> str:
    """Optional rule: 3 to 40 characters, as Minted's Create Customer page (not its Buy page) says."""
    if input_rules().buyer_name_lengths and not 3 <= len(value) <= 40:
        raise ValueError("must be 3 to 40 characters")
    return value


def _birthdate(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("must be a real date of birth, not in the future")
    return value


_ISO_8601_START = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: object) -> object:
    # pydantic reads a number (or numeric text such as "631152000") as Unix seconds: a birth date is
    # documented as YYYY-MM-DD text and must not become 1970-01-01 because a caller sent a number.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be a date as YYYY-MM-DD text, e.g. 1990-12-31")


# A date a request names (a plan's starts_on): YYYY-MM-DD text, never a number read as Unix seconds.
DATE_TEXT = BeforeValidator(_iso_date_text)


def _iso_8601_text(value: object) -> object:
    # pydantic reads a number (or numeric text such as "-1.2e-150") as Unix seconds: an instant
    # we document as ISO 8601 text must not mean 1970 because a caller sent a number.
    if isinstance(value, str) and _ISO_8601_START.match(value):
        return value
    if isinstance(value, datetime):
        return value
    raise ValueError("must be ISO 8601 text with a UTC offset, e.g. 2026-01-01T00:00:00Z")


# An instant a caller gives us (a history filter): ISO 8601 text only, never Unix seconds.
Instant = Annotated[datetime, BeforeValidator(_iso_8601_text)]


def _empty_as_none(value: object) -> object:
    return None if value == "" else value


# Each text type's OpenAPI says what its validators enforce with the default (off) partner rules:
# after stripping, 1 to N characters and no control character. The whitespace pydantic strips
# (Unicode's White_Space) is spelled out, since a schema's \s is ECMA's and Python's differs again.
# A birth date is documented up to the end of last year ("not in the future" moves).


def _text_schema(max_length: int, min_length: int = 1) -> dict[str, Any]:
    edge, inner = _EDGE, _INNER
    if min_length > 1:  # both edges are there: the inside takes the rest
        middle = rf"{inner}{{{min_length - 2},{max_length - 2}}}{edge}"
        return {"type": "string", "pattern": rf"^[{_SPACE}]*{edge}{middle}[{_SPACE}]*$"}
    return {"type": "string", "pattern": rf"^[{_SPACE}]*{edge}(?:{inner}{{0,{max_length - 2}}}{edge})?[{_SPACE}]*$"}


def _years_to(last: int) -> str:
    """A regex alternation of the years 2000 to ``last``."""
    return "|".join(str(year) for year in range(2000, last + 1))


IdentityNumber = Annotated[str, _bounded(64), AfterValidator(_identity_number), WithJsonSchema(_text_schema(64))]
Phone = Annotated[str, _bounded(32), AfterValidator(_phone), WithJsonSchema(_text_schema(32))]
Email = Annotated[str, _bounded(254), AfterValidator(_email), WithJsonSchema(_text_schema(254))]
Birthdate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    AfterValidator(_birthdate),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": rf"^(?:19[0-9]{{2}}|{_years_to(date.today().year - 1)})-[0-9]{{2}}-[0-9]{{2}}$",
        }
    ),
]
PersonName = Annotated[str, _bounded(100), AfterValidator(_person_name), WithJsonSchema(_text_schema(100))]
# Create Customer publishes 3-40 characters for each name (contract 7): always on there.
CustomerName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=40, pattern=_NO_CONTROL),
    WithJsonSchema(_text_schema(40, min_length=3)),
]
OptionalCustomerName = Annotated[
    CustomerName | None,
    BeforeValidator(_empty_as_none),
    WithJsonSchema({"anyOf": [{"const": ""}, {"type": "null"}, _text_schema(40, min_length=3)]}),
]
OptionalName = Annotated[
    PersonName | None,
    BeforeValidator(_empty_as_none),
    WithJsonSchema({"anyOf": [{"const": ""}, {"type": "null"}, _text_schema(100)]}),
]

# Validation context of a Step Functions task: the workflow writes money and grams as decimal strings
# (the Lambda runtime would read JSON numbers as floats). Over HTTP they must be JSON numbers.
DECIMAL_STRINGS = "decimal_strings"
TASK_INPUT = {DECIMAL_STRINGS: True}


def _exact_number(value: object, info: ValidationInfo) -> Decimal:
    """Money and grams as an exact Decimal, bounded before any arithmetic: pydantic's own digit count
    goes wrong near an exponent of a million, and 1e-999999999 quantised is a gigabyte."""
    if isinstance(value, str) and info.context and info.context.get(DECIMAL_STRINGS):
        return jsonutil.parse_decimal(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    if jsonutil.unsafe_values(value):
        raise ValueError(jsonutil.NUMBER_RULE)
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


def _json_number_not_text_or_flag(value: object) -> object:
    """pydantic's lax int takes ``true`` as 1 and ``"5"`` as 5: a delivery of ``true`` grams shipped one.
    A whole number written as a JSON number (or read back from DynamoDB, a Decimal) goes on to int."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


def _json_flag(value: object) -> object:
    """pydantic's lax bool takes 1, "yes" and "on": a flag is ``true`` or ``false`` and nothing else."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# A count, a day or whole grams in a request: a JSON number with no fraction (5.0 is 5), never text or a flag.
# Its bounds go in the field's Field(...), so that the document states them as minimum and maximum.
JSON_NUMBER = BeforeValidator(_json_number_not_text_or_flag)
WholeNumber = Annotated[int, JSON_NUMBER]
Flag = Annotated[bool, BeforeValidator(_json_flag)]


def _number_schema(maximum: str, step: str, example: str) -> WithJsonSchema:
    # JSON numbers, never strings, with the bounds the API enforces (floats only in the document).
    bounds = {"exclusiveMinimum": 0, "maximum": float(maximum), "multipleOf": float(step)}
    return WithJsonSchema({"type": "number", **bounds, "examples": [float(example)]})


Grams = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(gt=0, max_digits=12, decimal_places=3),
    _number_schema("999999999.999", "0.001", "1.5"),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(gt=0, max_digits=14, decimal_places=2),
    _number_schema("999999999999.99", "0.01", "2500.00"),
]

# A price per gram, as Minted quotes it (four decimals: silver's spot is 34.7041).
UnitPrice = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(gt=0, max_digits=16, decimal_places=4),
    _number_schema("999999999999.9999", "0.0001", "2800"),
]

# For request models that apply the rules themselves (a company's identity_number is a tax number).
check_identity_number = _identity_number
text_schema = _text_schema
NO_CONTROL = _NO_CONTROL
NO_CONTROL_OR_EMPTY = rf"^(?:{_EDGE}(?:{_INNER}*{_EDGE})?)?$"
SPACE = _SPACE  # what pydantic strips, for a schema's pattern
