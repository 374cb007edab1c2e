"""What a partner sends to pay a buy by card: a stored card's token, its CVV, the customer's IP.

The CVV is sensitive authentication data (PCI DSS 3.2): it is held only by this request on its way
to Minted. It is no part of the order's fingerprint (a replay with another CVV is the same order),
never in a repr, an error message or a log line, and never written anywhere.
"""

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from minted_gateway.minted.models.buy import CardPayment
from minted_gateway.personal_values import without_personal_values

# Minted's card buy page sends "creditcard"; its Order Schema spells the stored value "credit-card".
PAYMENT_TYPES = ("creditcard", "credit-card")
PaymentType = Literal["creditcard", "credit-card"]


def _ip_address(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None
    # A zone (fe80::1%eth0) names a network interface of the machine that wrote it, never a customer's
    # address on the internet, and Python takes any text there (found by a hostile-input review).
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ValueError("must be an IPv4 or IPv6 address without a zone (%...)")
    return str(address)


# Safety bounds (ours): Minted publishes no format for the token; its example is "token_HYAQA0171343asd".
CardToken = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:=+/-]+$")]
Cvv = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,4}$")]
CustomerIp = Annotated[str, StringConstraints(min_length=2, max_length=45), AfterValidator(_ip_address)]


class CardPaymentIn(BaseModel):
    """A card payment for a B2B2C buy (POST /orders)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [{"card_token": "card_visa_ok", "card_cvv": "123", "customer_ip": "203.0.113.7"}]
        },
    )

    card_token: CardToken = Field(repr=False, description="the customer's stored card, as Minted knows it")
    card_cvv: Cvv = Field(
        repr=False,
        description="the card's CVV (3 or 4 digits): sent to Minted, never stored, logged or echoed",
        json_schema_extra={"writeOnly": True},
    )
    customer_ip: CustomerIp = Field(repr=False, description="the customer's IP address (IPv4 or IPv6)")

    def to_minted(self) -> CardPayment:
        return CardPayment(card_token=self.card_token, card_cvv=self.card_cvv, customer_ip=self.customer_ip)

    def redact(self, text: str) -> str:
        """``text`` (Minted's refusal) without this payment's values: a CVV is never kept, whatever quotes it."""
        return without_personal_values(text, [self.card_cvv, self.customer_ip, self.card_token])
