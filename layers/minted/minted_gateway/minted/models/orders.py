"""Orders as Minted answers them (contract section 6): the Order Schema, read tolerantly, and the
Order Response of a buy, a sell or a delivery."""

import re
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, model_validator

from minted_gateway.minted.models.base import (
    ORDER_STATUS_NAMES,
    TERMINAL_STATUS_NAMES,
    Birthdate,
    EmptyAsAbsent,
    MintedDateTime,
    MintedDecimal,
    MintedModel,
    NullAsEmpty,
    NumberAsText,
    OptionalDecimal,
    OptionalText,
    Unreadable,
    _empty_as_none,
    _int_or_none,
    _sku_from_product_id,
    _status_name_of,
)


class OrderItem(MintedModel):
    """An order line. The published Get Order answer has no ``sku``: it comes from ``product_id``."""

    product_id: int | None = None
    sku: str | None = None
    product_name: str | None = None
    spot_price: OptionalDecimal = None
    price: OptionalDecimal = None
    tax_rate: OptionalDecimal = None
    tax: OptionalDecimal = None
    amount: OptionalDecimal = None
    total: OptionalDecimal = None

    _sku = model_validator(mode="before")(_sku_from_product_id)


class OrderCustomer(MintedModel):
    """The customer as Minted returns it on an order. Personal data: hidden from repr."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: Annotated[str | None, NumberAsText] = None
    firstname: OptionalText = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: OptionalText = Field(default=None, repr=False)
    fullname: OptionalText = Field(default=None, repr=False)
    email: OptionalText = Field(default=None, repr=False)
    phone: Annotated[OptionalText, NumberAsText] = Field(default=None, repr=False)
    gender: OptionalText = None
    identity_number: Annotated[OptionalText, NumberAsText] = Field(default=None, repr=False)
    birthdate: Annotated[Birthdate | None, BeforeValidator(_empty_as_none), Unreadable] = Field(
        default=None, repr=False
    )


_MASKED_CARD_NUMBER = re.compile(r"^[0-9]{0,6}[*xX]+[0-9]{0,4}$")


def _card_details(data: Any) -> Any:
    """Keep of Minted's ``payment.details`` only the masked card number and its association.

    Minted echoes the CVV, the expiry and the holder's name there (card-get-order-200.json): they
    are never read into the model, so no row, answer, event or log can hold them. A card number
    that is not masked is not kept either (a safety bound: a full number would put us in PCI scope).
    """
    if not isinstance(data, dict):
        return data
    details = data.get("details")
    # A number beside details rather than in it is held to the same bound (found by a security review).
    kept = {key: value for key, value in data.items() if key not in ("details", "card_number")}
    inner = details if isinstance(details, dict) else {}
    number = inner.get("card_number", data.get("card_number"))
    if isinstance(number, str) and _MASKED_CARD_NUMBER.match(number):
        kept["card_number"] = number
    association = inner.get("card_association")
    if isinstance(association, str):
        kept["card_association"] = association
    return kept


def _code_text(value: Any) -> Any:
    """An error code Minted may send as a number or as text: text either way."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PaymentOutcome(MintedModel):
    """A card order's payment as Minted reports it (contract 11), without the card's secrets.

    ``state`` is Minted's word ("success" published; "pending" and "failed" are the sandbox's
    DECIDED spellings for the unpublished ones); ``comission`` is Minted's spelling of commission.
    """

    state: str | None = None
    amount: MintedDecimal | None = None
    commission: MintedDecimal | None = Field(default=None, validation_alias=AliasChoices("comission", "commission"))
    error_code: Annotated[str | None, BeforeValidator(_code_text)] = None
    error_message: OptionalText = None
    card_number: str | None = None
    card_association: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _without_card_secrets(cls, data: Any) -> Any:
        return _card_details(data)


class CargoTracking(MintedModel):
    """A delivery's cargo, where Minted gives it (``delivery`` on e-commerce orders, contract 12)."""

    cargo_tracking_number: OptionalText = None
    cargo_tracking_url: OptionalText = None


# Minted's names as the pages write them, found in any case (nothing on the pages fixes it); "New" is an
# older example's name for id 1 (contract 9.10). A name not listed is kept as sent (never final).
_STATUS_NAMES_FOLDED = {name.casefold(): name for name in ORDER_STATUS_NAMES.values()} | {"new": "Created"}


def _status_name(value: Any) -> Any:
    return _STATUS_NAMES_FOLDED.get(value.strip().casefold(), value) if isinstance(value, str) else value


class Order(MintedModel):
    """Order Schema, read tolerantly: identified by guid, order_code or external_id, with a status.

    The published Buy and Get Order (Alternative) answers carry no ``status_id`` and the Get Order
    answer no ``type`` or ``order_at``; every field but an identity and a status is optional.
    """

    guid: str | None = None
    order_code: str | None = None
    external_id: str | None = None
    type: str | None = None
    price: OptionalDecimal = None
    tax: OptionalDecimal = None
    total: OptionalDecimal = None
    payment_cost: OptionalDecimal = None
    currency_code: str | None = None
    currency_rate: OptionalDecimal = None
    currency_total: OptionalDecimal = None
    status_id: int | None = None
    status_name: Annotated[str, BeforeValidator(_status_name)]
    order_at: Annotated[MintedDateTime | None, Unreadable] = None
    payment_type: str | None = None
    items: Annotated[list[OrderItem], NullAsEmpty] = []
    customer: Annotated[OrderCustomer | None, EmptyAsAbsent] = None
    description: str | None = None
    payment: Annotated[PaymentOutcome | None, EmptyAsAbsent] = None  # a card order's payment
    delivery: Annotated[CargoTracking | None, Unreadable] = None  # a delivery's cargo

    @model_validator(mode="before")
    @classmethod
    def _identity_and_status(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not any(data.get(key) for key in ("guid", "order_code", "external_id")):
            raise ValueError("an order needs a guid, an order_code or an external_id")
        if not data.get("status_name"):
            status_id = _int_or_none(data.get("status_id"))
            name = _status_name_of(status_id)
            if name is None and status_id is not None:
                name = f"Status {status_id}"  # a status no list names yet: kept, never final, shown as its id
            if name is not None:
                data = {**data, "status_name": name}
        return data

    @property
    def is_terminal(self) -> bool:
        return self.status_name in TERMINAL_STATUS_NAMES


class OrderResult(MintedModel):
    """Order Response of a buy or sell: one entry per order created in each list."""

    order_code: Annotated[list[str], NullAsEmpty] = []
    guid: Annotated[list[str], NullAsEmpty] = []
    price: OptionalDecimal = None
    tax: OptionalDecimal = None
    total: OptionalDecimal = None
    order_at: Annotated[MintedDateTime | None, Unreadable] = None
    orders: Annotated[list[Order], NullAsEmpty] = []
    # A card buy's payment (the page adds it to the Order Response).
    payment: Annotated[PaymentOutcome | None, EmptyAsAbsent] = None

    @model_validator(mode="after")
    def _names_an_order(self) -> "OrderResult":
        # An answer that names no order cannot be tracked: the caller must look it up instead.
        if not (self.order_code or self.guid or self.orders):
            raise ValueError("the answer names no order (order_code, guid or orders)")
        return self
