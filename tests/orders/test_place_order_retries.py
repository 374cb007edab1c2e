"""PlaceOrder's retries against a Minted scripted per call, on moto's DynamoDB: a retry's claim keeps
a second attempt out while its buy is in flight, an attempt that loses the row to another is told to
wait at least a second, a retry's history says what it retried, the partner's own order is listed
under its wallet, and Minted refusing the id as a duplicate when its lookup finds nothing is an
outcome unknown, never a second buy (tests/api has the same promises over real HTTP)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template import create_tables
from minted_gateway.errors import LedgerUnavailable, OrderInProgress, QuoteCurrencyMismatch, UpstreamRateLimited
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models import Order, OrderResult
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.history import HistoryQuery, ListOrders
from minted_gateway.orders.order_book import OrderBook, utcnow
from minted_gateway.orders.place_order import PlaceOrder
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.orders.requests import OrderRequest

REQUEST = OrderRequest.model_validate({"external_id": "ord-1", "price_token": "T" * 32,
                                       "items": [{"sku": "GAU", "amount": Decimal(1)}]})  # fmt: skip


class ScriptedMinted:
    """Minted whose n-th buy does what ``buys[n]`` says; a lookup finds ``held`` (none: a 404)."""

    def __init__(self, *buys: Callable[[], OrderResult], held: list[Order] | None = None) -> None:
        self.script = list(buys)
        self.buys = 0
        self.held = held or []

    def buy(self, request: Any) -> OrderResult:
        self.buys += 1
        return self.script[self.buys - 1]()

    def find_orders(self, lookup: Any) -> list[Order]:
        if not self.held:
            raise minted_errors.MintedNotFoundError("find_order", "no such order", status=404)
        return self.held


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_tables(client)
        yield client


@pytest.fixture
def ledger(dynamodb: Any) -> DynamoDbOrderLedger:
    return DynamoDbOrderLedger(dynamodb, "OrdersTable")


def place(ledger: Any, minted: ScriptedMinted, claim_seconds: int = 30, now: Any = utcnow) -> PlaceOrder:
    return PlaceOrder(ledger, minted, Fingerprinter(b"k" * 16), claim_seconds=claim_seconds, now=now)  # type: ignore[arg-type]


def accepted() -> OrderResult:
    return OrderResult(guid=["G-1"], order_code=["C-1"])


def rate_limited() -> OrderResult:
    raise minted_errors.MintedRateLimitedError("buy", "slow down", retry_after=None)


def test_a_retrys_claim_keeps_a_second_attempt_out_while_its_buy_is_in_flight(ledger: DynamoDbOrderLedger) -> None:
    second: list[BaseException] = []

    def another_attempt_meanwhile() -> OrderResult:
        try:
            place(ledger, minted)(REQUEST)
        except OrderInProgress as exc:
            second.append(exc)
        return accepted()

    minted = ScriptedMinted(rate_limited, another_attempt_meanwhile, accepted)
    with pytest.raises(UpstreamRateLimited):
        place(ledger, minted)(REQUEST)  # NOT_PLACED: the retry below claims the row afresh
    outcome = place(ledger, minted)(REQUEST)
    assert outcome.record.state is State.SUBMITTED
    assert len(second) == 1, "the attempt made during the retry's buy was not told the order is in progress"
    assert minted.buys == 2


class LosingLedger(DynamoDbOrderLedger):
    """A ledger where another attempt takes the row over between this one's read of it and its claim."""

    def claim(self, record: OrderRecord) -> OrderRecord | None:
        stored = super().claim(record)
        if stored is not None:
            self.update(stored, {"token_hash": stored.token_hash}, stored.history[-1])
        return stored


def test_an_attempt_that_loses_the_row_to_another_is_told_to_wait_a_second(dynamodb: Any) -> None:
    losing = LosingLedger(dynamodb, "OrdersTable")
    with pytest.raises(UpstreamRateLimited):
        place(losing, ScriptedMinted(rate_limited))(REQUEST)
    with pytest.raises(OrderInProgress) as busy:
        place(losing, ScriptedMinted())(REQUEST)
    assert busy.value.retry_after == 1


def test_a_duplicate_minted_cannot_find_is_an_unknown_outcome_never_a_second_buy(
    ledger: DynamoDbOrderLedger,
) -> None:
    def duplicate() -> OrderResult:
        raise minted_errors.MintedValidationError("buy", "Parameter Error",
                                                  field_errors={"external_id": ["already used"]})  # fmt: skip

    minted = ScriptedMinted(duplicate, duplicate)
    outcome = place(ledger, minted)(REQUEST)
    assert outcome.record.state is State.UNKNOWN
    assert minted.buys == 1
    stored = ledger.get("ord-1")
    assert stored is not None and stored.state is State.UNKNOWN


def test_the_partners_own_order_is_listed_under_the_partners_wallet(ledger: DynamoDbOrderLedger) -> None:
    place(ledger, ScriptedMinted(accepted))(REQUEST)
    listed = ListOrders(ledger)(HistoryQuery.model_validate({"wallet": "partner"}))
    assert [order.external_id for order in listed.orders] == ["ord-1"]


def test_a_retrys_history_says_what_it_retried_and_whether_with_a_new_quote(ledger: DynamoDbOrderLedger) -> None:
    minted = ScriptedMinted(rate_limited, rate_limited, accepted)
    for request in (REQUEST, REQUEST, REQUEST.model_copy(update={"price_token": "N" * 32})):
        with contextlib.suppress(UpstreamRateLimited):  # the first two are refused before Minted
            place(ledger, minted)(request)
    stored = ledger.get("ord-1")
    assert stored is not None
    claims = [entry.note for entry in stored.history if entry.state is State.RECEIVED]
    assert claims == ["claimed", "retry claimed after NOT_PLACED", "retry claimed after NOT_PLACED with a new quote"]


def test_an_attempt_during_anothers_claim_is_told_to_retry_when_the_claim_ends(ledger: DynamoDbOrderLedger) -> None:
    start = datetime(2026, 11, 28, 12, tzinfo=UTC)
    clock = [start]
    waits: list[int | None] = []

    def attempts_meanwhile() -> OrderResult:
        for later in (timedelta(0), timedelta(seconds=2.5)):  # 3 s of claim left, then half a second
            clock[0] = start + later
            with pytest.raises(OrderInProgress) as busy:
                place(ledger, minted, claim_seconds=3, now=lambda: clock[0])(REQUEST)
            waits.append(busy.value.retry_after)
        return accepted()

    minted = ScriptedMinted(attempts_meanwhile)
    place(ledger, minted, claim_seconds=3, now=lambda: clock[0])(REQUEST)
    assert waits == [3, 1]


class UnwritableLedger(DynamoDbOrderLedger):
    """A ledger that takes the claim, then is unreachable."""

    def update(self, record: OrderRecord, changes: dict[str, Any], entry: Any) -> OrderRecord:
        raise LedgerUnavailable("unreachable")


def test_minteds_answer_is_given_even_when_the_ledger_cannot_take_it(dynamodb: Any) -> None:
    minted = ScriptedMinted(accepted)
    outcome = place(UnwritableLedger(dynamodb, "OrdersTable"), minted)(REQUEST)
    assert (outcome.record.state, outcome.record.guids) == (State.SUBMITTED, ["G-1"])
    stored = DynamoDbOrderLedger(dynamodb, "OrdersTable").get("ord-1")
    assert stored is not None and stored.state is State.RECEIVED  # settled by the next call's lookup
    assert minted.buys == 1


def test_a_retry_that_finds_the_whole_order_at_minted_writes_minteds_prices(ledger: DynamoDbOrderLedger) -> None:
    def lost() -> OrderResult:
        raise minted_errors.MintedOutcomeUnknownError("buy", "no answer", cause="timeout")

    found = Order.model_validate({"guid": "G-1", "order_code": "C-1", "external_id": "ord-1", "status_name": "Created",
                                  "total": "2983.81", "items": [{"sku": "GAU", "amount": 1, "price": "2983.81",
                                                                 "total": "2983.81"}]})  # fmt: skip
    minted = ScriptedMinted(lost, held=[found])
    place(ledger, minted)(REQUEST)
    outcome = place(ledger, minted)(REQUEST)
    assert outcome.resolved and outcome.record.state is State.SUBMITTED
    assert outcome.record.total == Decimal("2983.81")
    assert [(line.sku, line.total) for line in outcome.record.lines] == [("GAU", Decimal("2983.81"))]
    assert outcome.record.history[-1].note == "found at Minted by lookup"
    assert minted.buys == 1


def test_a_status_refresh_that_sees_one_of_two_orders_keeps_both(ledger: DynamoDbOrderLedger) -> None:
    minted = ScriptedMinted(lambda: OrderResult(guid=["G-1", "G-2"], order_code=["C-1", "C-2"]))
    placed = place(ledger, minted)(REQUEST).record
    shipped = Order.model_validate({"guid": "G-1", "order_code": "C-1", "status_name": "Completed", "status_id": 3})
    refreshed = OrderBook(ledger, utcnow).statuses(placed, {placed.orders[0].key: shipped})
    untouched = placed.orders[1].status
    expected = [("G-1", "C-1", "Completed"), ("G-2", "C-2", untouched)]
    assert [(o.guid, o.order_code, o.status) for o in refreshed.orders] == expected
    assert ledger.get("ord-1") == refreshed


def test_a_retry_whose_lookup_fails_is_an_unknown_outcome_never_a_buy(ledger: DynamoDbOrderLedger) -> None:
    def lost() -> OrderResult:
        raise minted_errors.MintedOutcomeUnknownError("buy", "no answer", cause="timeout")

    class LookupDown(ScriptedMinted):
        def find_orders(self, lookup: Any) -> list[Order]:
            raise minted_errors.MintedUnavailableError("find_order", "down", status=503)

    minted = LookupDown(lost, accepted)
    place(ledger, minted)(REQUEST)
    outcome = place(ledger, minted)(REQUEST)
    assert outcome.record.state is State.UNKNOWN
    assert minted.buys == 1


class Quotes:
    """The gateway's own quotes: a token it issued in a currency, or one it does not know (None)."""

    def __init__(self, **currencies: str) -> None:
        self.currencies = currencies

    def remember(self, price_token: str, currency: str, expires_in_seconds: int) -> None:
        self.currencies[price_token] = currency

    def currency_of(self, price_token: str) -> str | None:
        return self.currencies.get(price_token)


class Died(BaseException):
    """The function's process ends while Minted is buying (a timeout): nothing below the buy runs."""


def test_a_dead_claim_retried_with_a_quote_in_another_currency_is_refused_and_keeps_its_row(
    ledger: DynamoDbOrderLedger,
) -> None:
    """The first attempt's buy may have reached Minted: refusing its retry (a USD quote for a TRY order)
    must keep the claimed row, so that a GET or the reconciler can still find what the buy did."""
    clock = [datetime(2027, 1, 5, 9, 0, tzinfo=UTC)]
    quotes = Quotes(**{"U" * 32: "USD"})  # the first token is not the gateway's: nothing to check

    def died() -> OrderResult:
        raise Died

    def placing(minted: ScriptedMinted) -> PlaceOrder:
        return PlaceOrder(ledger, minted, Fingerprinter(b"k" * 16), claim_seconds=30,  # type: ignore[arg-type]
                          now=lambda: clock[0], quotes=lambda: quotes)  # type: ignore[arg-type]  # fmt: skip

    minted = ScriptedMinted(died)
    with pytest.raises(Died):
        placing(minted)(REQUEST)
    dead = ledger.get("ord-1")
    assert dead is not None and dead.state is State.RECEIVED and dead.version == 1  # the claim the process left
    clock[0] += timedelta(minutes=5)  # the claim is stale: a retry may settle it

    retry = REQUEST.model_copy(update={"price_token": "U" * 32})
    with pytest.raises(QuoteCurrencyMismatch):
        placing(minted)(retry)
    kept = ledger.get("ord-1")
    assert kept is not None and kept.state is State.RECEIVED, "refused, it deleted a row whose buy may be at Minted"
    assert minted.buys == 1
