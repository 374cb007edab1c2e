"""The events triggers put on the order-events bus (docs/conditional-events.schema.json).

Ids and prices only: no customer, not even the partner's customer id (as the order events).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from minted_gateway.conditional.triggers import Trigger

SCHEMA_VERSION = 1


class TriggerEvent(StrEnum):
    ALERT = "PriceAlertTriggered"  # a price alert crossed
    TRIGGERED = "ConditionalOrderTriggered"  # a conditional order crossed and is on its way to the ledger
    PLACED = "ConditionalOrderPlaced"  # its order is in the ledger (its own order events follow it)
    FAILED = "ConditionalOrderFailed"  # its order was refused (failure.code says why): final


def trigger_event(event: TriggerEvent, trigger: Trigger, occurred_at: str) -> dict[str, Any]:
    return {
        "event_id": f"{trigger.trigger_id}:{event.value}",  # each happens once per trigger: drop duplicates by it
        "type": event.value,
        "schema_version": SCHEMA_VERSION,
        "kind": trigger.kind,
        "id": trigger.trigger_id,
        "occurred_at": occurred_at,
        "sku": trigger.sku,
        "currency": trigger.currency,
        "price_side": trigger.price_side,
        "direction": trigger.direction,
        "trigger_price": str(trigger.trigger_price),
        "price": None if trigger.fired_price is None else str(trigger.fired_price),
        "side": trigger.side,
        "amount": None if trigger.amount is None else str(trigger.amount),
        "order_external_id": trigger.order_external_id,
        "order_state": trigger.order_state,
        "failure": trigger.failure.model_dump() if trigger.failure else None,
    }
