"""A plan whose single run would pass a per-order limit cannot be made: checked on the plan's own
amount or grams (a money plan against the grams limit at the current price)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from minted_gateway.errors import LimitExceeded
from minted_gateway.orders.limits import LimitRules, PricedLine, PricedOrder
from minted_gateway.plans.manage import RunLimits

PRICE = Decimal("3000")


def at_price(order: PricedOrder) -> PricedOrder:
    lines = [PricedLine(line.sku, line.amount, PRICE) for line in order.lines]
    return PricedOrder(order.side, order.currency, lines, sum((l.amount * PRICE for l in lines), Decimal(0)))  # noqa: E741


def limits(**rules: object) -> RunLimits:
    return RunLimits(LimitRules.model_validate(rules), lambda: at_price)


def test_a_grams_plan_over_the_grams_or_money_limit_is_refused_naming_grams() -> None:
    with pytest.raises(LimitExceeded) as refused:
        limits(limit_order_grams="GAU:10").check("GAU", "TRY", None, Decimal("10.001"))
    assert refused.value.details[0]["field"] == "grams"
    with pytest.raises(LimitExceeded):
        limits(limit_order_amount="29999").check("GAU", "TRY", None, Decimal("10"))  # 30,000 TRY at today's price
    limits(limit_order_grams="GAU:10", limit_order_amount="30000").check("GAU", "TRY", None, Decimal("10"))


def test_a_money_plan_over_the_amount_or_what_it_buys_over_the_grams_limit_is_refused_naming_amount() -> None:
    with pytest.raises(LimitExceeded) as refused:
        limits(limit_order_amount="500").check("GAU", "TRY", Decimal("500.01"), None)
    assert refused.value.details[0]["field"] == "amount"
    with pytest.raises(LimitExceeded):
        limits(limit_order_grams="GAU:1").check("GAU", "TRY", Decimal("3003"), None)  # 1.001 g at 3000 TRY/g
    limits(limit_order_grams="GAU:1", limit_order_amount="500").check("GAU", "TRY", Decimal("500"), None)
    limits().check("GAU", "TRY", Decimal("1000000"), None)  # no limit set: nothing to refuse


def test_a_plan_in_another_currency_than_the_limits_is_refused_naming_currency() -> None:
    """Found by a hostile-input review: the refusal named amount or grams, which were fine."""
    for amount, grams in ((Decimal("100"), None), (None, Decimal("1"))):
        with pytest.raises(LimitExceeded) as refused:
            limits(limit_order_amount="500").check("GAU", "USD", amount, grams)
        assert [d["field"] for d in refused.value.details] == ["currency"]
