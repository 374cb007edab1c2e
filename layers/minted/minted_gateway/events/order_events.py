"""Order events: one event per change of an order's state or status, read from the ledger's stream.

The ledger's DynamoDB stream carries every write with the row before and after it. EventBridge
Pipes hands batches of those records to this transform (its enrichment step) and puts what comes
back on the order-events bus; locally, ``local/order_events.py`` does what Pipes does with the same
code. The detail is an allow-list of the row's fields: ids, side, state, status, codes, totals and
version, and who placed the order (the token's subject and client, or the IAM principal), never the
customer (no identity number, name, contact or even the partner's customer id).

An event's ``event_id`` is the row's external_id and version: a stream record delivered twice gives
the same id, so a consumer drops duplicates by it and orders events of one order by ``version``.
The schema is docs/order-events.schema.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from minted_gateway.dynamodb import from_item
from minted_gateway.minted.models.base import TERMINAL_STATUS_NAMES
from minted_gateway.orders.record import QUOTE_EXPIRED

SOURCE = "minted-gateway.orders"
CALLER_FIELDS = ("sub", "client_id", "principal")
SCHEMA_VERSION = 1


class EventType(StrEnum):
    SUBMITTED = "OrderSubmitted"  # Minted accepted it (first seen SUBMITTED, status not final)
    STATUS_CHANGED = "OrderStatusChanged"  # a later status at Minted that is not final
    COMPLETED = "OrderCompleted"
    CANCELLED = "OrderCancelled"
    REFUNDED = "OrderRefunded"
    REJECTED = "OrderRejected"  # Minted refused it (422/403)
    NOT_PLACED = "OrderNotPlaced"  # it certainly never reached Minted; a retry may place it
    NEEDS_ATTENTION = "OrderNeedsAttention"  # its outcome is unknown, or Minted holds a stranger's order


# A ledger state (as stored) that needs a person or the reconciler, and why. FOREIGN is "Minted
# holds a different order under this external_id".
ATTENTION_REASONS = {"UNKNOWN": "outcome_unknown", "FOREIGN": "foreign_order"}
# A claim is the ledger's lock on an external_id, not an order yet: it publishes nothing.
SILENT_STATES = frozenset({"RECEIVED"})
_FINAL_STATUS_EVENTS = {
    "Completed": EventType.COMPLETED,
    "Cancelled": EventType.CANCELLED,
    "Refunded": EventType.REFUNDED,
}


def order_events(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events of a batch of stream records, in the batch's order."""
    return [event for record in records if (event := order_event(record)) is not None]


def order_event(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event of one stream record, or None when the write changed neither state nor status."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    change = record.get("dynamodb") or {}
    new = from_item(change.get("NewImage") or {})
    old = from_item(change.get("OldImage") or {})
    if not new or _progress(new) == _progress(old):
        return None
    event_type = _event_type(new, old)
    return None if event_type is None else _detail(event_type, new, old)


def _progress(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a consumer follows: the state, the status and each of Minted's orders' statuses."""
    orders = tuple((o.get("guid"), o.get("status")) for o in row.get("orders") or [])
    return row.get("state"), row.get("status"), orders


def _event_type(new: Mapping[str, Any], old: Mapping[str, Any]) -> EventType | None:
    state = str(new.get("state"))
    if state in SILENT_STATES:
        return None
    if state in ATTENTION_REASONS:
        return EventType.NEEDS_ATTENTION
    if state == "REJECTED":
        return EventType.REJECTED
    if state == "NOT_PLACED":
        return EventType.NOT_PLACED
    if state == "SUBMITTED":
        final = _FINAL_STATUS_EVENTS.get(str(new.get("status")))
        if final is not None and _is_final(new):
            return final
        return EventType.STATUS_CHANGED if old.get("state") == "SUBMITTED" else EventType.SUBMITTED
    # A state this code does not know yet (a newer ledger): an operator must look, not a guess.
    return EventType.NEEDS_ATTENTION


def _is_final(row: Mapping[str, Any]) -> bool:
    """As ``OrderRecord.is_final``: a refused price token is retried with a new quote, so it is not final."""
    state = row.get("state")
    if state == "REJECTED":
        return (row.get("rejection") or {}).get("code") != QUOTE_EXPIRED
    if state == "FOREIGN":
        return True
    if state != "SUBMITTED":
        return False
    orders = row.get("orders") or []
    if orders:
        return all(o.get("status") in TERMINAL_STATUS_NAMES for o in orders)
    return row.get("status") in TERMINAL_STATUS_NAMES


def _detail(event_type: EventType, new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    external_id, version = str(new["external_id"]), int(new["version"])
    rejection = new.get("rejection") or None
    state = str(new.get("state"))
    return {
        "event_id": f"{external_id}:{version}",
        "type": event_type.value,
        "schema_version": SCHEMA_VERSION,
        "side": str(new.get("side") or "buy"),
        "external_id": external_id,
        "version": version,
        "occurred_at": str(new.get("updated_at")),
        "created_at": str(new.get("created_at")),
        "state": state,
        "status": _text(new.get("status")),
        "status_id": _integer(new.get("status_id")),
        "final": _is_final(new),
        "previous": {"state": _text(old.get("state")), "status": _text(old.get("status"))} if old else None,
        "mode": _text(new.get("mode")),
        "currency": _text(new.get("currency")),
        "order_codes": [str(code) for code in new.get("order_codes") or []],
        "guids": [str(guid) for guid in new.get("guids") or []],
        "orders": [
            {
                "guid": str(o.get("guid")),
                "order_code": _text(o.get("order_code")),
                "status": _text(o.get("status")),
                "status_id": _integer(o.get("status_id")),
            }
            for o in new.get("orders") or []
        ],
        "lines": [
            {
                "sku": str(line.get("sku")),
                "amount": _decimal(line.get("amount")),
                "unit_price": _decimal(line.get("unit_price")),
                "total": _decimal(line.get("total")),
            }
            for line in new.get("lines") or []
        ],
        "price": _decimal(new.get("price")),
        "total": _decimal(new.get("total")),
        # The code only: Minted's message is free text in the caller's language.
        "rejection": {"code": str(rejection.get("code"))} if isinstance(rejection, Mapping) else None,
        "attention": {"reason": ATTENTION_REASONS.get(state, "unknown_state")}
        if event_type is EventType.NEEDS_ATTENTION
        else None,
        "caller": _caller(new.get("caller")),
        # A card buy's payment state only: its masked card stays in the ledger row, its CVV nowhere.
        "payment": {"type": "card", "state": _text((new.get("payment") or {}).get("state"))}
        if new.get("payment_type") == "card"
        else None,
    }


def _caller(caller: Any) -> dict[str, str | None] | None:
    """Who placed the order, as the ledger recorded it; the customer a token was bound to is left out."""
    if not isinstance(caller, Mapping):
        return None
    return {name: _text(caller.get(name)) for name in CALLER_FIELDS}


def attention_age_seconds(event: Mapping[str, Any]) -> Decimal:
    """How long the order has been unsettled: from its claim to this event (0 if unreadable)."""
    try:
        age = datetime.fromisoformat(event["occurred_at"]) - datetime.fromisoformat(event["created_at"])
    except (KeyError, TypeError, ValueError):
        return Decimal(0)
    return max(Decimal(0), Decimal(str(round(age.total_seconds(), 3))))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _decimal(value: Any) -> str | None:
    """Money and grams as exact decimal strings: the Lambda runtime's JSON cannot write Decimal."""
    return None if value is None else format(Decimal(value), "f")
