"""The order body (GET /orders, GET /orders/{id}, a buy's answer) reads the flat parts of a ledger row
without pydantic's serializer: it must say exactly what their model_dump said, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from minted_gateway import jsonutil
from minted_gateway.api.views import order_body, timestamp
from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, PlacedOrder, Rejection

ROW: dict[str, Any] = {
    "external_id": "o-1", "state": "SUBMITTED", "version": 3, "request_hash": "h", "mode": "b2b2c",
    "currency": "TRY", "customer_external_id": "c-1", "created_at": "2026-01-02T03:04:05.678901+00:00",
    "updated_at": "2026-01-02T03:04:06+00:00", "status": "Pending", "status_id": 2,
    "status_read_at": "2026-01-02T06:04:06.5+03:00", "order_at": "2026-01-02 06:04:05",
    "lines": [{"sku": "GAU", "amount": "1.500", "unit_price": "2889.71", "total": "4334.565"},
              {"sku": "GAG", "amount": Decimal("2")}],
    "orders": [{"guid": "G-1", "order_code": "C1", "status": "Pending", "status_id": 2}, {"order_code": "C2"}],
    "order_codes": ["C1", "C2"], "guids": ["G-1"], "price": "2889.71", "total": "4334.565",
    "history": [{"at": "2026-01-02T03:04:05.678901+00:00", "state": "RECEIVED"},
                {"at": "2026-01-02T03:04:06+00:00", "state": "SUBMITTED", "status": "Pending", "note": "sent"}],
    "payment_type": "card", "payment": {"state": "success", "amount": Decimal("10.5")}, "payment_cost": "0.25",
    "tracking": {"cargo_tracking_number": "T1"},
}  # fmt: skip


def _as_model_dump_said(record: OrderRecord) -> dict[str, Any]:
    """The order body as order_body built it with model_dump (before it read the parts directly)."""
    return {
        **order_body(record),
        "items": [line.model_dump(exclude_none=True) for line in record.lines],
        "orders": [order.model_dump(exclude_none=True) for order in record.orders],
        "history": [{**e.model_dump(exclude_none=True), "at": timestamp(e.at)} for e in record.history],
    }


@pytest.mark.parametrize(
    "row",
    [
        ROW,
        {**ROW, "lines": [{"sku": "GAU", "amount": "0.001", "total": None}], "orders": [], "history": []},
        {**ROW, "state": "REJECTED", "orders": [{"guid": None, "order_code": None}],
         "rejection": {"code": "quote_expired", "message": "m", "details": [{"field": "price_token"}]}},
    ],
)  # fmt: skip
def test_the_order_body_says_byte_for_byte_what_model_dump_said(row: dict[str, Any]) -> None:
    record = OrderRecord.model_validate(row)
    assert jsonutil.dumps(order_body(record)) == jsonutil.dumps(_as_model_dump_said(record))
    assert order_body(record) == _as_model_dump_said(record)


@pytest.mark.parametrize("part", [Line, PlacedOrder, HistoryEntry])
def test_the_parts_read_directly_stay_flat(part: type[BaseModel]) -> None:
    """What makes reading their fields equal to model_dump: no nested model, alias or serializer."""
    assert part.__pydantic_decorators__.field_serializers == {}
    assert part.__pydantic_decorators__.model_serializers == {}
    for field in part.model_fields.values():
        assert field.alias is None and field.serialization_alias is None
        assert not any(isinstance(arg, type) and issubclass(arg, BaseModel) for arg in _types_in(field.annotation))


def _types_in(annotation: Any) -> list[Any]:
    return [annotation, *(each for arg in getattr(annotation, "__args__", ()) for each in _types_in(arg))]


def test_a_rejection_is_still_its_model_dump() -> None:
    record = OrderRecord.model_validate({**ROW, "rejection": Rejection(code="c", message="m")})
    assert order_body(record)["rejection"] == {"code": "c", "message": "m", "details": []}


def _as_datetime_said(value: str) -> str:
    """timestamp() as it was: every text through datetime, to UTC, to the millisecond."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


@pytest.mark.parametrize(
    "text",
    ["2026-01-02T03:04:05.678901+00:00", "2026-01-02T03:04:05.999999+00:00", "2026-01-02T03:04:05.000000+00:00",
     "2026-01-02T23:59:59.999999+00:00", "2026-01-02T03:04:05+00:00",
     "2026-01-02 03:04:05.678901+00:00", "2026-01-02T03:04:05.678901-00:00", "2026-01-02T03:04:05.678901+03:00",
     "2026-01-02T03:04:05.678901Z", "2026-01-02T03:04:05.6789+00:00", "2026-01-02T03:04:05,678901+00:00",
     "2026-W01-1T03:04:05.678901+00:00", "2026-01-02T030405.678901+00:00", "2026-01-02T03:04:05.678901",
     "2026-01-02 06:04:05", "2024-02-29T12:00:00.123456+00:00"],
)  # fmt: skip
def test_a_timestamp_is_what_datetime_said(text: str) -> None:
    assert timestamp(text) == _as_datetime_said(text)


@pytest.mark.parametrize(
    "text",
    ["2026-02-30T03:04:05.678901+00:00", "2026-01-02T03:60:05.678901+00:00", "2026-01-02T24:00:00.000000+00:00", "x"],
)
def test_a_text_that_is_no_time_is_still_refused(text: str) -> None:
    with pytest.raises(ValueError):
        timestamp(text)
