"""The order-event transform: one event per change of state or status, no personal data, the published schema."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from minted_gateway.dynamodb import to_item
from minted_gateway.events.order_events import order_event, order_events
from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, Rejection, State
from tests.conftest import VALID_TCKN

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "order-events.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def row(version: int, state: State, status: str | None = None, **changes: Any) -> OrderRecord:
    """A ledger row as the buy writes it, for a customer whose identity is only hashed."""
    fields: dict[str, Any] = {
        "external_id": "ord-events-1",
        "state": state,
        "version": version,
        "request_hash": "f" * 64,
        "mode": "B2B2C",
        "currency": "TRY",
        "customer_external_id": "cust-0001",
        "identity_last4": VALID_TCKN[-4:],
        "identity_hash": "a" * 64,
        "lines": [Line(sku="GAU", amount=Decimal("1.5"))],
        "created_at": "2026-11-28T08:00:00+00:00",
        "updated_at": f"2026-11-28T08:00:0{version}+00:00",
        "history": [HistoryEntry(at="2026-11-28T08:00:00+00:00", state=State.RECEIVED, note="claimed")],
        "status": status,
    }
    if state is State.SUBMITTED:
        fields |= {"order_codes": ["9YMEK5RB"], "guids": ["71E174B7-C7AD-47FB-836E-3895FF41D4F5"],
                   "price": Decimal("4475.72"), "total": Decimal("4475.72"),
                   "lines": [Line(sku="GAU", amount=Decimal("1.5"), unit_price=Decimal("2983.81"),
                                  total=Decimal("4475.72"))]}  # fmt: skip
    return OrderRecord.model_validate(fields | changes)


def record(new: OrderRecord, old: OrderRecord | None = None, name: str | None = None) -> dict[str, Any]:
    """A DynamoDB stream record (NEW_AND_OLD_IMAGES) of one ledger write."""
    images: dict[str, Any] = {"NewImage": to_item(new.model_dump(mode="python", exclude_none=True))}
    if old is not None:
        images["OldImage"] = to_item(old.model_dump(mode="python", exclude_none=True))
    return {"eventName": name or ("MODIFY" if old else "INSERT"), "eventSource": "aws:dynamodb", "dynamodb": images}


def test_a_buy_that_goes_created_pending_completed_publishes_three_events_in_order() -> None:
    claimed = row(1, State.RECEIVED)
    created = row(2, State.SUBMITTED, "Created")
    pending = row(3, State.SUBMITTED, "Pending")
    completed = row(4, State.SUBMITTED, "Completed")
    events = order_events([record(claimed), record(created, claimed), record(pending, created),
                           record(completed, pending)])  # fmt: skip
    assert [(e["type"], e["status"], e["version"]) for e in events] == [
        ("OrderSubmitted", "Created", 2),
        ("OrderStatusChanged", "Pending", 3),
        ("OrderCompleted", "Completed", 4),
    ]
    assert [e["event_id"] for e in events] == ["ord-events-1:2", "ord-events-1:3", "ord-events-1:4"]
    assert events[-1]["final"] is True and events[0]["final"] is False
    assert events[0]["previous"] == {"state": "RECEIVED", "status": None}
    assert events[0]["lines"] == [{"sku": "GAU", "amount": "1.5", "unit_price": "2983.81", "total": "4475.72"}]
    assert events[0]["total"] == "4475.72" and events[0]["side"] == "buy" and events[0]["mode"] == "B2B2C"


def test_a_write_that_changes_neither_state_nor_status_publishes_nothing() -> None:
    created = row(2, State.SUBMITTED, "Created")
    noted = row(3, State.SUBMITTED, "Created", workflow_error="States.Timeout", workflow_execution="exec-1")
    assert order_event(record(noted, created)) is None
    assert order_event(record(created, created, name="REMOVE")) is None


def test_a_claim_publishes_nothing_and_every_other_state_names_its_event() -> None:
    claimed = row(1, State.RECEIVED)
    assert order_event(record(claimed)) is None
    rejected = order_event(
        record(row(2, State.REJECTED, rejection=Rejection(code="forbidden", message="Yasak")), claimed)
    )
    unknown = order_event(record(row(2, State.UNKNOWN), claimed))
    not_placed = order_event(record(row(2, State.NOT_PLACED), claimed))
    assert (
        rejected is not None and rejected["type"] == "OrderRejected" and rejected["rejection"] == {"code": "forbidden"}
    )
    assert rejected["final"] is True
    expired = order_event(
        record(row(2, State.REJECTED, rejection=Rejection(code="quote_expired", message="x")), claimed)
    )
    assert (
        expired is not None and expired["type"] == "OrderRejected" and expired["final"] is False
    )  # a new quote retries
    assert unknown is not None and unknown["type"] == "OrderNeedsAttention"
    assert unknown["attention"] == {"reason": "outcome_unknown"} and unknown["final"] is False
    assert not_placed is not None and not_placed["type"] == "OrderNotPlaced"


def test_a_strangers_order_and_a_state_this_code_does_not_know_need_attention() -> None:
    claimed = row(1, State.RECEIVED)
    images = record(row(2, State.UNKNOWN), claimed)
    images["dynamodb"]["NewImage"]["state"] = {"S": "FOREIGN"}
    foreign = order_event(images)
    assert foreign is not None and foreign["type"] == "OrderNeedsAttention"
    assert foreign["attention"] == {"reason": "foreign_order"} and foreign["final"] is True
    images["dynamodb"]["NewImage"]["state"] = {"S": "SOMETHING_NEW"}
    newer = order_event(images)
    assert newer is not None and newer["type"] == "OrderNeedsAttention"
    assert newer["attention"] == {"reason": "unknown_state"}


@pytest.mark.parametrize(("status", "kind"), [("Cancelled", "OrderCancelled"), ("Refunded", "OrderRefunded")])
def test_final_statuses_other_than_completed_have_their_own_event(status: str, kind: str) -> None:
    event = order_event(record(row(3, State.SUBMITTED, status), row(2, State.SUBMITTED, "Pending")))
    assert event is not None and event["type"] == kind and event["final"] is True


def test_a_record_delivered_twice_gives_the_same_event_id() -> None:
    change = record(row(2, State.SUBMITTED, "Created"), row(1, State.RECEIVED))
    first, again = order_event(change), order_event(json.loads(json.dumps(change)))
    assert first is not None and again is not None and first["event_id"] == again["event_id"] == "ord-events-1:2"


def test_no_personal_data_or_customer_id_reaches_an_event() -> None:
    events = order_events([
        record(row(2, State.SUBMITTED, "Created"), row(1, State.RECEIVED)),
        record(row(2, State.UNKNOWN), row(1, State.RECEIVED)),
    ])  # fmt: skip
    text = json.dumps(events)
    for private in (VALID_TCKN[-4:], "a" * 64, "f" * 64, "cust-0001", "identity", "customer", "claimed"):
        assert private not in text


def test_every_event_validates_against_the_published_schema_and_the_schema_can_refuse() -> None:
    claimed = row(1, State.RECEIVED)
    events = order_events([
        record(row(2, State.SUBMITTED, "Created"), claimed),
        record(row(3, State.SUBMITTED, "Completed"), row(2, State.SUBMITTED, "Created")),
        record(row(2, State.REJECTED, rejection=Rejection(code="forbidden", message="no")), claimed),
        record(row(2, State.UNKNOWN), claimed),
        record(row(2, State.NOT_PLACED), claimed),
    ])  # fmt: skip
    assert len(events) == 5
    for event in events:
        VALIDATOR.validate(event)
    assert not VALIDATOR.is_valid(events[0] | {"customer_external_id": "cust-0001"})
    assert not VALIDATOR.is_valid(events[0] | {"total": 4475.72})  # a float, not an exact decimal
