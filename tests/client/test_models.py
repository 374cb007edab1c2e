"""Models and JSON: Decimal end to end, every date format, unknown fields ignored."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from minted_gateway import jsonutil
from minted_gateway.minted.models import (
    BuyerCustomer,
    BuyRequest,
    Order,
    OrderLine,
    OrderLookup,
    OrderResult,
    OrdersQuery,
)
from minted_gateway.minted.models.base import parse_minted_datetime
from tests.conformance.examples import example
from tests.conftest import VALID_TCKN

IST = timezone(timedelta(hours=3))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-05-31 03:16:45", datetime(2023, 5, 31, 3, 16, 45, tzinfo=IST)),  # buy response, Istanbul
        ("06-11-2023 07:18", datetime(2023, 11, 6, 7, 18, tzinfo=IST)),  # lookup, DD-MM-YYYY
        ("2023-12-11T11:21:46+03:00", datetime(2023, 12, 11, 11, 21, 46, tzinfo=IST)),
        ("2024-07-19T09:39:03.000000Z", datetime(2024, 7, 19, 9, 39, 3, tzinfo=UTC)),
    ],
)
def test_every_minted_date_format_parses_to_the_same_instant(text: str, expected: datetime) -> None:
    order = Order.model_validate(_order(order_at=text))
    assert order.order_at == expected and order.order_at.utcoffset() is not None


def test_an_unknown_date_format_is_no_date_and_the_order_is_still_read() -> None:
    with pytest.raises(ValueError, match="unrecognised"):
        parse_minted_datetime("31/12/2023")
    order = Order.model_validate(_order(order_at="31/12/2023"))
    assert order.order_at is None and order.status_name == "Pending"


@pytest.mark.parametrize(
    "variant",
    [
        {"items": None},
        {"customer": []},
        {"payment": []},
        {"customer": {"external_id": 46714948610, "identity_number": 12345678901, "phone": 905322808035}},
        {"order_at": ""},
        {"order_at": "0000-00-00 00:00:00"},
        {"customer": {"external_id": "c1", "birthdate": "0000-00-00"}},
        {"customer": {"external_id": "c1", "birthdate": "01.05.1990"}},
        {"price": "", "total": ""},
        {"delivery": "not an object"},
    ],
)
def test_a_field_that_is_neither_identity_nor_status_never_makes_an_order_unreadable(variant: dict[str, Any]) -> None:
    """Minted's answers read tolerantly: nulls for lists, PHP's [] for an object, numbers for text, "" or
    an impossible date for a date, "" for a number."""
    order = Order.model_validate(_order(**variant))
    assert (order.guid, order.status_name) == ("71E174B7-C7AD-47FB-836E-3895FF41D4F5", "Pending")
    if "customer" in variant and isinstance(variant["customer"], dict):
        assert order.customer is not None and order.customer.external_id in ("46714948610", "c1")


def test_a_status_id_no_list_names_is_kept_as_a_status_that_is_never_final() -> None:
    order = Order.model_validate({"order_code": "9YMEK5RB", "status_id": 13})
    assert order.status_name == "Status 13" and not order.is_terminal


def test_a_price_entry_minted_writes_unreadably_is_left_out_and_the_rest_still_prices() -> None:
    from minted_gateway.minted.models.prices import PriceFix

    body = example("pricefix-amount-200.json")["data"]
    body["prices"][2] = {**body["prices"][2], "sell_price": None}  # BGAU, a product we do not trade
    body["prices"].append({"currency_id": 1, "product_id": 3999999, "spot_price": 1, "buy_price": 1, "sell_price": 1})
    body["is_total_price"] = None
    fix = PriceFix.model_validate(body)
    skus = [price.sku for price in fix.prices]
    assert "BGAU" not in skus and {"GAU", "GAG", "GPT"} <= set(skus) and fix.is_total_price is False
    with pytest.raises(ValidationError):
        PriceFix.model_validate({**body, "prices": None})  # no list at all is no answer
    gold_unreadable = [{**body["prices"][0], "sell_price": None}, *body["prices"][1:]]
    with pytest.raises(ValidationError, match="metal we sell"):  # a metal we sell: the answer is nothing without it
        PriceFix.model_validate({**body, "prices": gold_unreadable})


def test_a_balance_with_nulls_for_its_blocked_amounts_reads_as_nothing_blocked() -> None:
    from minted_gateway.minted.models.customers import Balance

    wallet = Balance.model_validate({"currency_code": "GAU", "balance": 10, "blocked": None,
                                     "soft_blocked_amount": None, "is_cash": None})  # fmt: skip
    assert (wallet.blocked, wallet.soft_blocked_amount, wallet.is_cash) == (0, 0, False)


def test_a_customers_wallet_of_another_product_may_be_unreadable_but_not_one_of_a_metal_we_sell() -> None:
    from minted_gateway.minted.models.customers import Customer

    gold = {"currency_code": "GAU", "balance": 2}
    odd = {"currency_code": "BGAU", "balance": None}
    read = Customer.model_validate({"external_id": 7, "wallets": [gold, odd]})
    assert read.external_id == "7" and [w.currency_code for w in read.wallets] == ["GAU"]
    with pytest.raises(ValidationError, match="metal we sell"):
        Customer.model_validate({"external_id": "c", "wallets": [{**gold, "balance": None}]})


def test_an_answer_whose_lists_are_null_still_names_its_order() -> None:
    answer = OrderResult.model_validate({"order_code": ["9YMEK5RB"], "guid": None, "orders": None})
    assert answer.order_code == ["9YMEK5RB"] and answer.orders == []


def test_money_and_grams_stay_exact_decimals_through_json() -> None:
    body = jsonutil.loads('{"data": {"price": 188.973, "amount": 0.1, "total": 0.30000000000000004}}')["data"]
    assert body == {"price": Decimal("188.973"), "amount": Decimal("0.1"), "total": Decimal("0.30000000000000004")}
    assert jsonutil.dumps({"amount": Decimal("0.100"), "big": Decimal("1E+2"), "name": "İş"}) == (
        '{"amount":0.100,"big":100,"name":"İş"}'
    )
    with pytest.raises(TypeError, match="float"):
        jsonutil.dumps({"amount": 0.1})


def test_unknown_fields_are_ignored_and_new_means_created() -> None:
    order = Order.model_validate(_order(status_name="New", surprise_field={"x": 1}))
    assert order.status_name == "Created" and not hasattr(order, "surprise_field")


@pytest.mark.parametrize(("sent", "read"), [("COMPLETED", "Completed"), (" completed ", "Completed"),
                                            ("cancelled", "Cancelled"), ("NEW", "Created"), ("payment confirmed",
                                            "Payment Confirmed"), ("On Hold", "On Hold")])  # fmt: skip
def test_a_status_name_is_read_in_any_case_and_an_unknown_one_kept_as_sent(sent: str, read: str) -> None:
    order = Order.model_validate(_order(status_name=sent))
    assert order.status_name == read
    assert order.is_terminal is (read in ("Completed", "Cancelled"))


def test_integer_tax_and_decimal_totals_are_decimals() -> None:
    result = OrderResult.model_validate(
        {"order_code": ["9YMEK5RB"], "guid": ["71E174B7-C7AD-47FB-836E-3895FF41D4F5"], "price": 559.4, "tax": 0,
         "total": Decimal("559.4"), "order_at": "2023-05-31 03:16:45", "orders": [_order()]}
    )  # fmt: skip
    assert isinstance(result.tax, Decimal) and result.total == Decimal("559.4")


@pytest.mark.parametrize("amount", ["0", "-1", "0.0001"])
def test_grams_must_be_positive_with_three_decimals_at_most(amount: str) -> None:
    with pytest.raises(ValidationError):
        OrderLine(sku="GAU", amount=Decimal(amount))


def test_a_lookup_takes_exactly_one_key() -> None:
    assert OrderLookup(order_code="FE9HURU6").order_code == "FE9HURU6"
    with pytest.raises(ValidationError):
        OrderLookup()
    with pytest.raises(ValidationError):
        OrderLookup(guid="a", external_id="b")


def test_orders_query_speaks_minteds_parameter_names() -> None:
    query = OrdersQuery(page=2, total=30, status=[2, 5], startDate=date(2024, 1, 1), sortType="asc")
    assert query.to_params() == {
        "page": "2",
        "total": "30",
        "status": "2,5",
        "startDate": "2024-01-01",
        "sortType": "asc",
    }
    with pytest.raises(ValidationError):
        OrdersQuery(total=50)


def test_personal_data_stays_out_of_reprs_and_validation_errors() -> None:
    customer = BuyerCustomer(
        external_id="cust-1", identity_number=VALID_TCKN, firstname="Ayşe", lastname="Yılmaz",
        email="ayse@example.com", phone="+905322808035", birthdate="31-12-1990",
    )  # fmt: skip
    assert customer.birthdate == date(1990, 12, 31)
    shown = repr(customer)
    assert all(secret not in shown for secret in (VALID_TCKN, "Ayşe", "ayse@example.com", "+905322808035"))
    with pytest.raises(ValidationError) as bad:
        BuyerCustomer(
            external_id="not an id!", identity_number=VALID_TCKN, firstname="A", lastname="B", email="e@x.io", phone="1"
        )
    assert VALID_TCKN not in str(bad.value)


def test_importing_the_client_imports_no_boto3() -> None:
    code = "import sys, minted_gateway.minted; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2] / "layers" / "minted",
    )
    assert result.stdout.strip() == "[]"


def _order(**overrides: object) -> dict[str, object]:
    """The order of Minted's published Buy answer, as published (no status_id), with ``overrides``."""
    order: dict[str, object] = example("buy-response-200.json")["data"]["orders"][0]
    order.update(overrides)
    return order


def test_an_order_needs_an_identity_and_a_status_and_nothing_else() -> None:
    bare = Order.model_validate({"order_code": "9YMEK5RB", "status_id": 5})
    assert (bare.status_name, bare.is_terminal, bare.items, bare.order_at) == ("Completed", True, [], None)
    with pytest.raises(ValidationError):
        Order.model_validate(_order(guid=None, order_code=None, external_id=None))
    with pytest.raises(ValidationError):
        Order.model_validate({k: v for k, v in _order().items() if k != "status_name"})
    with pytest.raises(ValidationError):
        OrderResult.model_validate({"price": 1, "orders": []})  # names no order: the caller must look it up


def test_a_missing_sku_comes_from_the_product_id() -> None:
    items = [{"product_id": 3000002, "amount": 2}, {"product_id": "3000090", "amount": 1}, {"product_id": 1}]
    order = Order.model_validate(_order(items=items))
    assert [item.sku for item in order.items] == ["GAG", "GPT", None]


@pytest.mark.parametrize(
    ("external_id", "valid"),
    [("1699255128879-05ee3052-47fe-4747-adff-2cde45d8d9ec", True), ("a", True), ("v1.2_x-3", True),
     ("x" * 64, True), ("x" * 65, False), (".", False), ("..", False), ("a/b", False), ("a b", False), ("", False)],
)  # fmt: skip
def test_order_ids_are_1_to_64_letters_digits_dashes_underscores_and_dots(external_id: str, valid: bool) -> None:
    build = lambda: BuyRequest(price_token="t", external_id=external_id, items=[OrderLine(sku="GAU", amount=1)])  # noqa: E731
    if valid:
        assert build().external_id == external_id
    else:
        with pytest.raises(ValidationError):
            build()
