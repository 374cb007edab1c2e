"""Sides: a buy's fingerprint is what it was before orders had a side; a sell is never a buy's match."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from minted_gateway import jsonutil
from minted_gateway.errors import PriceGuardExceeded
from minted_gateway.minted.models import Currency
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.limits import PriceGuard
from minted_gateway.orders.matching import asked, differences
from minted_gateway.orders.requests import CustomerIn, ItemIn, Purchase
from minted_gateway.prices.quotes import Quote, QuoteLine
from tests.orders.test_matching import minted_order, row
from tests.stack import customer

KEY = b"k" * 32


def test_a_buys_fingerprint_is_unchanged_by_sides() -> None:
    items = [ItemIn(sku="GAU", amount=Decimal("1.5"))]
    # The payload as the ledger hashed it before sides existed: what is bought, defaults filled in.
    before = jsonutil.dumps(
        {"currency": "TRY", "external_id": "o-1", "items": [{"amount": Decimal("1.5"), "sku": "GAU"}]}
    )
    expected = hmac.new(KEY, ("order:" + before).encode(), hashlib.sha256).hexdigest()
    fingerprints = Fingerprinter(KEY)
    assert fingerprints.purchase(Purchase.of("o-1", None, items, None)) == expected
    assert fingerprints.purchase(Purchase.of("o-1", Currency.TRY, items, None, side="buy")) == expected
    assert fingerprints.purchase(Purchase.of("o-1", None, items, None, side="sell")) != expected


def test_a_sells_fingerprint_is_its_customer_however_named() -> None:
    items = [ItemIn(sku="GAU", amount=Decimal("1"))]
    full = CustomerIn.model_validate(customer())
    fingerprints = Fingerprinter(KEY)
    by_block = Purchase.of("o-1", None, items, full, side="sell")
    by_id = Purchase.of("o-1", None, items, None, side="sell", customer_external_id=full.external_id)
    assert by_block.customer is None and by_block.seller == full.external_id  # no personal data kept for a sell
    assert fingerprints.purchase(by_block) == fingerprints.purchase(by_id)


def test_an_order_of_the_other_side_is_a_strangers() -> None:
    sell_row = row().model_copy(update={"side": "sell"})
    assert differences(sell_row, [minted_order(side="Sell")]) == []
    assert differences(sell_row, [minted_order(side="Buy")]) == ["side Buy"]
    assert differences(row(), [minted_order(side="Sell")]) == ["side Sell"]
    assert asked(sell_row).startswith("Sell for customer cust-0001")


def quote(side: str, unit_price: str) -> Quote:
    line = QuoteLine(sku="GAU", amount=Decimal(1), unit_price=Decimal(unit_price), line_total=Decimal(unit_price))
    return Quote(side=side, price_token="t" * 32, expires_at="2026-01-01T00:00:00+00:00", expires_in_seconds=239,
                 currency="TRY", mode="amount", lines=[line], total=Decimal(unit_price))  # fmt: skip


def test_the_guard_keeps_a_sell_above_its_floor_and_a_buy_below_its_ceiling() -> None:
    guard = PriceGuard(min_unit_price=Decimal("100"), max_unit_price=Decimal("50"))
    guard.check(quote("sell", "100"))
    guard.check(quote("buy", "50"))
    for side, price, field in (("sell", "99.99", "min_unit_price"), ("buy", "50.01", "max_unit_price")):
        with pytest.raises(PriceGuardExceeded) as refused:
            guard.check(quote(side, price))
        assert refused.value.details[0]["field"] == field
