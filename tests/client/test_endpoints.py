"""Every endpoint of the contract's section 1, through the client, against the sandbox over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from local.minted_sandbox.control import SandboxControl
from minted_gateway.minted import MintedClient
from minted_gateway.minted import errors as e
from minted_gateway.minted.models import (
    BuyerCustomer,
    BuyRequest,
    CustomerProfile,
    CustomerUpdate,
    OrderLine,
    OrderLookup,
    OrdersQuery,
    PriceFixRequest,
    SellerCustomer,
    SellRequest,
)
from tests.conftest import VALID_TCKN


def buyer(external_id: str = "cust-0001") -> BuyerCustomer:
    return BuyerCustomer(
        external_id=external_id,
        identity_number=VALID_TCKN,
        firstname="Ayşe",
        lastname="Yılmaz",
        email="ayse@example.com",
        phone="+905322808035",
        gender="F",
        birthdate=date(1990, 12, 31),
    )


def buy(minted: MintedClient, external_id: str, grams: str = "1.5", customer: BuyerCustomer | None = None):
    token = minted.price_fix(PriceFixRequest()).token
    items = [OrderLine(sku="GAU", amount=Decimal(grams))]
    return minted.buy(BuyRequest(price_token=token, external_id=external_id, items=items, customer=customer))


def test_price_fix_amount_mode_locks_decimal_prices(minted: MintedClient) -> None:
    fix = minted.price_fix(PriceFixRequest(currency="TRY"))
    assert len(fix.token) == 32 and fix.token.isalnum()
    assert fix.expire_ttl == 239 and not fix.is_total_price
    gold = next(p for p in fix.prices if p.sku == "GAU")
    assert isinstance(gold.buy_price, Decimal) and gold.sell_price < gold.spot_price < gold.buy_price
    assert gold.buy_amount is None
    assert fix.expires_at.tzinfo is not None


def test_price_fix_total_mode_gives_grams_for_the_money(minted: MintedClient) -> None:
    fix = minted.price_fix(PriceFixRequest(customer_external_id="cust-0001", total=Decimal("10000"), currency="TRY"))
    gold = next(p for p in fix.prices if p.sku == "GAU")
    assert fix.is_total_price and fix.total == Decimal("10000")
    assert gold.buy_amount == (Decimal("10000") / gold.buy_price).quantize(Decimal("0.001"), rounding="ROUND_DOWN")


def test_b2b2c_buy_creates_the_customer_and_fills_their_wallet(minted: MintedClient, sandbox: SandboxControl) -> None:
    result = buy(minted, "order-b2b2c-1", "1.5", buyer())
    order = result.orders[0]
    assert result.order_code == [order.order_code] and result.guid == [order.guid]
    assert order.external_id == "order-b2b2c-1" and order.type == "Buy"
    line = order.items[0]
    assert line.amount == Decimal("1.5") and line.total == (line.amount * line.price).quantize(Decimal("0.01"))
    assert result.total == line.total and result.tax == 0
    assert sandbox.orders_created("buy") == 1
    balances = {b.currency_code: b.balance for b in minted.customer_balance("cust-0001")}
    assert balances["GAU"] == Decimal("1.5")


def test_b2b_buy_goes_to_the_partner_wallet(minted: MintedClient) -> None:
    result = buy(minted, "order-b2b-1", "0.1")
    assert result.orders[0].customer is None


def test_sell_reduces_the_balance_and_is_refused_beyond_it(minted: MintedClient) -> None:
    buy(minted, "order-for-sell", "2", buyer())
    token = minted.price_fix(PriceFixRequest()).token
    sold = minted.sell(
        SellRequest(
            price_token=token,
            external_id="sell-1",
            items=[OrderLine(sku="GAU", amount=Decimal("0.5"))],
            customer=SellerCustomer(external_id="cust-0001"),
        )
    )
    assert sold.orders[0].type == "Sell"
    assert {b.currency_code: b.balance for b in minted.customer_balance("cust-0001")}["GAU"] == Decimal("1.5")
    token = minted.price_fix(PriceFixRequest()).token
    with pytest.raises(e.MintedValidationError) as refused:
        minted.sell(
            SellRequest(
                price_token=token,
                external_id="sell-2",
                items=[OrderLine(sku="GAU", amount=Decimal("9"))],
                customer=SellerCustomer(external_id="cust-0001"),
            )
        )
    assert "items.0.amount" in refused.value.field_errors


def test_get_order_and_the_alternative_lookup_parse_their_date_formats(minted: MintedClient) -> None:
    result = buy(minted, "order-lookup-1")
    placed = result.orders[0]
    by_path = minted.get_order("order-lookup-1")
    by_code = minted.find_order(OrderLookup(order_code=placed.order_code))
    by_guid = minted.find_order(OrderLookup(guid=placed.guid))
    assert by_path.guid == by_code.guid == by_guid.guid == placed.guid
    # The buy answer says YYYY-MM-DD HH:MM:SS, its orders and the lookup DD-MM-YYYY HH:MM: the same minute.
    assert result.order_at is not None and by_code.order_at is not None
    assert result.order_at.replace(second=0) == by_code.order_at == placed.order_at
    assert isinstance(by_code.order_at, datetime) and by_code.order_at.utcoffset() is not None
    # Get Order, in its published shape, has no order_at, no type and no items[].sku: sku comes from product_id.
    assert by_path.order_at is None and by_path.type is None
    assert [(item.product_id, item.sku) for item in by_path.items] == [(3000001, "GAU")]


@pytest.mark.parametrize("as_array", [False, True], ids=["one object (published)", "an array"])
def test_the_alternative_lookup_by_external_id_reads_one_order_or_every_one_minted_lists(
    minted: MintedClient, sandbox: SandboxControl, as_array: bool
) -> None:
    sandbox.settings(split_orders=True, lookup_lists_every_order=as_array)
    token = minted.price_fix(PriceFixRequest()).token
    items = [OrderLine(sku="GAU", amount=Decimal("0.5")), OrderLine(sku="GAG", amount=Decimal("2"))]
    placed = minted.buy(BuyRequest(price_token=token, external_id="lookup-split", items=items))
    found = minted.find_orders(OrderLookup(external_id="lookup-split"))
    assert [o.guid for o in found] == (placed.guid if as_array else placed.guid[:1])
    with pytest.raises(e.MintedNotFoundError):
        minted.find_orders(OrderLookup(external_id="no-such-order"))


def test_orders_move_created_pending_completed_on_the_sandbox_clock(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    sandbox.clock(pending_after_seconds=10, completion_delay_seconds=20)
    assert buy(minted, "order-clock-1").orders[0].status_name == "Created"
    sandbox.clock(advance_seconds=10)
    assert minted.get_order("order-clock-1").status_name == "Pending"
    sandbox.clock(advance_seconds=10)
    completed = minted.get_order("order-clock-1")
    assert completed.status_name == "Completed" and completed.status_id == 5 and completed.is_terminal


def test_list_orders_pages_and_filters(minted: MintedClient) -> None:
    for n in range(7):
        buy(minted, f"order-list-{n}", customer=buyer("cust-list") if n % 2 else None)
    first = minted.list_orders(OrdersQuery(total=5))
    assert (first.total, first.per_page, first.last_page, len(first.data)) == (7, 5, 2, 5)
    assert first.next_page_url and first.from_ == 1 and first.to == 5
    second = minted.list_orders(OrdersQuery(total=5, page=2))
    assert len(second.data) == 2 and second.next_page_url is None
    mine = minted.list_orders(OrdersQuery(customer_external_id="cust-list", sortBy="created_at", sortType="asc"))
    assert [o.external_id for o in mine.data] == ["order-list-1", "order-list-3", "order-list-5"]
    assert minted.list_orders(OrdersQuery(sku="GAG")).total == 0


def test_order_statuses_are_the_twelve_decided_ids(minted: MintedClient) -> None:
    statuses = minted.order_statuses()
    assert [(s.id, s.name) for s in statuses][:5] == [
        (1, "Created"),
        (2, "Pending"),
        (3, "Processing"),
        (4, "Cancelled"),
        (5, "Completed"),
    ]
    assert len(statuses) == 12 and statuses[-1].name == "Payment Confirmed"


def test_product_prices_cover_every_product(minted: MintedClient) -> None:
    prices = {p.sku: p for p in minted.product_prices()}
    assert set(prices) == {"GAU", "GAG", "GPT", "GPD", "BGAU", "BGAG"}
    assert all(isinstance(p.buy_price, Decimal) and p.sell_price < p.buy_price for p in prices.values())


def test_legal_lists_and_serves_documents(minted: MintedClient) -> None:
    listed = {d.type for d in minted.legal_documents()}
    assert listed == {"user_agreement", "kvkk_disclosure", "pre_information", "distance_sales"}
    kvkk = minted.legal_document("kvkk_disclosure", customer_external_id="cust-0001")
    assert kvkk.title == "KVKK Aydınlatma Metni" and kvkk.content.startswith("<h1>")
    with pytest.raises(e.MintedValidationError) as unknown:
        minted.legal_document("no_such_document")
    assert "type" in unknown.value.field_errors


def test_customers_are_created_updated_and_read(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.rules(phone_e164=True)  # not a published rule: the sandbox applies it when asked
    created = minted.create_customer(
        CustomerProfile(
            external_id="cust-crud",
            firstname="Mehmet",
            lastname="Öztürk",
            email="m@example.com",
            phone="+90 532 280 80 35",
            identity_number=VALID_TCKN,
            birthdate=date(1970, 1, 31),
        )
    )
    assert created.phone == "+905322808035"  # normalised to E.164
    updated = minted.update_customer("cust-crud", CustomerUpdate(email="new@example.com"))
    assert updated.email == "new@example.com"
    fetched = minted.get_customer("cust-crud")
    assert fetched.birthdate == date(1970, 1, 31) and {w.currency_code for w in fetched.wallets} == {
        "GAU",
        "GAG",
        "GPT",
    }
    with pytest.raises(e.MintedValidationError) as duplicate:
        minted.create_customer(CustomerProfile(external_id="cust-crud"))
    assert "external_id" in duplicate.value.field_errors


def test_company_customer_needs_a_tax_number_and_office(minted: MintedClient) -> None:
    with pytest.raises(e.MintedValidationError) as refused:
        minted.create_customer(CustomerProfile(external_id="company-1", account_type="company", identity_number="123"))
    assert {"identity_number", "tax_office"} <= set(refused.value.field_errors)
    company = minted.create_customer(
        CustomerProfile(
            external_id="company-2", account_type="company", identity_number="1234567890", tax_office="Kadıköy"
        )
    )
    assert company.account_type == "company"


def test_unknown_order_and_customer_are_not_found(minted: MintedClient) -> None:
    with pytest.raises(e.MintedNotFoundError):
        minted.get_order("no-such-order")
    with pytest.raises(e.MintedNotFoundError):
        minted.find_order(OrderLookup(external_id="no-such-order"))
    with pytest.raises(e.MintedNotFoundError):
        minted.get_customer("no-such-customer")


def test_a_path_value_stays_one_segment(minted: MintedClient, sandbox: SandboxControl) -> None:
    """``a/b`` or ``../customer`` must reach Minted as the order id it is, never as another path."""
    buy(minted, "order-path-1")
    for hostile in ("../customer/cust-0001", "a/b", "order-path-1/../x"):
        with pytest.raises(e.MintedNotFoundError):
            minted.get_order(hostile)
    assert sandbox.requests_to("get_customer") == 0
