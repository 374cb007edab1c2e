"""What Minted reports of a card payment, as ledger changes; no stack needed."""

from __future__ import annotations

from decimal import Decimal

from minted_gateway.cards.outcome import payment_changes
from minted_gateway.minted.models import Order
from minted_gateway.orders.dynamodb_ledger import LedgerEntry
from minted_gateway.orders.reconcile import disagreement
from minted_gateway.orders.record import State
from tests.conformance.examples import example


def card_order(**payment: object) -> Order:
    data = example("card-get-order-200.json")["data"]
    return Order.model_validate({**data, "payment": {**data["payment"], **payment}})


def test_a_successful_payment_is_kept_as_minted_reports_it_and_leaves_the_state_alone() -> None:
    changes = payment_changes([card_order()])
    assert "state" not in changes and changes["payment_cost"] == Decimal(10)
    assert changes["payment"]["card_number"] == "404809******7528"


def test_a_failed_payment_is_a_final_refusal_with_minteds_code() -> None:
    changes = payment_changes([card_order(state="failed", error_code=51, error_message="Insufficient funds")])
    assert changes["state"] is State.REJECTED and changes["rejection"]["code"] == "card_declined"
    detail = {"field": "payment", "message": "Insufficient funds", "error_code": "51"}
    assert changes["rejection"]["details"] == [detail]


def test_a_pending_payment_is_still_open() -> None:
    assert "state" not in payment_changes([card_order(state="pending")])


def test_a_cash_order_has_no_payment_changes() -> None:
    assert payment_changes([Order.model_validate(example("get-order-200.json")["data"])]) == {}


def test_the_daily_comparison_accounts_for_a_declined_cards_cancelled_order() -> None:
    """Minted keeps a declined card's order (Cancelled); the REJECTED row that records it accounts for it."""
    order = card_order(state="failed")
    recorded = LedgerEntry(State.REJECTED, frozenset({str(order.guid)}))
    assert disagreement(order, recorded) is None
    assert disagreement(order, LedgerEntry(State.REJECTED, frozenset())) is not None  # a refusal that holds none


def test_a_card_number_is_kept_only_masked_wherever_minted_puts_it() -> None:
    """Found by a security review: only ``payment.details`` was held to the mask; a full number beside it was
    kept, and would have reached the ledger row and the answers."""
    from minted_gateway.minted.models.orders import PaymentOutcome

    full, masked = "4048091234567528", "404809******7528"
    assert PaymentOutcome.model_validate({"state": "success", "card_number": full}).card_number is None
    assert PaymentOutcome.model_validate({"state": "success", "card_number": masked}).card_number == masked
    inside = {"state": "success", "card_number": full, "details": {"card_number": masked}}
    assert PaymentOutcome.model_validate(inside).card_number == masked
    both_full = {"state": "success", "card_number": full, "details": {"card_number": full}}
    assert PaymentOutcome.model_validate(both_full).card_number is None
    changes = payment_changes([card_order(card_number=full)])
    assert full not in str(changes)
