"""What every DynamoDB adapter here shares: plain values to DynamoDB's typed items and back, and
telling a condition that did not hold from a failure."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _to_attribute(value) for key, value in data.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_attribute(value) for key, value in item.items()}


# Strings, flags, maps and lists, most of a ledger row, are written here without boto3's generic
# dispatch (the same attributes, several times faster: docs/performance.md, warm overhead);
# numbers, bytes and sets keep boto3's own checks, such as DynamoDB's 38-digit limit.
def _to_attribute(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        return {"M": {key: _to_attribute(item) for key, item in value.items()}}
    if kind is list:
        return {"L": [_to_attribute(item) for item in value]}
    return _serializer.serialize(value)


def _from_attribute(attribute: Any) -> Any:
    if len(attribute) == 1:
        if "S" in attribute:
            return attribute["S"]
        if "M" in attribute:
            return {key: _from_attribute(item) for key, item in attribute["M"].items()}
        if "L" in attribute:
            return [_from_attribute(item) for item in attribute["L"]]
        if "BOOL" in attribute:
            return attribute["BOOL"]
        if "NULL" in attribute:
            return None
    return _deserializer.deserialize(attribute)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def condition_failed(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"
