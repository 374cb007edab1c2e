"""Read an order: the ledger row, refreshed from Minted while it can still change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from minted_gateway.errors import NotFound, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models import Order, OrderLookup
from minted_gateway.orders.ledger import OrderLedger
from minted_gateway.orders.place_order import MintedOrders, OrderBook, utcnow
from minted_gateway.orders.record import OrderRecord, State


@dataclass(frozen=True)
class OrderView:
    record: OrderRecord | None  # None: Minted knows the order but it was not placed through this gateway
    minted_order: Order | None = None
    refreshed: bool = False  # Minted was asked just now
    stale: bool = False  # Minted could not be asked; the ledger's last word is shown


class GetOrder:
    def __init__(self, ledger: OrderLedger, minted: MintedOrders, *, now: Callable[[], datetime] = utcnow) -> None:
        self._ledger = ledger
        self._minted = minted
        self._book = OrderBook(ledger, now)
        self._now = now

    def __call__(self, external_id: str) -> OrderView:
        record = self._ledger.get(external_id)
        if record is None:
            return OrderView(record=None, minted_order=self._from_minted_only(external_id), refreshed=True)
        if record.is_final or record.state in (State.REJECTED, State.NOT_PLACED):
            return OrderView(record)
        if record.state is State.SUBMITTED:
            return self._refresh(record)
        return self._settle(record)

    def _from_minted_only(self, external_id: str) -> Order:
        try:
            return self._minted.get_order(external_id)
        except minted_errors.MintedNotFoundError:
            raise NotFound("No order has this external_id, here or at Minted.") from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None

    def _refresh(self, record: OrderRecord) -> OrderView:
        try:
            order = self._minted.get_order(record.external_id)
        except minted_errors.MintedError:
            return OrderView(record, stale=True)
        # status_id is optional in Minted's answers (contract 6): the status name decides.
        if order.status_name == record.status:
            return OrderView(record, refreshed=True)
        changes: dict[str, object] = {"status": order.status_name, "status_id": order.status_id}
        updated = self._book.write(record, changes, f"Minted status {order.status_name}")
        return OrderView(updated, refreshed=True)

    def _settle(self, record: OrderRecord) -> OrderView:
        """RECEIVED or UNKNOWN: ask Minted by external_id, so the answer agrees with Minted. A read never buys.

        A fresh claim is asked too: its invocation may have placed the order and then failed to write
        the ledger. When Minted has nothing yet, the claim is left to its invocation.
        """
        try:
            order = self._minted.find_order(OrderLookup(external_id=record.external_id))
        except minted_errors.MintedNotFoundError:
            if record.claim_is_stale(self._now()):
                # The claim outlived its invocation and Minted has nothing: the buy never left.
                changes = {"state": State.NOT_PLACED, "claim_expires_at": 0}
                return OrderView(
                    self._book.write(record, changes, "not at Minted after the claim expired"), refreshed=True
                )
            return OrderView(record, refreshed=True)
        except minted_errors.MintedError:
            return OrderView(record, stale=True)
        return OrderView(self._book.submitted(record, order, "found at Minted by lookup"), refreshed=True)
