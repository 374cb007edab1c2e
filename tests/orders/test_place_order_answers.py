"""What PlaceOrder writes from Minted's answers, read tolerantly: a buy's answer that lists only its
orders, and the orders a lookup finds (their money summed only when Minted sent every part)."""

from __future__ import annotations

from decimal import Decimal

from minted_gateway.minted.models import Order, OrderResult
from minted_gateway.orders.order_book import found_changes, submitted_changes


def minted_order(guid: str, code: str, total: str | None = "100.50") -> Order:
    return Order.model_validate({"guid": guid, "order_code": code, "status_name": "Created", "price": total,
                                 "total": total})  # fmt: skip


def test_an_answer_with_only_its_orders_names_them_all() -> None:
    answer = OrderResult(orders=[minted_order("G-1", "C-1"), minted_order("G-2", "C-2")])
    changes = submitted_changes(answer)
    assert (changes["guids"], changes["order_codes"]) == (["G-1", "G-2"], ["C-1", "C-2"])
    assert [o["guid"] for o in changes["orders"]] == ["G-1", "G-2"]


def test_the_lists_of_an_answer_come_first() -> None:
    answer = OrderResult(guid=["G-1"], order_code=["C-1"], orders=[minted_order("G-9", "C-9")])
    changes = submitted_changes(answer)
    assert (changes["guids"], changes["order_codes"]) == (["G-1"], ["C-1"])


def test_a_lookups_orders_are_summed_exactly_and_only_when_minted_sent_every_part() -> None:
    changes = found_changes([minted_order("G-1", "C-1", "100.50"), minted_order("G-2", "C-2", "0.25")])
    assert (changes["price"], changes["total"]) == (Decimal("100.75"), Decimal("100.75"))
    partial = found_changes([minted_order("G-1", "C-1", "100.50"), minted_order("G-2", "C-2", None)])
    assert "total" not in partial and "price" not in partial


def test_an_answer_whose_lists_differ_in_length_is_written_not_refused() -> None:
    # Read tolerantly: a code Minted left out loses no guid, and the order is still SUBMITTED.
    changes = submitted_changes(OrderResult(guid=["G-1", "G-2"], order_code=["C-1"]))
    assert (changes["guids"], changes["order_codes"]) == (["G-1", "G-2"], ["C-1"])
    assert [(o["guid"], o["order_code"]) for o in changes["orders"]] == [("G-1", "C-1")]
