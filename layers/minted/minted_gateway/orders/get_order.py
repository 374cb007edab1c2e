"""Read an order: the ledger row, refreshed from Minted while it can still change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import NotFound, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.lookups import OrderLookup
from minted_gateway.minted.models.orders import Order
from minted_gateway.orders.ledger import OrderLedger
from minted_gateway.orders.lookup import every_order
from minted_gateway.orders.order_book import OrderBook, utcnow
from minted_gateway.orders.record import DEFAULT_TOKEN_SECONDS, OrderRecord, PlacedOrder, State, placed_orders

if TYPE_CHECKING:  # reading an order loads nothing of placing one (its cold start)
    from minted_gateway.orders.place_order import MintedOrders


class OrderView(NamedTuple):
    record: OrderRecord | None  # None: Minted knows the order but it was not placed through this gateway
    minted_order: Order | None = None
    refreshed: bool = False  # Minted was asked just now
    stale: bool = False  # Minted could not be asked; the ledger's last word is shown


class KnownOrders(Protocol):
    def known(self, external_id: str) -> OrderRecord | None: ...


class GetOrder:
    def __init__(
        self,
        ledger: OrderLedger,
        minted: MintedOrders,
        *,
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ledger = ledger
        self._minted = minted
        self._book = OrderBook(ledger, now)
        self._token_seconds = token_seconds
        self._now = now

    def __call__(self, external_id: str, caller: Caller = PARTNER) -> OrderView:
        """The order; a caller bound to a customer sees only that customer's orders (any other is not found)."""
        record = self._ledger.get(external_id)
        if record is None:
            if caller.bound:  # an order only Minted knows names no customer this gateway can vouch for
                raise NotFound("No order has this external_id, here or at Minted.")
            return OrderView(record=None, minted_order=self._from_minted_only(external_id), refreshed=True)
        caller.see_order(record.customer_external_id)
        return self._view(record)

    def known(self, external_id: str) -> OrderRecord | None:
        """The ledger's row, brought up to date as a read brings it (a lost answer looked up at Minted);
        None when the ledger has no row (Minted is not asked). What a retry of the gateway's own order
        (a plan's run, a fired conditional order) reads before making its request again."""
        record = self._ledger.get(external_id)
        return None if record is None else self._view(record).record

    def _view(self, record: OrderRecord) -> OrderView:
        if record.is_final or record.state is State.REJECTED:  # a refusal stays as Minted gave it until a retry
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
        """Each order of the buy that is not final yet. Minted's Get Order by external_id shows one order,
        so a buy of several is refreshed order by order, by guid, through Get Order (Alternative)."""
        orders = placed_orders(record)
        try:
            if len(orders) > 1:
                fresh = {o.key: self._minted.find_order(_lookup(o)) for o in orders if not o.is_final}
            else:
                order = self._minted.get_order(record.external_id)
                fresh = {orders[0].key if orders else (order.guid or order.order_code or ""): order}
        except minted_errors.MintedError:
            return OrderView(record, stale=True)
        return OrderView(self._book.statuses(record, fresh), refreshed=True)

    def _settle(self, record: OrderRecord) -> OrderView:
        """RECEIVED, UNKNOWN or NOT_PLACED: ask Minted by external_id, so the answer agrees with Minted.

        A read never buys. A fresh claim is asked too: its invocation may have placed the order and
        then failed to write the ledger; when Minted has nothing yet, the claim is left to it.
        """
        try:
            found = every_order(self._minted, record)  # a split buy is several orders: every one is kept
        except minted_errors.MintedNotFoundError:
            return OrderView(self._not_at_minted(record), refreshed=True)
        except minted_errors.MintedError:
            return OrderView(record, stale=True)
        return OrderView(self._book.settled(record, found, "found at Minted by lookup"), refreshed=True)

    def _not_at_minted(self, record: OrderRecord) -> OrderRecord:
        now = self._now()
        if record.state is State.RECEIVED and not record.claim_is_stale(now):
            return record
        if record.token_window_over(now, self._token_seconds):
            if record.state is State.NOT_PLACED:
                return record
            # Its price token can no longer buy: Minted will never have this attempt.
            changes = {"state": State.NOT_PLACED, "claim_expires_at": 0}
            return self._book.write(record, changes, "not at Minted after its price token's lifetime")
        if record.state is State.RECEIVED:
            # The claim outlived its invocation, but its buy may still land: not placed only once the token is past.
            return self._book.unknown(record, "the claim expired and Minted has no such order yet")
        return record


def _lookup(order: PlacedOrder) -> OrderLookup:
    """Get Order (Alternative) for one order of a buy: by guid, else by order code."""
    return OrderLookup(guid=order.guid) if order.guid else OrderLookup(order_code=order.order_code)
