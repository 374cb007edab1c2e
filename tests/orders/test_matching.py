"""Which orders a lookup may adopt: the one asked for, read tolerantly; never a stranger's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from minted_gateway.minted.models import Order
from minted_gateway.orders.matching import asked, differences, held
from minted_gateway.orders.record import Line, OrderRecord, State


def row(customer: str | None = "cust-0001", **lines: str) -> OrderRecord:
    return OrderRecord(
        external_id="ord-1", state=State.UNKNOWN, version=2, request_hash="h" * 64,
        mode="B2B2C" if customer else "B2B", customer_external_id=customer,
        lines=[Line(sku=sku, amount=Decimal(amount)) for sku, amount in (lines or {"GAU": "5"}).items()],
        created_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip


def minted_order(*items: tuple[str, str], side: str = "Buy", customer: str | None = "cust-0001", **extra: Any) -> Order:
    data: dict[str, Any] = {
        "guid": "896AE1AC-E26F-4291-80B2-BF80DE0A920A", "order_code": "ALS8HEVP", "external_id": "ord-1",
        "type": side, "price": 1, "total": 1, "status_id": 5, "status_name": "Completed",
        "order_at": "06-11-2023 07:18",
        "items": [{"product_id": 3000001, "sku": sku, "price": 1, "amount": amount, "total": 1}
                  for sku, amount in items or [("GAU", "5")]],
        "customer": {"external_id": customer, "firstname": "Soner"} if customer else None,
    }  # fmt: skip
    data.update(extra)
    return Order.model_validate(data)


def test_the_order_asked_for_is_ours() -> None:
    assert differences(row(), [minted_order(("GAU", "5.000"))]) == []
    assert differences(row(None), [minted_order(customer=None)]) == []


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (minted_order(side="Sell"), "side Sell"),
        (minted_order(customer="cust-9999"), "another wallet"),
        (minted_order(("GAU", "0.1")), "GAU 0.1 g, not 5 g"),
        (minted_order(("GAG", "5")), "a product not asked for (GAG)"),
    ],
    ids=["another side", "another customer", "another amount", "another metal"],
)
def test_a_stranger_differs_in_side_wallet_metal_or_amount(order: Order, reason: str) -> None:
    assert reason in differences(row(), [order])


def test_a_customer_order_under_a_partner_wallet_buy_is_a_stranger() -> None:
    assert differences(row(None), [minted_order()]) == ["another wallet"]


def test_what_minted_leaves_out_is_not_held_against_it() -> None:
    # The published buy answer has customer: null on a customer's order; a lookup may omit the side.
    assert differences(row(), [minted_order(customer=None)]) == []
    assert differences(row(), [minted_order(side="buy")]) == []


def test_one_of_a_split_buys_orders_is_ours_when_its_lines_are_as_asked() -> None:
    record = row(GAU="1.5", GAG="2")
    assert differences(record, [minted_order(("GAG", "2"))]) == []
    assert differences(record, [minted_order(("GAG", "2")), minted_order(("GAU", "1.5"))]) == []
    assert differences(record, [minted_order(("GAG", "2"), ("GAU", "1"))]) == ["GAU 1 g, not 1.5 g"]


def test_both_sides_are_described_without_personal_data() -> None:
    assert asked(row()) == "Buy for customer cust-0001: GAU 5 g"
    described = held([minted_order(("GAG", "0.1"), customer="cust-9999")])
    assert described == "Buy for customer cust-9999: GAG 0.1 g" and "Soner" not in described
