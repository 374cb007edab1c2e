"""What every DynamoDB adapter here shares: plain values to DynamoDB's typed items and back, and
telling a condition that did not hold from a failure."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# boto3's own (boto3.dynamodb.types.DYNAMODB_CONTEXT; tests/bench/test_fast_paths.py compares them): importing
# boto3 for it costs a cold start about 25 ms (docs/performance.md), and nothing else here needs boto3.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
_create_decimal = DYNAMODB_CONTEXT.create_decimal


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return _to_map(data)


def _to_map(data: dict[str, Any]) -> dict[str, Any]:
    # Strings, most of a row, written in place without a call each (as _from_map reads them).
    return {key: {"S": value} if type(value) is str else _to_attribute(value) for key, value in data.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return _from_map(item)


# Strings, numbers, flags, bytes, maps and lists, all of a ledger row, are written here without
# boto3's generic dispatch (the same attributes, several times faster: docs/performance.md, warm
# overhead); a number goes through boto3's context, so DynamoDB's 38-digit limit still raises; sets
# and the rest are left to boto3, imported only then.
def _to_attribute(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is Decimal or kind is int:
        return {"N": _number(value)}
    if kind is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        return {"M": _to_map(value)}
    if kind is list:
        return {"L": [_to_attribute(item) for item in value]}
    if kind is bytes:
        return {"B": value}
    if isinstance(value, str):  # a StrEnum (a row's state): boto3 writes the member itself
        return {"S": value}
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415 - only for what the above does not write

    return TypeSerializer().serialize(value)


def _number(value: Decimal | int) -> str:
    """boto3's own conversion (TypeSerializer._serialize_n): its context raises past 38 digits."""
    number = str(_create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _from_map(attributes: dict[str, Any]) -> dict[str, Any]:
    # Most of a row's attributes are strings: read in place, without a call each (an order history
    # page reads about a thousand attributes; this and the loop below made it a third cheaper).
    values = {}
    for key, attribute in attributes.items():
        text = attribute.get("S")
        values[key] = text if text is not None and len(attribute) == 1 else _from_attribute(attribute)
    return values


def _from_attribute(attribute: Any) -> Any:
    for kind, value in attribute.items():  # its one (type, value) pair, without building a tuple
        if len(attribute) != 1:
            break
        if kind == "S":
            return value
        if kind == "N":
            return _create_decimal(value)  # as boto3's TypeDeserializer reads it
        if kind == "M":
            return _from_map(value)
        if kind == "L":
            return [_from_attribute(item) for item in value]
        if kind == "BOOL":
            return value
        if kind == "NULL":
            return None
        break
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415 - binary and sets, which a row does not hold

    return TypeDeserializer().deserialize(attribute)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def condition_failed(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def conditional_write(write: Callable[..., Any], unavailable: Callable[[Exception], Exception],
                      **request: Any) -> dict[str, Any] | None:  # fmt: skip
    """``write(**request)``'s answer, or None when its condition did not hold; any other failure raises
    ``unavailable(exc)``, the adapter's own error naming its table."""
    try:
        answer: dict[str, Any] = write(**request)
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise unavailable(exc) from None
    except BotoCoreError as exc:
        raise unavailable(exc) from None
    return answer
