"""Finding every order of a buy whose answer was lost: the lookup's one order, then Get Orders for the rest."""

from __future__ import annotations

from decimal import Decimal

from minted_gateway.minted.errors import MintedUnavailableError
from minted_gateway.minted.models import Order, OrderLookup, OrdersPage, OrdersQuery
from minted_gateway.orders.lookup import MAX_PAGES, every_order
from minted_gateway.orders.record import Line
from tests.orders.test_dynamodb_ledger import record

SPLIT = record("ord-split", lines=[Line(sku="GAU", amount=Decimal("0.5")), Line(sku="GAG", amount=Decimal(2))])


def minted_order(guid: str, sku: str | None, external_id: str = "ord-split") -> Order:
    items = [{"sku": sku, "amount": "1"}] if sku else []
    return Order.model_validate({"guid": guid, "external_id": external_id, "status_name": "Completed",
                                 "order_at": "2026-01-01T10:00:00+03:00", "items": items})  # fmt: skip


class Minted:
    """Get Order (Alternative) shows ``first``; Get Orders pages hold ``listed`` (or fail)."""

    def __init__(self, first: Order, *listed: list[Order], fail: bool = False) -> None:
        self.first, self.listed, self.fail = first, listed, fail
        self.queries: list[OrdersQuery] = []

    def find_orders(self, lookup: OrderLookup) -> list[Order]:
        return [self.first]

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage:
        assert query is not None
        self.queries.append(query)
        if self.fail:
            raise MintedUnavailableError("list_orders", "down", status=503)
        page = self.listed[query.page - 1] if query.page <= len(self.listed) else []
        return OrdersPage.model_validate({"current_page": query.page, "data": [o.model_dump() for o in page],
                                          "last_page": 10**3, "per_page": 30, "total": 30 * 10**3})  # fmt: skip


def test_the_rest_of_a_split_buy_is_found_on_its_day_and_strangers_orders_are_left_out() -> None:
    minted = Minted(minted_order("G-1", "GAU"), [minted_order("G-X", "GAG", "ord-other")], [minted_order("G-2", "GAG")])
    assert [o.guid for o in every_order(minted, SPLIT)] == ["G-1", "G-2"]
    assert [(q.page, q.sku, str(q.startDate), str(q.endDate)) for q in minted.queries] == [
        (1, "GAG", "2026-01-01", "2026-01-01"), (2, "GAG", "2026-01-01", "2026-01-01")]  # fmt: skip


def test_a_lookup_showing_the_whole_buy_or_no_items_asks_nothing_more() -> None:
    for first in (minted_order("G-1", None), Order.model_validate({"guid": "G-1", "status_name": "Completed",
                  "items": [{"sku": "GAU", "amount": "0.5"}, {"sku": "GAG", "amount": "2"}]})):  # fmt: skip
        minted = Minted(first)
        assert [o.guid for o in every_order(minted, SPLIT)] == ["G-1"] and minted.queries == []


def test_a_search_that_fails_or_finds_nothing_keeps_the_order_found_within_its_bound() -> None:
    failing = Minted(minted_order("G-1", "GAU"), fail=True)
    assert [o.guid for o in every_order(failing, SPLIT)] == ["G-1"] and len(failing.queries) == 1
    endless = Minted(minted_order("G-1", "GAU"), *[[minted_order(f"G-X{n}", "GAG", "ord-other")] for n in range(50)])
    assert [o.guid for o in every_order(endless, SPLIT)] == ["G-1"] and len(endless.queries) == MAX_PAGES
