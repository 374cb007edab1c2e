"""The buy workflow's customer, held outside Step Functions (docs/decisions.md, "Personal data").

Step Functions keeps a Standard execution's input, every state's input and output and every error
for 90 days after it ends, for anyone with ``states:GetExecutionHistory``. So the customer a buy
workflow buys for never enters it: ``POST /orders/workflow`` holds the customer in the
WorkflowCustomersTable under the order's external_id, and the execution carries only a keyed digest
of it (``customer_held``). The buy task puts the customer back into its own payload, in memory, and
deletes the item once Minted has the order (or has refused it); the failure task deletes it too. An
item nobody deleted expires through TTL once the workflow can no longer need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from minted_gateway.errors import GatewayError, OrderConflict
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.ledger import OrderLedger
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.orders.requests import CustomerIn

# The execution's reference to the customer it buys for: a keyed digest, no personal data.
HELD = "customer_held"
# A row in these states may still be bought (or looked up and bought): its workflow needs the customer.
OPEN_STATES = frozenset({State.RECEIVED, State.UNKNOWN, State.NOT_PLACED})
# Kept beyond the workflow's own polling: its retries and waits before the first poll.
SPARE_SECONDS = 3600


class CustomerNotHeld(GatewayError):
    """The customer a workflow was started with is no longer held (expired, or its order settled)."""

    status, code = 409, "customer_not_held"


class CustomerStore(Protocol):
    def put(self, external_id: str, customer: dict[str, Any], digest: str, expires_at: int) -> bool:
        """Hold ``customer``; True if nothing was held, False if the same one was; OrderConflict if another."""

    def get(self, external_id: str) -> tuple[dict[str, Any], str] | None:
        """The customer held for this order and its digest, or None."""

    def delete(self, external_id: str) -> None: ...


class WorkflowCustomers:
    def __init__(self, store: CustomerStore, fingerprinter: Fingerprinter, clock: Callable[[], float] = time.time):
        self._store = store
        self._fingerprinter = fingerprinter
        self._clock = clock

    def digest(self, customer: CustomerIn) -> str:
        return self._fingerprinter.customer(customer)

    def hold(self, external_id: str, customer: CustomerIn, seconds: int) -> bool:
        """Hold the customer for ``seconds`` (and SPARE_SECONDS); True if this call put it there."""
        expires_at = int(self._clock()) + seconds + SPARE_SECONDS
        return self._store.put(external_id, customer.model_dump(mode="json"), self.digest(customer), expires_at)

    def restore(self, order: Any) -> Any:
        """A task's ``order`` with its held customer put back (unchanged when it holds none).

        Raises CustomerNotHeld when the customer is gone, OrderConflict when another is held.
        """
        if not isinstance(order, dict) or HELD not in order:
            return order
        external_id, digest = str(order.get("external_id")), order[HELD]
        held = self._store.get(external_id)
        if held is None:
            raise CustomerNotHeld("The customer this workflow was started with is no longer held.")
        customer, held_digest = held
        if held_digest != digest:
            raise OrderConflict("Another customer is held for this external_id.")
        return {**{key: value for key, value in order.items() if key != HELD}, "customer": customer}

    def release(self, external_id: str) -> None:
        self._store.delete(external_id)


class WorkflowTaskOrders:
    """The workflow's tasks' orders, their customer put back from where it is held, and let go of
    once Minted has the order (a later task of the workflow only reads the ledger by external_id)."""

    def __init__(self, customers: WorkflowCustomers, ledger: OrderLedger) -> None:
        self._customers = customers
        self._ledger = ledger

    def restore(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """``payload`` with its order's customer back; False (and the order without it) when it is no longer held."""
        order = payload.get("order")
        try:
            return {**payload, "order": self._customers.restore(order)}, True
        except CustomerNotHeld:
            assert isinstance(order, dict)  # noqa: S101 - restore raises only for an order that held one
            return {**payload, "order": {k: v for k, v in order.items() if k != HELD}}, False

    def settled_by(self, external_id: str, execution: str | None) -> OrderRecord:
        """The row this execution's buy settled, for a retry of that buy after its customer was let go."""
        stored = self._ledger.get(external_id)
        if stored is None or execution is None or stored.workflow_owner != execution or stored.state in OPEN_STATES:
            raise CustomerNotHeld("The customer this workflow was started with is no longer held.")
        return stored

    def release_once_placed(self, order: dict[str, Any], state: State) -> None:
        if state not in OPEN_STATES:
            self.forget(order)

    def forget(self, order: dict[str, Any]) -> None:
        """Delete the customer an order (as restore gave it) holds; an order without one costs nothing."""
        if HELD in order or "customer" in order:
            self.release(str(order["external_id"]))

    def release(self, external_id: str) -> None:
        self._customers.release(external_id)
