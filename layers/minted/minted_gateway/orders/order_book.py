"""The ledger writes the order use cases share (placing, reading, settling, the workflow's failure path):
each records one fact about a row and a history entry, and Minted's answers become the row's changes.

Apart from ``place_order.py`` so that reading an order (GET /orders/{external_id}, the get_order task,
the reconciler) loads none of what placing one needs: requests, limits, keyed hashes, Minted's buy models.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from minted_gateway.cards.outcome import payment_changes
from minted_gateway.deliveries.tracking import tracking_changes
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.ledger import LedgerConflict, OrderLedger
from minted_gateway.orders.lookup import unseen_lines
from minted_gateway.orders.matching import asked, differences, held
from minted_gateway.orders.record import (
    HistoryEntry,
    Line,
    OrderRecord,
    PlacedOrder,
    State,
    combined_status,
    placed_orders,
)

if TYPE_CHECKING:
    from minted_gateway.minted.models.orders import Order, OrderResult

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OrderBook:
    """Ledger writes shared by the order use cases: each records one fact and a history entry."""

    def __init__(self, ledger: OrderLedger, now: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self.now = now

    def entry(self, state: State, note: str, status: str | None = None) -> HistoryEntry:
        return HistoryEntry(at=self.now().isoformat(), state=state, status=status, note=note)

    def write(self, record: OrderRecord, changes: dict[str, Any], note: str) -> OrderRecord:
        """Persist ``changes``; if the ledger cannot take them, answer with them anyway.

        The row then keeps its earlier state and the next retry or GET settles it with a lookup.
        """
        state = State(changes.get("state", record.state))
        entry = self.entry(state, note, changes.get("status", record.status))
        try:
            return self.ledger.update(record, changes, entry)
        except LedgerConflict:
            # Another call wrote the row first (concurrent reads refreshing the same status): an
            # expected race, not a failure; the winner's write stands and the next call reads it.
            logger.info("ledger write lost a race with another call; the row settles on the next call", extra={
                "external_id": record.external_id, "state": state.value})  # fmt: skip
        except LedgerUnavailable as exc:
            logger.error("ledger write failed; the row settles on the next call", extra={
                "external_id": record.external_id, "state": state.value, "reason": type(exc).__name__})  # fmt: skip
        merged = {**record.model_dump(), **changes, "history": [*record.history, entry]}
        return OrderRecord.model_validate(merged)

    def submitted(self, record: OrderRecord, result: OrderResult, note: str) -> OrderRecord:
        """Minted's answer to our own buy: ours, whatever external_id its orders carry."""
        return self.write(record, {**submitted_changes(result), "status_read_at": self.now().isoformat()}, note)

    def settled(self, record: OrderRecord, found: list[Order], note: str) -> OrderRecord:
        """Orders a lookup found under our external_id: adopted only if they are the ones asked for."""
        reasons = differences(record, found)
        if not reasons:
            changes = {**found_changes(found), "status_read_at": self.now().isoformat()}
            unseen = unseen_lines(record, found)
            if unseen:  # one order of a split buy: keep the lines asked for, the rest is under orders not listed
                changes = {key: value for key, value in changes.items() if key not in ("lines", "price", "total")}
                note += f"; the lookup shows part of the buy, not {', '.join(unseen)}"
            return self.write(record, changes, note)
        logger.warning("Minted holds a different order under this external_id", extra={
            "external_id": record.external_id, "differences": "; ".join(reasons)})  # fmt: skip
        changes = {"state": State.FOREIGN, "claim_expires_at": 0}
        note = f"Minted holds a different order under this id ({'; '.join(reasons)}). Asked: {asked(record)}. " \
               f"Minted holds: {held(found)}"  # fmt: skip
        return self.write(record, changes, note)

    def unknown(self, record: OrderRecord, cause: str) -> OrderRecord:
        return self.write(record, {"state": State.UNKNOWN, "claim_expires_at": 0}, f"outcome unknown: {cause}")

    def statuses(self, record: OrderRecord, fresh: dict[str, Order]) -> OrderRecord:
        """Minted's current status of each order (by its key); written only when one changed."""
        orders = [
            order.model_copy(update={"status": fresh[order.key].status_name, "status_id": fresh[order.key].status_id})
            if order.key in fresh
            else order
            for order in placed_orders(record)
        ] or [_placed(order) for order in fresh.values()]
        changes = {**_status_changes(orders), **_card_and_cargo(list(fresh.values()))}
        current = record.model_dump()
        read_at = self.now().isoformat()
        if all(current.get(field) == value for field, value in changes.items()):
            try:
                self.ledger.status_read(record, read_at)
            except LedgerUnavailable:
                return record  # the answer is still Minted's status, read now; the row says when it last knew
            return record.model_copy(update={"status_read_at": read_at})
        return self.write(record, {**changes, "status_read_at": read_at}, f"Minted status {changes['status']}")


def submitted_changes(result: OrderResult) -> dict[str, Any]:
    """A buy's answer: one entry in ``order_code[]`` and ``guid[]`` per order Minted made."""
    # Read tolerantly (contract 6): the lists or the orders may be all Minted sends.
    by_guid = {order.guid: order for order in result.orders if order.guid}
    orders = [
        _placed(by_guid[guid]) if guid in by_guid else PlacedOrder(guid=guid, order_code=code)
        for guid, code in zip(result.guid, result.order_code, strict=False)
    ] or [_placed(order) for order in result.orders]
    changes: dict[str, Any] = {
        "state": State.SUBMITTED,
        "order_codes": result.order_code or [order.order_code for order in result.orders if order.order_code],
        "guids": result.guid or [order.guid for order in result.orders if order.guid],
        "claim_expires_at": 0,
        **_status_changes(orders),
        **_known({"price": result.price, "total": result.total}),
    }
    if result.order_at is not None:
        changes["order_at"] = result.order_at.isoformat()
    return {**changes, **_detail_changes(result.orders), **_card_and_cargo(result.orders, result)}


def found_changes(found: list[Order]) -> dict[str, Any]:
    """Orders a lookup found (and that matched): the buy as Minted holds it."""
    orders = [_placed(order) for order in found]
    changes: dict[str, Any] = {
        "state": State.SUBMITTED,
        "order_codes": [order.order_code for order in found if order.order_code],
        "guids": [order.guid for order in found if order.guid],
        "claim_expires_at": 0,
        **_status_changes(orders),
        **_known({"price": _sum([o.price for o in found]), "total": _sum([o.total for o in found])}),
    }
    dated = [order.order_at for order in found if order.order_at is not None]
    if dated:
        changes["order_at"] = min(dated).isoformat()
    return {**changes, **_detail_changes(found), **_card_and_cargo(found)}


def _card_and_cargo(orders: list[Order], result: OrderResult | None = None) -> dict[str, Any]:
    """What a card order's payment and a delivery's cargo add to its row (a declined card: REJECTED)."""
    return {**tracking_changes(orders), **payment_changes(orders, result.payment if result else None)}


def _sum(values: list[Decimal | None]) -> Decimal | None:
    """A total only when Minted sent every part of it."""
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known and len(known) == len(values) else None


def _known(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _placed(order: Order) -> PlacedOrder:
    return PlacedOrder(guid=order.guid, order_code=order.order_code, status=order.status_name,
                       status_id=order.status_id)  # fmt: skip


def _status_changes(orders: list[PlacedOrder]) -> dict[str, Any]:
    single = orders[0] if len(orders) == 1 else None
    return {
        "orders": [order.model_dump() for order in orders],
        "status": combined_status([order.status for order in orders]),
        "status_id": single.status_id if single else None,
    }


def _detail_changes(orders: list[Order]) -> dict[str, Any]:
    """Currency and priced lines from Minted's orders, when it sent them."""
    changes: dict[str, Any] = {}
    currencies = [order.currency_code for order in orders if order.currency_code]
    if currencies:
        changes["currency"] = currencies[0]
    lines = [
        Line(sku=item.sku, amount=item.amount, unit_price=item.price, total=item.total).model_dump()
        for order in orders
        for item in order.items
    ]
    if lines:
        changes["lines"] = lines
    return changes
