"""The warm path's fast helpers write exactly what the slow, general ones wrote."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

from minted_gateway import dynamodb, jsonutil
from minted_gateway.dynamodb import from_item, to_item
from minted_gateway.orders.record import State

ROW: dict[str, Any] = {
    "external_id": "order-0001",
    "state": "SUBMITTED",
    "replayed": False,
    "note": None,
    "version": 3,
    "amount": Decimal("0.100"),
    "items": [{"sku": "GAU", "amount": Decimal("1.5"), "tags": ["a", "b"]}],
    "customer": {"external_id": "cust-0001", "flags": {"kyc": True}},
    "digest": b"\x00\x01",
    "skus": {"GAU", "GAG"},
    "empty": "",
    "row_state": State.SUBMITTED,
    "mutable_digest": bytearray(b"\x02"),
}


def test_ledger_items_are_the_attributes_boto3_writes_and_read_back_alike() -> None:
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    expected = {key: serializer.serialize(value) for key, value in ROW.items()}
    assert to_item(ROW) == expected
    assert from_item(expected) == {key: deserializer.deserialize(value) for key, value in expected.items()}


def test_numbers_are_read_and_written_in_boto3s_own_decimal_context() -> None:
    ours, boto3s = dynamodb.DYNAMODB_CONTEXT, DYNAMODB_CONTEXT
    assert (ours.prec, ours.Emin, ours.Emax, ours.rounding, ours.capitals, ours.clamp) == (
        boto3s.prec, boto3s.Emin, boto3s.Emax, boto3s.rounding, boto3s.capitals, boto3s.clamp
    )  # fmt: skip
    assert {k for k, on in ours.traps.items() if on} == {k for k, on in boto3s.traps.items() if on}


def test_numbers_keep_dynamodbs_limits() -> None:
    with pytest.raises(Exception, match=r"Inexact|Rounded"):
        to_item({"amount": Decimal("1." + "1" * 40)})
    with pytest.raises(TypeError, match="Float types are not supported"):
        to_item({"amount": 1.5})


def reference_dumps(value: Any) -> str:
    """What jsonutil wrote before its fast path: json.dumps per leaf, Decimal in 'f' notation."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return json.dumps(value.isoformat())
    if isinstance(value, dict):
        pairs = (json.dumps(str(key), ensure_ascii=False) + ":" + reference_dumps(item) for key, item in value.items())
        return "{" + ",".join(pairs) + "}"
    return "[" + ",".join(reference_dumps(item) for item in value) + "]"


def test_json_bodies_are_the_text_the_general_encoder_wrote() -> None:
    body = {
        "external_id": "order-0001",
        "name": 'Ayşe "Yılmaz"\n\t\u2028',
        "items": [{"amount": Decimal("1E+2"), "price": Decimal("2543.120"), "count": 2}, True, None],
        "at": datetime(2026, 11, 28, 10, 31, tzinfo=UTC),
        "day": date(2026, 11, 28),
        7: ("tuple", False),
    }
    text = jsonutil.dumps(body)
    assert text == reference_dumps(body)
    assert jsonutil.loads(text)["items"][0]["amount"] == Decimal(100)


@pytest.mark.parametrize("value", [1.5, Decimal("NaN"), Decimal("Infinity"), object()])
def test_json_bodies_refuse_floats_and_what_is_not_a_number(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        jsonutil.dumps({"amount": value})


def test_keys_are_written_alike_from_the_kept_forms_and_the_kept_forms_stay_bounded() -> None:
    """A key's written form is kept for the next body; a state (a StrEnum) or a number as a key is written
    as before, and keys from outside (a payment as Minted reports it) cannot grow what is kept past its bound."""
    body = {"external_id": "order-0001", State.SUBMITTED: "state as key", 7: "number as key", "note": None}
    assert jsonutil.dumps(body) == jsonutil.dumps(body) == reference_dumps(body)
    for index in range(2 * jsonutil.MAX_KEY_TEXTS):
        key = f"k{index}\u00e7\n"
        assert jsonutil.dumps({key: index}) == reference_dumps({key: index})
    assert len(jsonutil._KEY_TEXTS) <= jsonutil.MAX_KEY_TEXTS


def read_as_boto3_does(attribute: dict[str, Any]) -> Any:
    try:
        return TypeDeserializer().deserialize(attribute)
    except Exception as exc:  # the refusal itself is what is compared
        return type(exc)


def test_items_read_back_whatever_their_attributes_hold() -> None:
    """Strings are read in place; an attribute that is not one typed value is read (or refused) as boto3 does."""
    item = {"s": {"S": ""}, "m": {"M": {"s": {"S": "x"}, "l": {"L": [{"S": "y"}, {"M": {"n": {"N": "1.50"}}}]}}}}
    assert from_item(item) == {key: TypeDeserializer().deserialize(value) for key, value in item.items()}
    for odd in ({"S": "x", "N": "1"}, {"N": "1", "S": "x"}, {}):
        try:
            ours = from_item({"odd": odd})["odd"]
        except Exception as exc:
            ours = type(exc)
        assert ours == read_as_boto3_does(odd)
