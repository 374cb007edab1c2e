"""The sandbox's stored cards, known by token, and how each one's payment goes (docs/sandbox.md).

Minted publishes a card payment's answer only for a success (card-get-order-200.json). [DECIDED]
for the sandbox: a declined card still makes its order, Cancelled at once, with payment state
``failed`` and Minted's ``error_code``/``error_message``; a pending payment stays ``pending`` (the
order Pending) until ``card_settle_seconds`` pass, then succeeds or fails as its card says.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local.minted_sandbox.rules import FieldErrors

PAYMENT_TYPES = ("creditcard", "credit-card")  # the card buy page's spelling, and the Order Schema's


@dataclass(frozen=True)
class Card:
    number: str  # masked, as Minted shows it
    association: str
    holder: str
    expiry: str
    outcome: str  # success | failed | pending-success | pending-failed
    error_code: str | None = None
    error_message: str | None = None

    @property
    def final_state(self) -> str:
        return self.outcome.removeprefix("pending-")

    @property
    def pending(self) -> bool:
        return self.outcome.startswith("pending-")


HOLDER = "Zeynep Kartsahibi"  # the sandbox cards' holder: a name no customer of the tests has, easy to look for

CARDS: dict[str, Card] = {
    # The published example's token: its card, as the published Get Order shows it.
    "token_HYAQA0171343asd": Card("404809******7528", "Visa", "John Due", "05/28", "success"),
    "card_visa_ok": Card("404809******7528", "Visa", HOLDER, "05/28", "success"),
    "card_master_ok": Card("552879******0018", "MasterCard", HOLDER, "11/29", "success"),
    "card_declined": Card("454360******1234", "Visa", HOLDER, "03/27", "failed", "05", "Do not honour"),
    # A careless acquirer's decline that quotes what was sent (the gateway must not keep it as it is).
    "card_declined_quoting": Card(
        "454360******5678",
        "Visa",
        HOLDER,
        "03/27",
        "failed",
        "82",
        "CVV {card_cvv} invalid for this card (request from {customer_ip})",
    ),
    "card_pending": Card("979204******0011", "Troy", HOLDER, "08/30", "pending-success"),
    "card_pending_declined": Card(
        "979204******0029", "Troy", HOLDER, "08/30", "pending-failed", "51", "Insufficient funds"
    ),
}


def check_payment(body: dict[str, Any], errors: FieldErrors) -> tuple[Card | None, dict[str, str]]:
    """A card buy's ``payment_type`` and ``payment``: the card it names and what the order keeps of it."""
    if body.get("payment_type") not in PAYMENT_TYPES:
        errors.add("payment_type", "The selected payment_type is invalid.")
    payment = body.get("payment")
    if not isinstance(payment, dict):
        errors.add("payment", "The payment field is required.")
        return None, {}
    for name in ("card_token", "card_cvv", "customer_ip"):
        if not isinstance(payment.get(name), str) or not payment[name]:
            errors.add(f"payment.{name}", f"The payment.{name} field is required.")
    cvv = payment.get("card_cvv")
    if isinstance(cvv, str) and cvv and not (cvv.isdigit() and len(cvv) in (3, 4)):
        errors.add("payment.card_cvv", "The payment.card_cvv format is invalid.")
    token = payment.get("card_token")
    card = CARDS.get(token) if isinstance(token, str) else None
    if isinstance(token, str) and token and card is None:
        errors.add("payment.card_token", "The selected payment.card_token is invalid.")
    kept = {"card_cvv": str(cvv), "customer_ip": str(payment.get("customer_ip"))}
    return card, kept


def payment_view(card: Card, kept: dict[str, str], state: str, external_id: str, price: Decimal) -> dict[str, Any]:
    """Get Order's ``payment`` as published: Minted echoes the CVV in ``details`` (the gateway drops it)."""
    failed = state == "failed"
    return {
        "token": kept["token"],
        "transaction_id": None,  # null in the published success: what it holds otherwise is unpublished
        "order_reference": external_id,
        "amount": price,
        "comission": 0,
        "total": price,
        "refunded_amount": 0,
        "error_code": card.error_code if failed else None,
        "error_message": card.error_message.format(**kept) if failed and card.error_message else None,
        "state": state,
        "details": {
            "card_cvv": kept["card_cvv"],
            "card_expiry": card.expiry,
            "card_holder": card.holder,
            "card_number": card.number,
            "customer_ip": kept["customer_ip"],
            "card_association": card.association,
        },
    }


def new_payment_ids() -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits
    return {"token": "".join(secrets.choice(alphabet) for _ in range(128))}
