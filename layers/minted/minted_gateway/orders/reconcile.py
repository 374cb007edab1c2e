"""The reconciler: settle, by lookup only, the ledger rows nobody will touch again (issue 13, item 1).

Every few minutes a run reads the rows that need a look from the ledger's sparse index (never a
Scan) and hands each to the GET use case (``GetOrder``): a dead claim or an unknown outcome is
looked up at Minted by external_id (found: SUBMITTED with Minted's codes, including a buy that
landed after its claim expired; not found once its price token is past: NOT_PLACED), a non-final
order is refreshed, and a stranger's order stays FOREIGN and is reported again. Nothing here
buys or sells. A run is bounded (rows and seconds) and leases each row before looking, so two runs
at once look each row up once and write it once.

Once a day ``CompareWithMinted`` reads Minted's order list by date and reports every order there
the ledger does not account for: no row, or a row that says it never reached Minted (NOT_PLACED),
was refused (REJECTED), is a stranger's (FOREIGN), or records other orders of Minted's. That is
where money goes missing; it never adopts an order nor changes a row.

``FOLLOWED_STATES`` is a lighter run of the same kind, on a schedule of its own (every minute by
default): only the SUBMITTED orders that are not final, refreshed from Minted until they are, so the
order history (GET /orders) stays fresh. It is bounded like every run (rows and seconds), and a row
it finds unchanged waits its lease before the next look.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple, Protocol

from minted_gateway.errors import GatewayError
from minted_gateway.minted.errors import MintedError
from minted_gateway.minted.models.base import ISTANBUL
from minted_gateway.minted.models.lookups import OrdersPage, OrdersQuery
from minted_gateway.minted.models.orders import Order
from minted_gateway.orders.dynamodb_ledger import ATTENTION_STATES, DueRow, LedgerEntry
from minted_gateway.orders.get_order import OrderView
from minted_gateway.orders.record import OrderRecord, State, attention_due

logger = logging.getLogger(__name__)

# Minted's largest page (Get Orders' ``total``, 5-30).
MINTED_PAGE_SIZE = 30
# The rows that wait for a person or a lookup, whenever their next look is due.
WAITING_STATES = (State.UNKNOWN, State.FOREIGN)
_EVER = 2**53  # a due time past every lease: "due at any time"
# What the follow schedule looks at: orders Minted accepted that can still change.
FOLLOWED_STATES = (State.SUBMITTED,)


class AttentionQueue(Protocol):
    """The ledger's work list for the reconciler (``DynamoDbOrderLedger``)."""

    def due(self, state: State, now: int, limit: int) -> list[DueRow]: ...

    def lease(self, row: DueRow, until: int) -> int | None:
        """Take the row for this run; its version when taken, None when another run has it."""

    def release(self, record: OrderRecord) -> bool: ...


@dataclass
class ReconcileReport:
    looked_at: int = 0
    changed: list[OrderRecord] = field(default_factory=list)  # written by this run (events tell the rest)
    unsettled: list[OrderRecord] = field(default_factory=list)  # still needing attention, not written this run
    released: int = 0  # needed nothing more: taken out of the index
    skipped: int = 0  # another run had leased it, or the ledger failed on it: the next run looks again
    more: bool = False  # the run stopped at its bounds with due rows left
    # Every UNKNOWN or FOREIGN row there is was looked at by this run, so the oldest it reports is the
    # oldest there is (False: one waits leased or past a bound, and the age alarm keeps its state).
    all_waiting_seen: bool = True


class Reconcile:
    def __init__(
        self,
        queue: AttentionQueue,
        get_order: Callable[[str], OrderView],
        *,
        max_rows: int,
        time_budget_seconds: float,
        lease_seconds: int,
        token_seconds: int,
        states: tuple[State, ...] = ATTENTION_STATES,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states = states
        self._queue = queue
        self._get_order = get_order
        self._max_rows = max_rows
        self._budget = time_budget_seconds
        self._lease = lease_seconds
        self._token_seconds = token_seconds
        self._clock = clock
        self._monotonic = monotonic

    def __call__(self) -> ReconcileReport:
        report = ReconcileReport()
        now = int(self._clock())
        self._look(report, now, self._monotonic() + self._budget)
        return report

    def _look(self, report: ReconcileReport, now: int, deadline: float) -> None:
        states = self._states
        for index, state in enumerate(states):  # unknown outcomes first: they are the money in limbo
            rows = self._rows(state, now, self._max_rows - report.looked_at, report)
            for row in rows:
                if report.looked_at >= self._max_rows or self._monotonic() >= deadline:
                    report.more = True  # this row, at least, is due and was not looked at
                    report.all_waiting_seen &= not set(states[index:]) & set(WAITING_STATES)
                    return
                self._reconcile(row, now, report)
            if report.looked_at >= self._max_rows:
                # The bound was reached on the last row read: "more" only if a row is still due.
                report.more = any(self._queue.due(left, now, 1) for left in states[index:])
                report.all_waiting_seen &= not set(states[index + 1 :]) & set(WAITING_STATES)
                return

    def _rows(self, state: State, now: int, limit: int, report: ReconcileReport) -> list[DueRow]:
        """The rows of ``state`` due now. A waiting state's few rows are read whole (due or not, one
        more than the run may take) in the same query: one leased by an earlier run is not looked at,
        but the age alarm must not be told that nothing waits."""
        if state not in WAITING_STATES:
            return self._queue.due(state, now, limit)
        rows = self._queue.due(state, _EVER, limit + 1)
        due = [row for row in rows if row.due <= now]
        if len(due) < len(rows):
            report.all_waiting_seen = False
        return due

    def _reconcile(self, row: DueRow, now: int, report: ReconcileReport) -> None:
        version = self._queue.lease(row, now + self._lease)
        if version is None:
            report.skipped += 1
            return
        report.looked_at += 1
        try:
            view = self._get_order(row.external_id)
        except GatewayError as exc:  # the ledger failed, or Minted refused oddly: the lease brings it back
            logger.warning("reconciler could not read an order", extra={
                "external_id": row.external_id, "error": exc.code})  # fmt: skip
            report.skipped += 1
            return
        record = view.record
        if record is None:
            return
        if record.version != version:
            report.changed.append(record)
            return
        due = attention_due(record.state, final=record.is_final, claim_expires_at=record.claim_expires_at,
                            sent_at=record.sent_at, written_at=now, token_seconds=self._token_seconds)  # fmt: skip
        if due is None and view.stale:
            # The lookup could not reach Minted, which proves nothing: the row stays listed and the lease
            # brings it back (a NOT_PLACED row Minted holds would otherwise stay uncounted for good).
            report.skipped += 1
        elif due is None:  # e.g. NOT_PLACED and its token is past: "not at Minted" is final now
            report.released += int(self._queue.release(record))
        elif needs_attention(record, now):
            report.unsettled.append(record)


def needs_attention(record: OrderRecord, now: int) -> bool:
    """An outcome nobody knows (a dead claim counts), or a stranger's order: what the age alarm watches."""
    if record.state in (State.UNKNOWN, State.FOREIGN):
        return True
    return record.state is State.RECEIVED and now >= record.claim_expires_at


# ---------------------------------------------------------------- the daily comparison
class MintedOrderList(Protocol):
    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage: ...


class KnownOrders(Protocol):
    def known(self, external_ids: list[str]) -> dict[str, LedgerEntry]: ...


# Why an order at Minted is reported: the ledger has no row, or its row says something else.
NO_ROW = "no_row"
OTHER_ORDER = "other_order"  # the row records other orders of Minted's than this one
# States that say "no order of ours at Minted": an order listed there under the id disagrees.
_NOT_AT_MINTED = {State.NOT_PLACED: "not_placed", State.REJECTED: "rejected", State.FOREIGN: "foreign"}


class Unaccounted(NamedTuple):
    order: Order
    reason: str  # NO_ROW, OTHER_ORDER or one of _NOT_AT_MINTED's
    ledger_state: State | None  # None: no row


def disagreement(order: Order, entry: LedgerEntry | None) -> Unaccounted | None:
    """Why the ledger does not account for Minted's ``order``, or None when it does.

    A row still settling (RECEIVED, UNKNOWN) is the reconciler's, and a SUBMITTED row that records
    no ids (written before ids were kept) cannot be told apart: neither is reported.
    """
    if entry is None:
        return Unaccounted(order, NO_ROW, None)
    ids = {order.guid, order.order_code} - {None, ""}
    if entry.state is State.REJECTED and ids & entry.minted_ids:
        return None  # a declined card: Minted keeps the cancelled order, and the refused row records it
    if entry.state in _NOT_AT_MINTED:
        return Unaccounted(order, _NOT_AT_MINTED[entry.state], entry.state)
    if entry.state is State.SUBMITTED and entry.minted_ids and not ids & entry.minted_ids:
        return Unaccounted(order, OTHER_ORDER, entry.state)
    return None


class Comparison(NamedTuple):
    start: date
    end: date
    pages_read: int
    orders_seen: int
    complete: bool  # every page was read (False: the page bound, the time budget or Minted stopped it)
    not_in_ledger: list[Unaccounted]  # every order the ledger does not account for, and why
    stopped: str | None = None  # why a page could not be read (Minted's error), when one could not


class CompareWithMinted:
    """Minted's orders of the last ``days`` days (its days, Istanbul time) against the ledger's rows."""

    def __init__(
        self,
        ledger: KnownOrders,
        minted: MintedOrderList,
        *,
        max_pages: int,
        time_budget_seconds: float,
        days: int = 1,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._minted = minted
        self._max_pages = max_pages
        self._budget = time_budget_seconds
        self._days = days
        self._clock = clock
        self._monotonic = monotonic

    def __call__(self) -> Comparison:
        end = datetime.fromtimestamp(self._clock(), ISTANBUL).date()
        start = end - timedelta(days=self._days)
        orders: dict[str, Order] = {}  # by identity: a page Minted repeats is not an order more
        complete = False
        stopped = None
        page = 0
        # Pages are read one after another: a slow Minted must not run the function out of time
        # before what was read is reported.
        deadline = self._monotonic() + self._budget
        while page < self._max_pages and self._monotonic() < deadline:
            page += 1
            query = OrdersQuery(
                page=page, total=MINTED_PAGE_SIZE, startDate=start, endDate=end, sortBy="created_at", sortType="asc"
            )
            try:
                listed = self._minted.list_orders(query)
            except MintedError as exc:
                # What the pages before compared is reported, not lost; the run says it is not complete.
                stopped = f"page {page}: {type(exc).__name__}"
                logger.warning("Minted's order list could not be read to the end", extra={"page": page,
                               "reason": type(exc).__name__})  # fmt: skip
                page -= 1
                break
            for order in listed.data:
                orders.setdefault(identity(order), order)
            if page >= listed.last_page:
                complete = True
                break
            if not listed.data:  # an empty page before the last: Minted's list is not whole, so neither is this
                break
        known = self._ledger.known([order.external_id for order in orders.values() if order.external_id])
        # An order without an external_id cannot be one of ours: reported too.
        strays = [
            stray
            for order in orders.values()
            if (stray := disagreement(order, known.get(order.external_id or ""))) is not None
        ]
        return Comparison(start, end, page, len(orders), complete, strays, stopped)


def identity(order: Order) -> str:
    """Minted's own name for an order (its guid, else its code); the external_id is the partner's."""
    return order.guid or order.order_code or order.external_id or ""
