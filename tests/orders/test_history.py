"""The order history over the ledger's indexes, on moto and dynalite (tests/orders/conftest.py): every order once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from minted_gateway.errors import InvalidInput
from minted_gateway.minted.models import Currency
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.history import HistoryQuery, ListOrders
from minted_gateway.orders.place_order import new_record
from minted_gateway.orders.record import State
from minted_gateway.orders.requests import CustomerIn, ItemIn, Purchase
from tests.stack import customer as customer_block

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FINGERPRINTS = Fingerprinter(b"k" * 32)


def write(ledger: DynamoDbOrderLedger, external_id: str, minute: int, *, customer: str | None, side: str = "buy",
          state: State = State.SUBMITTED) -> None:  # fmt: skip
    full = CustomerIn.model_validate(customer_block(customer)) if customer and side == "buy" else None
    purchase = Purchase.of(external_id, Currency.TRY, [ItemIn(sku="GAU", amount=Decimal("0.5"))], full,
                           side=side, customer_external_id=customer if side == "sell" else None)  # type: ignore[arg-type]  # fmt: skip
    stamp = (START + timedelta(minutes=minute)).isoformat()
    assert ledger.claim(new_record(purchase, FINGERPRINTS, stamp, note="test", state=state)) is None


def pages(history: ListOrders, **filters: Any) -> list[list[str]]:
    shown: list[list[str]] = []
    cursor = None
    for _ in range(20):  # bounded: a cursor that never ends fails the test instead of hanging it
        page = history(HistoryQuery.model_validate({**filters, **({"cursor": cursor} if cursor else {})}))
        shown.append([record.external_id for record in page.orders])
        if page.next is None:
            return shown
        cursor = page.next.cursor()
    raise AssertionError("the history did not end")


def test_a_customer_with_250_orders_pages_through_all_of_them_exactly_once(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    for n in range(250):
        write(ledger, f"c1-{n:03d}", n, customer="cust-1", side="sell" if n % 5 == 0 else "buy")
    for n in range(30):  # other wallets' orders, interleaved in time
        write(ledger, f"c2-{n:03d}", n, customer="cust-2")
        write(ledger, f"p-{n:03d}", n, customer=None)
    history = ListOrders(ledger)

    shown = pages(history, customer_external_id="cust-1", limit=100)
    assert [len(page) for page in shown] == [100, 100, 50]
    flat = [external_id for page in shown for external_id in page]
    assert flat == [f"c1-{n:03d}" for n in reversed(range(250))]  # every one, once, newest first

    sells = [external_id for page in pages(history, customer_external_id="cust-1", side="sell", limit=7)
             for external_id in page]  # fmt: skip
    assert sells == [f"c1-{n:03d}" for n in reversed(range(0, 250, 5))]

    partner = [e for page in pages(history, wallet="partner", limit=100) for e in page]
    assert partner == [f"p-{n:03d}" for n in reversed(range(30))]
    everything = [e for page in pages(history, limit=100) for e in page]
    assert len(everything) == len(set(everything)) == 310


def test_from_and_to_bound_the_order_time_inclusively(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    for n in range(10):
        write(ledger, f"t-{n}", n, customer="cust-1")
    history = ListOrders(ledger)
    window = {"from": START + timedelta(minutes=3), "to": START + timedelta(minutes=6)}
    assert pages(history, customer_external_id="cust-1", **window) == [["t-6", "t-5", "t-4", "t-3"]]
    assert pages(history, **window, limit=3) == [["t-6", "t-5", "t-4"], ["t-3"]]


def test_filters_no_order_can_meet_are_an_empty_page_not_a_refusal(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    write(ledger, "n-1", 1, customer="cust-1")
    history = ListOrders(ledger)
    assert pages(history, customer_external_id="cust-1", wallet="partner") == [[]]
    assert pages(history, **{"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}) == [[]]
    assert pages(history, **{"from": "0001-01-01T00:00:00+05:00"}) == [["n-1"]]  # before year 1 in UTC: unbounded


def test_state_and_status_filter_what_the_index_reads(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    for n in range(12):
        write(ledger, f"s-{n:02d}", n, customer="cust-1", state=State.REJECTED if n % 4 == 0 else State.SUBMITTED)
    history = ListOrders(ledger)
    rejected = pages(history, customer_external_id="cust-1", state="REJECTED", limit=2)
    assert [e for page in rejected for e in page] == ["s-08", "s-04", "s-00"]
    assert pages(history, status="Completed") == [[]]  # no row has a status yet


@pytest.mark.parametrize(
    "query",
    [{"cursor": "not a cursor"}, {"cursor": "eyJ0IjoxfQ"}, {"cursor": "e30"}],
    ids=["not base64 json", "wrong types", "empty"],
)
def test_a_cursor_this_api_did_not_give_is_a_4xx_naming_it(query: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        ListOrders(None)(HistoryQuery.model_validate(query))  # type: ignore[arg-type]  # refused before a read
    assert refused.value.details == [{"field": "query.cursor", "message": "not a valid cursor"}]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 101},
        {"limit": 0},
        {"from": "2026-01-02T00:00:00"},
        {"to": "-1.2e-150"},  # pydantic alone reads numeric text as Unix seconds (1970)
        {"from": 1767225600},
        {"side": "hold"},
    ],
)
def test_bad_filters_are_refused(query: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HistoryQuery.model_validate(query)
