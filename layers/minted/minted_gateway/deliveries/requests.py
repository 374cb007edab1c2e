"""What a partner sends to have a customer's grams delivered (POST /deliveries).

The fields are Minted's Delivery - Create page's (contract 12): one ``sku``, an ``amount`` of whole
grams (the page types it integer: that is the rule, not ours), the customer, and ``address
{billing, shipping}``. The customer may be named by ``customer_external_id`` alone: Minted's own
record then fills the block the page requires (``CreateDelivery``). Addresses and names are
personal data: hidden from reprs and errors, sent to Minted, kept nowhere (the fingerprint holds
only a keyed hash of the whole request).
"""

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, WithJsonSchema, model_validator

from minted_gateway.minted.models.delivery import (
    BillingAddress,
    DeliveryAddress,
    DeliveryCustomer,
    DeliveryRequest,
    ShippingAddress,
)
from minted_gateway.orders.requests import DEFAULT_CURRENCY, ItemIn, Purchase
from minted_gateway.personal_values import without_personal_values
from minted_gateway.validation import (
    GATEWAY_ORDER_ID_SCHEMA,
    NO_CONTROL,
    NO_CONTROL_OR_EMPTY,
    Email,
    ExternalId,
    PersonName,
    Phone,
    WholeNumber,
    text_schema,
)

# Safety bounds (ours): no real address line, name or place reaches these lengths.
_Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=250, pattern=NO_CONTROL),
    WithJsonSchema(text_schema(250)),
]
_OptionalText = Annotated[
    str | None, StringConstraints(strip_whitespace=True, max_length=250, pattern=NO_CONTROL_OR_EMPTY)
]
# The most grams one delivery may ask for: a safety bound on the integer, not a business rule.
MAX_DELIVERY_GRAMS = 1_000_000


_ADDRESS: dict[str, JsonValue] = {"company_name": "", "fullname": "Ayşe Yılmaz", "city": "İstanbul", "county": "Beykoz",
            "district": "Acarlar Mah.", "address": "No: 37/4"}  # fmt: skip
_EXAMPLES: list[JsonValue] = [
    {"external_id": "delivery-0001", "customer_external_id": "cust-0001", "sku": "GAU", "amount": 2,
     "address": {"billing": {**_ADDRESS, "invoice_type": "Individual"}, "shipping": _ADDRESS}},
    {"external_id": "delivery-0002", "sku": "GAU", "amount": 3,
     "customer": {"external_id": "MTD0018232", "firstname": "John", "lastname": "Due", "phone": "+905180001923",
                  "email": "john@example.com"},
     "address": {"billing": {**_ADDRESS, "invoice_type": "Individual"}, "shipping": _ADDRESS}},
]  # fmt: skip


# OpenAPI: the customer named once, by customer (an object) or by customer_external_id (a string).
_GIVEN: dict[str, Any] = {"properties": {"customer": {"type": "object"}, "customer_external_id": {"type": "string"}}}
_EITHER: list[JsonValue] = [
    {"required": [name], "properties": {name: kind}} for name, kind in _GIVEN["properties"].items()
]


class ShippingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    company_name: _OptionalText = Field(default=None, repr=False)
    fullname: _Text = Field(repr=False)
    city: _Text = Field(repr=False)
    county: _Text = Field(repr=False)
    district: _Text = Field(repr=False)
    address: _Text = Field(repr=False)


class BillingIn(ShippingIn):
    invoice_type: _Text = Field(default="Individual", description="Minted's example: Individual")


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    billing: BillingIn = Field(repr=False)
    shipping: ShippingIn = Field(repr=False)

    def to_minted(self) -> DeliveryAddress:
        return DeliveryAddress(
            billing=BillingAddress.model_validate(self.billing.model_dump()),
            shipping=ShippingAddress.model_validate(self.shipping.model_dump()),
        )


class DeliveryCustomerIn(BaseModel):
    """The customer block Minted's delivery page requires (all five fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId
    firstname: PersonName = Field(repr=False)
    lastname: PersonName = Field(repr=False)
    phone: Phone = Field(repr=False)
    email: Email = Field(repr=False)

    def to_minted(self) -> DeliveryCustomer:
        return DeliveryCustomer.model_validate(self.model_dump())


class DeliveryIn(BaseModel):
    """Deliver a customer's grams of one metal, paid from the partner's cash account, once per external_id."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={"examples": _EXAMPLES, "not": {"anyOf": [{**_GIVEN, "required": list(_GIVEN["properties"])},
                                                                    {"not": {"anyOf": _EITHER}}]}},
    )  # fmt: skip

    external_id: ExternalId = Field(
        description="the partner's unique order id, shared with buys and sells (not cond- or plan-, the gateway's own)",
        json_schema_extra=GATEWAY_ORDER_ID_SCHEMA,
    )
    customer_external_id: ExternalId | None = Field(
        default=None, description="whose grams: Minted's record of them fills the customer block"
    )
    customer: DeliveryCustomerIn | None = Field(default=None, description="whose grams, with the block Minted requires")
    sku: Literal["GAU", "GAG", "GPT"] = Field(description="GAU gold, GAG silver, GPT platinum")
    amount: WholeNumber = Field(
        gt=0, le=MAX_DELIVERY_GRAMS, description="whole grams (Minted's delivery page types amount integer)"
    )
    address: AddressIn = Field(repr=False, description="billing and shipping, as Minted's page names their fields")

    @model_validator(mode="after")
    def _one_customer(self) -> "DeliveryIn":
        if (self.customer is None) == (self.customer_external_id is None):
            raise ValueError("give customer or customer_external_id (one of them)")
        return self

    @property
    def owner(self) -> str:
        return self.customer.external_id if self.customer else str(self.customer_external_id)


class DeliveryOrder:
    """A delivery as PlaceOrder places it: no price token, one line, the customer's block completed.

    ``customer`` may be a callable, asked only when the block is sent or Minted's refusal is masked:
    reading Minted's record of the customer is then the sending's, and a replay makes no call."""

    price_token: str | None = None

    def __init__(self, request: DeliveryIn, customer: DeliveryCustomer | Callable[[], DeliveryCustomer]) -> None:
        self.request = request
        self._customer = customer

    @functools.cached_property
    def customer(self) -> DeliveryCustomer:
        return self._customer if isinstance(self._customer, DeliveryCustomer) else self._customer()

    @property
    def external_id(self) -> str:
        return self.request.external_id

    def purchase(self) -> Purchase:
        # What the fingerprint covers: whose grams, which and how many, and where to (only ever hashed).
        address: dict[str, Any] = self.request.address.model_dump()
        return Purchase(external_id=self.request.external_id, side="delivery", currency=DEFAULT_CURRENCY,
                        items=[ItemIn(sku=self.request.sku, amount=Decimal(self.request.amount))],
                        seller=self.request.owner, address=address)  # fmt: skip

    def to_minted(self) -> DeliveryRequest:
        return DeliveryRequest(customer=self.customer, external_id=self.request.external_id, sku=self.request.sku,
                               amount=self.request.amount, address=self.request.address.to_minted())  # fmt: skip

    def redact(self, text: str) -> str:
        """``text`` (Minted's refusal) without the customer's or the addresses' values, before it is kept."""
        values = [v for v in self.customer.model_dump().values() if isinstance(v, str)]
        values += [v for part in self.request.address.model_dump().values() if isinstance(part, dict)
                   for v in part.values() if isinstance(v, str)]  # fmt: skip
        return without_personal_values(text, values)
