"""What Minted reports of a card order's payment, as ledger changes (and nothing more).

Kept: the state, amount, commission, Minted's error code and message, the masked card number and
its association, and the order's ``payment_cost``; the card's CVV, expiry and holder never reach
the model (``PaymentOutcome``). A payment Minted reports as failed makes the order a final
refusal with Minted's code (``card_declined``); a pending one leaves it open for GET and the
reconciler to settle.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from minted_gateway.errors import CardDeclined
from minted_gateway.minted.models.orders import Order, PaymentOutcome
from minted_gateway.orders.record import State
from minted_gateway.personal_values import MASK

# Minted publishes only "success" as a payment state; the others are unpublished. [DECIDED] these
# spellings of a refused payment end the order (the sandbox sends "failed"); any other state that is
# not "success" is still open.
FAILED_STATES = frozenset({"failed", "fail", "declined", "error", "rejected"})
# What in Minted's payment text could be what the buyer sent: a CVV (a lone number of 3 or 4 digits) and
# an IP address (v4, or v6 of two colons or more). The text is kept and answered, and GET and the
# reconciler read it with no request at hand to mask its values: these shapes are masked wherever they are.
_CARD_SECRETS = re.compile(
    r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)"  # an IPv4 address
    r"|(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])"  # an IPv6 address
    r"|(?<![\w.])\d{3,4}(?!\w|\.\d)",  # a CVV: not part of a word, a longer number or a decimal
    re.IGNORECASE,
)


def without_card_secrets(text: str | None) -> str | None:
    return None if text is None else _CARD_SECRETS.sub(MASK, text)


def declined(payment: PaymentOutcome | None) -> bool:
    return payment is not None and (payment.state or "").casefold() in FAILED_STATES


def payment_of(
    orders: list[Order], payment: PaymentOutcome | None = None
) -> tuple[PaymentOutcome | None, Decimal | None]:
    """The buy's payment (the answer's own, else its first order's) and its cost."""
    cards = [order for order in orders if order.payment is not None]
    payment = payment or (cards[0].payment if cards else None)
    costs = [order.payment_cost for order in cards if order.payment_cost is not None]
    return payment, (sum(costs, Decimal(0)) if costs else None)


def payment_changes(orders: list[Order], payment: PaymentOutcome | None = None) -> dict[str, Any]:
    """Ledger changes for a card order's payment; none for a cash order (it has no payment)."""
    payment, cost = payment_of(orders, payment)
    if payment is None:
        return {}
    payment = payment.model_copy(update={"error_message": without_card_secrets(payment.error_message)})
    changes: dict[str, Any] = {"payment": payment.model_dump(exclude_none=True)}
    if cost is not None:
        changes["payment_cost"] = cost
    if declined(payment):
        message = payment.error_message or "Minted refused the card payment."
        detail: dict[str, Any] = {"field": "payment", "message": message}
        if payment.error_code is not None:
            detail["error_code"] = payment.error_code
        rejection = {"code": CardDeclined.code, "message": f"Minted refused the card payment: {message}",
                     "details": [detail]}  # fmt: skip
        changes.update(state=State.REJECTED, rejection=rejection, claim_expires_at=0)
    return changes
