"""Create a delivery once per external_id: the customer's block completed, then PlaceOrder's ledger path."""

from __future__ import annotations

from typing import Protocol

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.deliveries.requests import DeliveryIn, DeliveryOrder
from minted_gateway.errors import CustomerDetailsRequired, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.customers import Customer
from minted_gateway.minted.models.delivery import DeliveryCustomer
from minted_gateway.orders.place_order import OrderOutcome, PlaceOrder


class MintedCustomerRecords(Protocol):
    def get_customer(self, external_id: str) -> Customer: ...


class CreateDelivery:
    def __init__(self, place_order: PlaceOrder, customers: MintedCustomerRecords) -> None:
        self._place = place_order
        self._customers = customers

    def __call__(self, request: DeliveryIn, caller: Caller = PARTNER) -> OrderOutcome:
        """``caller`` bound to a customer delivers that customer's grams only (refused before Minted is read)."""
        caller.act_for(request.owner)
        if request.customer is not None:
            return self._place(DeliveryOrder(request, request.customer.to_minted()), caller=caller)
        # Read from Minted only when the delivery is sent: a replay (or another order's id) makes no call.
        return self._place(DeliveryOrder(request, lambda: self._from_minted(request.owner)), caller=caller)

    def _from_minted(self, external_id: str) -> DeliveryCustomer:
        """The block Minted requires, from Minted's own record of the customer (read, sent back, not kept)."""
        try:
            held = self._customers.get_customer(external_id)
        except minted_errors.MintedNotFoundError:
            raise CustomerDetailsRequired(
                "Minted has no customer with this customer_external_id.",
                details=[{"field": "customer_external_id", "message": "unknown to Minted"}],
            ) from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        missing = [name for name in ("firstname", "lastname", "phone", "email") if not getattr(held, name)]
        if missing:
            raise CustomerDetailsRequired(
                "Minted's record of this customer lacks what a delivery needs: send customer in full.",
                details=[{"field": f"customer.{name}", "message": "not in Minted's record"} for name in missing],
            )
        return DeliveryCustomer(external_id=external_id, firstname=str(held.firstname), lastname=str(held.lastname),
                                phone=str(held.phone), email=str(held.email))  # fmt: skip
