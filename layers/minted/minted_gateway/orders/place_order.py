"""Place an order exactly once per external_id (design.md, "Exactly-once buys").

The ledger row is claimed before Minted is called. A retry with the same payload replays the
stored outcome; a different payload is a conflict; a retry while the first is in flight is told to
wait; an attempt whose answer was lost is settled by looking the order up at Minted before any
second buy, and Minted's own duplicate check on external_id stands behind that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from minted_gateway.errors import (
    REJECTIONS,
    GatewayError,
    LedgerUnavailable,
    OrderConflict,
    OrderInProgress,
    from_minted,
)
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models import BuyRequest, Order, OrderLookup, OrderResult
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.ledger import LedgerConflict, OrderLedger
from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, Rejection, State
from minted_gateway.orders.requests import OrderRequest

logger = logging.getLogger(__name__)


class MintedOrders(Protocol):
    """What the order use cases need of Minted."""

    def buy(self, request: BuyRequest) -> OrderResult: ...

    def find_order(self, lookup: OrderLookup) -> Order: ...

    def get_order(self, external_id: str) -> Order: ...


@dataclass(frozen=True)
class OrderOutcome:
    record: OrderRecord
    replayed: bool = False  # answered from the ledger; Minted was not called
    resolved: bool = False  # an earlier uncertain attempt was settled by a lookup at Minted


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
        except (LedgerUnavailable, LedgerConflict) as exc:
            logger.error("ledger write failed; the row settles on the next call", extra={
                "external_id": record.external_id, "state": state.value, "reason": type(exc).__name__})  # fmt: skip
            merged = {**record.model_dump(), **changes, "history": [*record.history, entry]}
            return OrderRecord.model_validate(merged)

    def submitted(self, record: OrderRecord, order: Order | OrderResult, note: str) -> OrderRecord:
        return self.write(record, submitted_changes(order), note)

    def unknown(self, record: OrderRecord, cause: str) -> OrderRecord:
        return self.write(record, {"state": State.UNKNOWN, "claim_expires_at": 0}, f"outcome unknown: {cause}")


def submitted_changes(order: Order | OrderResult) -> dict[str, Any]:
    # Minted's answers are read tolerantly (contract 6): keep only what the answer does carry.
    if isinstance(order, OrderResult):
        detail = order.orders[0] if order.orders else None
        codes = order.order_code or [o.order_code for o in order.orders if o.order_code]
        guids = order.guid or [o.guid for o in order.orders if o.guid]
    else:
        detail = order
        codes = [order.order_code] if order.order_code else []
        guids = [order.guid] if order.guid else []
    changes: dict[str, Any] = {"state": State.SUBMITTED, "order_codes": codes, "guids": guids, "claim_expires_at": 0}
    for name in ("price", "total"):
        if getattr(order, name) is not None:
            changes[name] = getattr(order, name)
    if order.order_at is not None:
        changes["order_at"] = order.order_at.isoformat()
    if detail is not None:
        changes["status"] = detail.status_name
        if detail.currency_code:
            changes["currency"] = detail.currency_code
        if detail.status_id is not None:
            changes["status_id"] = detail.status_id
        if detail.items and all(i.sku and i.amount is not None for i in detail.items):
            changes["lines"] = [
                Line(sku=i.sku, amount=i.amount, unit_price=i.price, total=i.total).model_dump() for i in detail.items
            ]
    return changes


class PlaceOrder:
    def __init__(
        self,
        ledger: OrderLedger,
        minted: MintedOrders,
        fingerprinter: Fingerprinter,
        *,
        claim_seconds: int,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._book = OrderBook(ledger, now)
        self._ledger = ledger
        self._minted = minted
        self._fingerprinter = fingerprinter
        self._claim = timedelta(seconds=claim_seconds)
        self._now = now

    def __call__(self, request: OrderRequest) -> OrderOutcome:
        fingerprint = self._fingerprinter.request(request)
        now = self._now()
        fresh = self._new_record(request, fingerprint, now)
        stored = self._ledger.claim(fresh)
        if stored is None:
            return self._send(fresh, request)
        if stored.request_hash != fingerprint:
            raise OrderConflict("This external_id was already used for a different order.")
        if stored.state in (State.SUBMITTED, State.REJECTED):
            return OrderOutcome(stored, replayed=True)
        if stored.state is State.RECEIVED and not stored.claim_is_stale(now):
            wait = max(1, math.ceil(stored.claim_expires_at - now.timestamp()))
            raise OrderInProgress("This order is being placed right now; retry shortly.", retry_after=min(wait, 5))
        claimed = self._reclaim(stored, now)
        if stored.state is State.NOT_PLACED:
            return self._send(claimed, request)  # it never reached Minted: nothing to look up
        return self._settle(claimed, request, may_buy=True)

    def _new_record(self, request: OrderRequest, fingerprint: str, now: datetime) -> OrderRecord:
        identity = request.customer.identity_number if request.customer else None
        stamp = now.isoformat()
        return OrderRecord(
            external_id=request.external_id,
            state=State.RECEIVED,
            version=1,
            request_hash=fingerprint,
            mode=request.mode,
            currency=request.currency,
            customer_external_id=request.customer.external_id if request.customer else None,
            identity_last4=identity[-4:] if identity else None,
            identity_hash=self._fingerprinter.identity(identity) if identity else None,
            lines=[Line(sku=item.sku, amount=item.amount) for item in request.items],
            created_at=stamp,
            updated_at=stamp,
            claim_expires_at=math.ceil((now + self._claim).timestamp()),
            history=[HistoryEntry(at=stamp, state=State.RECEIVED, note="claimed")],
        )

    def _reclaim(self, stored: OrderRecord, now: datetime) -> OrderRecord:
        changes = {"state": State.RECEIVED, "claim_expires_at": math.ceil((now + self._claim).timestamp())}
        try:
            return self._ledger.update(
                stored, changes, self._book.entry(State.RECEIVED, f"retry claimed after {stored.state}")
            )
        except LedgerConflict:
            raise OrderInProgress("Another attempt at this order is running; retry shortly.", retry_after=1) from None

    def _send(self, record: OrderRecord, request: OrderRequest) -> OrderOutcome:
        try:
            result = self._minted.buy(request.to_minted())
        except minted_errors.MintedOutcomeUnknownError as exc:
            return OrderOutcome(self._book.unknown(record, exc.cause))
        except (minted_errors.MintedValidationError, minted_errors.MintedForbiddenError) as exc:
            if isinstance(exc, minted_errors.MintedValidationError) and "external_id" in exc.field_errors:
                # Minted already has this external_id: an earlier attempt got through.
                return self._settle(record, request, may_buy=False)
            return OrderOutcome(self._reject(record, from_minted(exc)))
        except minted_errors.MintedError as exc:
            # Refused connection, 429, credentials, no time left: the buy did not reach Minted's books.
            error = from_minted(exc)
            self._book.write(record, {"state": State.NOT_PLACED, "claim_expires_at": 0}, f"not placed: {error.code}")
            raise error from None
        return OrderOutcome(self._book.submitted(record, result, "accepted by Minted"))

    def _reject(self, record: OrderRecord, error: GatewayError) -> OrderRecord:
        assert type(error) in REJECTIONS.values()  # noqa: S101 - from_minted maps 422/403 to these only
        rejection = Rejection(code=error.code, message=error.message, details=error.details)
        changes = {"state": State.REJECTED, "rejection": rejection.model_dump(), "claim_expires_at": 0}
        return self._book.write(record, changes, f"rejected by Minted: {error.code}")

    def _settle(self, record: OrderRecord, request: OrderRequest, *, may_buy: bool) -> OrderOutcome:
        """Look the order up at Minted; buy only when Minted has none and ``may_buy``."""
        try:
            order = self._minted.find_order(OrderLookup(external_id=record.external_id))
        except minted_errors.MintedNotFoundError:
            if may_buy:
                return self._send(record, request)
            return OrderOutcome(self._book.unknown(record, "Minted reports a duplicate but its lookup finds none"))
        except minted_errors.MintedError as exc:
            return OrderOutcome(self._book.unknown(record, f"lookup failed ({type(exc).__name__})"))
        return OrderOutcome(self._book.submitted(record, order, "found at Minted by lookup"), resolved=True)
