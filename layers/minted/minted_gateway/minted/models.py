"""Typed requests and responses of Minted Connect (contract sections 3 to 8).

Money and grams are ``Decimal``; every date format Minted uses is parsed; unknown fields are ignored.
Answers are read tolerantly (contract section 6): Minted's published examples leave out fields its
schema calls required, so an order needs only an identity and a status, and the rest is optional.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from minted_gateway import jsonutil

# Minted's local time. Turkey has kept a fixed +03:00 since 2016, so a fixed offset is exact and
# needs no tz database (the Lambda image does not ship one).
ISTANBUL = timezone(timedelta(hours=3), "Europe/Istanbul")

# Naive formats Minted sends, read as Istanbul time (contract 2.4).
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_minted_datetime(value: Any) -> Any:
    """Read any of Minted's date formats into an aware datetime; leave other types to pydantic."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:  # ISO 8601 and Minted's "%Y-%m-%d %H:%M[:%S]" alike, in C: strptime is the slow path of every answer
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        for fmt in _NAIVE_FORMATS:  # the day-first forms (and unpadded fields) only strptime reads
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=ISTANBUL)
            except ValueError:
                continue
        raise ValueError(f"unrecognised date format: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ISTANBUL)


def _parse_birthdate(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{2}-\d{2}-\d{4}", value):
        return datetime.strptime(value, "%d-%m-%Y").date()
    return value


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


def _sku_from_product_id(cls: type, data: Any) -> Any:
    """Before validation: an item (or price) named only by product_id gets its sku (contract 2.5)."""
    if isinstance(data, dict) and not data.get("sku"):
        sku = SKU_BY_PRODUCT_ID.get(_int_or_none(data.get("product_id")) or 0)
        if sku is not None:
            return {**data, "sku": sku}
    return data


def _int_or_none(value: Any) -> int | None:
    """An id Minted may send as a number or a numeric string; anything else is no id."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


MintedDateTime = Annotated[datetime, BeforeValidator(parse_minted_datetime)]
Birthdate = Annotated[date, BeforeValidator(_parse_birthdate)]
OptionalText = Annotated[str | None, BeforeValidator(_empty_as_none)]
# Order and customer ids (contract 9.5): Minted publishes no length; a published order id has 50
# characters, so 1-64 letters, digits, "-", "_" and "." (our safety bound), not dots alone (as a
# path segment, "." and ".." would name another path).
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
EXTERNAL_ID_MAX_LENGTH = 64
ExternalId = Annotated[str, StringConstraints(max_length=EXTERNAL_ID_MAX_LENGTH, pattern=EXTERNAL_ID_PATTERN)]
# The Create Customer page does publish 3-40 characters for its external_id: enforced there only.
CustomerPageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{3,40}$")]
Grams = Annotated[Decimal, Field(gt=0, decimal_places=3)]
Name = Annotated[str, StringConstraints(min_length=3, max_length=40)]


# Contract 2.5: Minted's products. An item that carries only product_id gets its sku from here.
SKU_BY_PRODUCT_ID: dict[int, str] = {
    3000001: "GAU",
    3000002: "GAG",
    3000090: "GPT",
    3000091: "GPD",
    3000088: "BGAU",
    3000089: "BGAG",
}
PRODUCT_ID_BY_SKU = {sku: product_id for product_id, sku in SKU_BY_PRODUCT_ID.items()}


class Currency(StrEnum):
    GBP = "GBP"
    TRY = "TRY"
    USD = "USD"
    EUR = "EUR"


class MintedModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _bounded_decimal_text(cls, value: Any, info: ValidationInfo) -> Any:
        """A number Minted writes as text is bounded as jsonutil bounds a JSON number, before pydantic
        reads it: "1e-999999999" as a price would otherwise reach the quote's arithmetic."""
        if isinstance(value, str) and info.field_name is not None and _holds_decimal(cls, info.field_name):
            return jsonutil.parse_decimal(value)
        return value


@functools.cache
def _holds_decimal(model: type[BaseModel], field_name: str) -> bool:
    field = model.model_fields.get(field_name)
    annotation = field.annotation if field is not None else None
    return annotation is Decimal or Decimal in get_args(annotation)


# ---------------------------------------------------------------- Price Fix (section 3)
class PriceFixRequest(MintedModel):
    type: Literal["digital"] = "digital"
    customer_external_id: ExternalId | None = None
    total: Annotated[Decimal, Field(gt=0)] | None = None
    currency: Currency | None = None


class FixedPrice(MintedModel):
    currency_id: int | None = None
    product_id: int
    sku: str
    _sku = model_validator(mode="before")(_sku_from_product_id)
    spot_price: Decimal
    buy_price: Decimal
    sell_price: Decimal
    buy_amount: Decimal | None = None


class PriceFix(MintedModel):
    token: str
    expires_at: MintedDateTime
    expire_ttl: int
    is_total_price: bool = False
    total: Decimal | None = None
    currency: Currency | None = None
    prices: list[FixedPrice]


# ---------------------------------------------------------------- Buy and sell (sections 4, 5)
class OrderLine(MintedModel):
    sku: str
    amount: Grams


class BuyerCustomer(MintedModel):
    """The customer block of a B2B2C buy. Holds personal data: never log it."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId
    identity_number: str = Field(repr=False)
    firstname: str = Field(repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: str = Field(repr=False)
    email: str = Field(repr=False)
    phone: str = Field(repr=False)
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False)


class SellerCustomer(MintedModel):
    external_id: ExternalId


class BuyRequest(MintedModel):
    price_token: str
    external_id: ExternalId
    items: Annotated[list[OrderLine], Field(min_length=1)]
    currency_code: Currency | None = None
    customer: BuyerCustomer | None = None


class CardPayment(MintedModel):
    """A stored card's token, its CVV and the customer's IP (contract 11). The CVV is sensitive
    authentication data: it exists only in this request on its way to Minted (never in a repr or an error)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    card_token: str = Field(repr=False)
    card_cvv: str = Field(repr=False)
    customer_ip: str = Field(repr=False)


class CardBuyRequest(BuyRequest):
    """Card Payment Buy (with card token): a B2B2C buy that Minted charges to the customer's card.

    ``payment_type`` is what the published page sends ("creditcard"; the Order Schema stores
    "credit-card"): the client sends its configured spelling.
    """

    payment_type: str = "creditcard"
    payment: CardPayment


class SellRequest(MintedModel):
    price_token: str
    external_id: ExternalId
    items: Annotated[list[OrderLine], Field(min_length=1)]
    currency_code: Currency | None = None
    customer: SellerCustomer | None = None


# ---------------------------------------------------------------- Delivery (section 12)
class DeliveryCustomer(MintedModel):
    """Delivery's customer block: all five fields required by the page. Personal data: never log it."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId
    firstname: str = Field(repr=False)
    lastname: str = Field(repr=False)
    phone: str = Field(repr=False)
    email: str = Field(repr=False)


class ShippingAddress(MintedModel):
    """An address as the Delivery page publishes it. Personal data: sent to Minted, never kept."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    company_name: str | None = Field(default=None, repr=False)
    fullname: str = Field(repr=False)
    city: str = Field(repr=False)
    county: str = Field(repr=False)
    district: str = Field(repr=False)
    address: str = Field(repr=False)


class BillingAddress(ShippingAddress):
    invoice_type: str = "Individual"


class DeliveryAddress(MintedModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    billing: BillingAddress = Field(repr=False)
    shipping: ShippingAddress = Field(repr=False)


class DeliveryRequest(MintedModel):
    """Delivery - Create (Pay With Cash): one sku, whole grams (the page types amount integer)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    customer: DeliveryCustomer
    external_id: ExternalId
    sku: str
    amount: Annotated[int, Field(gt=0)]
    address: DeliveryAddress = Field(repr=False)


# ---------------------------------------------------------------- Orders (section 6)
class OrderItem(MintedModel):
    """An order line. The published Get Order answer has no ``sku``: it comes from ``product_id``."""

    product_id: int | None = None
    sku: str | None = None
    product_name: str | None = None
    spot_price: Decimal | None = None
    price: Decimal | None = None
    tax_rate: Decimal | None = None
    tax: Decimal | None = None
    amount: Decimal | None = None
    total: Decimal | None = None

    _sku = model_validator(mode="before")(_sku_from_product_id)


class OrderCustomer(MintedModel):
    """The customer as Minted returns it on an order. Personal data: hidden from repr."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: str | None = None
    firstname: OptionalText = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: OptionalText = Field(default=None, repr=False)
    fullname: OptionalText = Field(default=None, repr=False)
    email: OptionalText = Field(default=None, repr=False)
    phone: OptionalText = Field(default=None, repr=False)
    gender: OptionalText = None
    identity_number: OptionalText = Field(default=None, repr=False)
    birthdate: Annotated[Birthdate | None, BeforeValidator(_empty_as_none)] = Field(default=None, repr=False)


# Contract section 6: ids 1-12 in this order; id 1 is also called "New" in an older example.
ORDER_STATUS_NAMES: dict[int, str] = {
    1: "Created",
    2: "Pending",
    3: "Processing",
    4: "Cancelled",
    5: "Completed",
    6: "Preparing",
    7: "Packed",
    8: "Shipped",
    9: "Transferring",
    10: "Refunding",
    11: "Refunded",
    12: "Payment Confirmed",
}
TERMINAL_STATUS_NAMES = frozenset({"Completed", "Cancelled", "Refunded"})
# Names for ids the contract does not list (Minted's Order Statusses call, cached): set by the runtime.
_status_names_beyond_the_contract: Callable[[int], str | None] | None = None


def name_statuses_with(lookup: Callable[[int], str | None] | None) -> None:
    """How an order carrying only a ``status_id`` that section 6 does not name gets its name."""
    global _status_names_beyond_the_contract  # noqa: PLW0603 - one hook, set once per container
    _status_names_beyond_the_contract = lookup


def _status_name_of(status_id: int | None) -> str | None:
    if status_id is None:
        return None
    lookup = _status_names_beyond_the_contract
    return ORDER_STATUS_NAMES.get(status_id) or (lookup(status_id) if lookup else None)


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
    kept = {key: value for key, value in data.items() if key != "details"}
    if isinstance(details, dict):
        number = details.get("card_number")
        if isinstance(number, str) and _MASKED_CARD_NUMBER.match(number):
            kept["card_number"] = number
        association = details.get("card_association")
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
    amount: Decimal | None = None
    commission: Decimal | None = Field(default=None, validation_alias=AliasChoices("comission", "commission"))
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


def _status_name(value: Any) -> Any:
    return "Created" if value == "New" else value  # contract 9.10: an older example calls id 1 "New"


class Order(MintedModel):
    """Order Schema, read tolerantly: identified by guid, order_code or external_id, with a status.

    The published Buy and Get Order (Alternative) answers carry no ``status_id`` and the Get Order
    answer no ``type`` or ``order_at``; every field but an identity and a status is optional.
    """

    guid: str | None = None
    order_code: str | None = None
    external_id: str | None = None
    type: str | None = None
    price: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    payment_cost: Decimal | None = None
    currency_code: str | None = None
    currency_rate: Decimal | None = None
    currency_total: Decimal | None = None
    status_id: int | None = None
    status_name: Annotated[str, BeforeValidator(_status_name)]
    order_at: MintedDateTime | None = None
    payment_type: str | None = None
    items: list[OrderItem] = []
    customer: OrderCustomer | None = None
    description: str | None = None
    payment: PaymentOutcome | None = None  # a card order's payment
    delivery: CargoTracking | None = None  # a delivery's cargo

    @model_validator(mode="before")
    @classmethod
    def _identity_and_status(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not any(data.get(key) for key in ("guid", "order_code", "external_id")):
            raise ValueError("an order needs a guid, an order_code or an external_id")
        if not data.get("status_name"):
            name = _status_name_of(_int_or_none(data.get("status_id")))
            if name is not None:
                data = {**data, "status_name": name}
        return data

    @property
    def is_terminal(self) -> bool:
        return self.status_name in TERMINAL_STATUS_NAMES


class OrderResult(MintedModel):
    """Order Response of a buy or sell: one entry per order created in each list."""

    order_code: list[str] = []
    guid: list[str] = []
    price: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    order_at: MintedDateTime | None = None
    orders: list[Order] = []
    payment: PaymentOutcome | None = None  # a card buy's payment (the page adds it to the Order Response)

    @model_validator(mode="after")
    def _names_an_order(self) -> OrderResult:
        # An answer that names no order cannot be tracked: the caller must look it up instead.
        if not (self.order_code or self.guid or self.orders):
            raise ValueError("the answer names no order (order_code, guid or orders)")
        return self


class OrderLookup(MintedModel):
    """Get Order (Alternative): exactly one of guid, order_code, external_id."""

    guid: str | None = None
    order_code: str | None = None
    external_id: str | None = None
    push_hook: bool | None = None

    @model_validator(mode="after")
    def _exactly_one_key(self) -> OrderLookup:
        given = [name for name in ("guid", "order_code", "external_id") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of guid, order_code or external_id")
        return self


class OrdersQuery(MintedModel):
    page: Annotated[int, Field(ge=1)] = 1
    total: Annotated[int, Field(ge=5, le=30)] = 10
    customer_external_id: str | None = None
    sku: str | None = None
    sortBy: Literal["type", "total", "customer_external_id", "created_at"] | None = None  # noqa: N815 (Minted's name)
    sortType: Literal["asc", "desc"] | None = None  # noqa: N815 (Minted's name)
    status: list[int] | None = None
    startDate: date | None = None  # noqa: N815 (Minted's name)
    endDate: date | None = None  # noqa: N815 (Minted's name)

    def to_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, list):
                params[name] = ",".join(str(item) for item in value)
            else:
                params[name] = value.isoformat() if isinstance(value, date) else str(value)
        return params


class PageLink(MintedModel):
    url: str | None = None
    label: str
    active: bool = False


class OrdersPage(MintedModel):
    """A Laravel length-aware page of orders."""

    current_page: int
    data: list[Order]
    first_page_url: str | None = None
    from_: int | None = Field(default=None, alias="from")
    last_page: int
    last_page_url: str | None = None
    links: list[PageLink] = []
    next_page_url: str | None = None
    path: str | None = None
    per_page: int
    prev_page_url: str | None = None
    to: int | None = None
    total: int


class OrderStatus(MintedModel):
    id: int
    name: str


# ---------------------------------------------------------------- Prices, legal (sections 1, 8)
class ProductPrice(MintedModel):
    product_id: int
    sku: str
    name: str | None = None
    currency: Currency
    spot_price: Decimal
    buy_price: Decimal
    sell_price: Decimal
    updated_at: MintedDateTime


class LegalDocumentSummary(MintedModel):
    type: str
    title: str
    version: str


class LegalDocument(LegalDocumentSummary):
    content: str
    pdf_url: str | None = None
    updated_at: MintedDateTime


# ---------------------------------------------------------------- Customers (section 7)
class CustomerProfile(MintedModel):
    """Create Customer body. Personal data: hidden from repr and from validation errors."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: CustomerPageId
    firstname: Name | None = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: Name | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False)
    gender: Literal["M", "F"] | None = None
    identity_number: str | None = Field(default=None, repr=False)
    birthdate: Birthdate | None = Field(default=None, repr=False)
    account_type: Literal["individual", "company"] | None = None
    tax_office: str | None = None


class CustomerUpdate(MintedModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    firstname: Name | None = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: Name | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False)
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False)


class Balance(MintedModel):
    customer_external_id: str | None = None
    name: str | None = None
    currency_id: int | None = None
    currency_code: str
    currency_symbol: str | None = None
    is_cash: bool = False
    balance: Decimal
    blocked: Decimal = Decimal(0)
    real_balance: Decimal | None = None
    soft_blocked_amount: Decimal = Decimal(0)


class Customer(MintedModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: str
    firstname: OptionalText = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: OptionalText = Field(default=None, repr=False)
    email: OptionalText = Field(default=None, repr=False)
    phone: OptionalText = Field(default=None, repr=False)
    gender: OptionalText = None
    identity_number: OptionalText = Field(default=None, repr=False)
    birthdate: Annotated[Birthdate | None, BeforeValidator(_empty_as_none)] = Field(default=None, repr=False)
    account_type: str | None = None
    tax_office: OptionalText = None
    wallets: list[Balance] = []
