"""Every order Minted holds under one external_id, for settling a buy whose answer was lost.

Minted may split a buy into one order per item (its buy answer lists ``guid[]`` and
``order_code[]``), but Get Order (Alternative) by external_id answers with one order as published
(every one when it answers an array, which its envelope allows). When that
order holds only part of the lines asked for, the others are looked for in Get Orders on the day
it was made (narrowed to a missing line's sku), a bounded number of pages, so the ledger tracks
every order of the buy and not only the first. A page that fails, or the bound, leaves the row with
what was found (its history says which lines are unseen); the daily comparison reports the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.base import ISTANBUL
from minted_gateway.orders.record import OrderRecord

if TYPE_CHECKING:  # a buy loads the lookups' models only when an answer was lost (its cold start)
    from minted_gateway.minted.models.lookups import OrderLookup, OrdersPage, OrdersQuery
    from minted_gateway.minted.models.orders import Order

MAX_PAGES = 5  # of 30 orders each, for one lost answer: a read must not page through a busy day
PAGE_SIZE = 30  # Minted's largest (Get Orders' ``total``, 5-30)


class OrderFinder(Protocol):
    def find_orders(self, lookup: OrderLookup) -> list[Order]: ...

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage: ...


def every_order(minted: OrderFinder, record: OrderRecord) -> list[Order]:
    """The orders under ``record``'s external_id; raises MintedNotFoundError when there is none."""
    from minted_gateway.minted.models.lookups import OrderLookup, OrdersQuery  # noqa: PLC0415 - see above

    first, *others = minted.find_orders(OrderLookup(external_id=record.external_id))
    found = {_key(order): order for order in (first, *others)}
    missing = unseen_lines(record, found.values())
    if not missing:
        return list(found.values())
    made = first.order_at or datetime.fromisoformat(record.created_at)
    day = made.astimezone(ISTANBUL).date()  # Get Orders' days are Minted's (Istanbul time)
    for page in range(1, MAX_PAGES + 1):
        query = OrdersQuery(page=page, total=PAGE_SIZE, sku=missing[0], startDate=day, endDate=day,
                            sortBy="created_at", sortType="asc")  # fmt: skip
        try:
            listed = minted.list_orders(query)
        except minted_errors.MintedError:
            break  # what was found is still Minted's word; the rest waits for the comparison
        for order in listed.data:
            if order.external_id == record.external_id:
                found.setdefault(_key(order), order)
        missing = unseen_lines(record, found.values())
        if not missing or page >= listed.last_page or not listed.data:
            break
    return list(found.values())


def unseen_lines(record: OrderRecord, orders: Iterable[Order]) -> list[str]:
    """The skus asked for that no order shows (none when the orders show no items: nothing to tell by)."""
    shown = {item.sku for order in orders for item in order.items}
    return [line.sku for line in record.lines if shown and line.sku not in shown]


def _key(order: Order) -> str:
    return order.guid or order.order_code or ""
