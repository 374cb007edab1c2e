"""What a partner sends to place an order (POST /orders, or the workflow's buy task).

Minted's own published Buy request is accepted as it is (contract 4 and 9.1, 9.7): ``currency_code``
for ``currency``, items named by ``product_id``, and the customer's ``fullname`` (not sent on). They
are rewritten to our names before validation, so both spellings make the same order (and fingerprint).
"""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

from minted_gateway.cards.requests import PAYMENT_TYPES, CardPaymentIn
from minted_gateway.minted.models.base import PRODUCT_ID_BY_SKU, SKU_BY_PRODUCT_ID, Currency
from minted_gateway.minted.models.buy import (
    BuyerCustomer,
    BuyRequest,
    CardBuyRequest,
    OrderLine,
    SellerCustomer,
    SellRequest,
)
from minted_gateway.personal_values import without_personal_values
from minted_gateway.validation import (
    EACH_SKU_ONCE,
    GATEWAY_ORDER_ID_SCHEMA,
    SKUS_FOR_SALE,
    Birthdate,
    Email,
    ExternalId,
    Grams,
    IdentityNumber,
    OptionalName,
    PersonName,
    Phone,
)

_PRODUCT_IDS_FOR_SALE = [PRODUCT_ID_BY_SKU[sku] for sku in SKUS_FOR_SALE]


def _documented(
    properties: dict[str, Any],
    *,
    required_one_of: tuple[str, str] | None = None,
    same: tuple[str, str, Any] | None = None,
    also_refused: list[JsonValue] | None = None,
    examples: list[JsonValue] | None = None,
) -> Any:
    """OpenAPI for Minted's spellings, which the validators below rewrite before the fields see them.

    ``same`` names two spellings of one value and their agreeing pairs: given both, they must agree.
    Written as "not" rules, which code generators pass over (anyOf or oneOf would untype the model).
    """
    refused: list[Any] = []
    if required_one_of:
        refused.append({"not": {"anyOf": [{"required": [name]} for name in required_one_of]}})
    if same:
        ours, minted, pairs = same
        agreeing = [{"properties": {ours: {"const": a}, minted: {"const": b}}} for a, b in pairs]
        refused.append({"required": [ours, minted], "not": {"anyOf": agreeing}})
    refused.extend(also_refused or [])

    def extend(schema: dict[str, Any]) -> None:
        schema.setdefault("properties", {}).update(properties)
        if required_one_of:
            schema["required"] = [name for name in schema.get("required", []) if name not in required_one_of]
        if refused:
            schema["not"] = {"anyOf": refused}
        if examples:  # the first is Swagger UI's default body: a valid request
            schema["examples"] = examples

    return extend


class ItemIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra=_documented(
            {"product_id": {"type": "integer", "enum": _PRODUCT_IDS_FOR_SALE,
                            "description": "Minted's id in place of sku: 3000001 GAU, 3000002 GAG, 3000090 GPT"}},
            required_one_of=("sku", "product_id"),
            same=("sku", "product_id", [(sku, PRODUCT_ID_BY_SKU[sku]) for sku in SKUS_FOR_SALE]),
        ),
    )  # fmt: skip

    sku: Literal["GAU", "GAG", "GPT"] = Field(description="GAU gold, GAG silver, GPT platinum")
    amount: Grams = Field(description="grams, more than 0, at most 3 decimals")

    @model_validator(mode="before")
    @classmethod
    def _product_id_as_sku(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "product_id" not in data:
            return data
        data = dict(data)
        product_id = data.pop("product_id")
        sku = SKU_BY_PRODUCT_ID.get(product_id) if type(product_id) is int else None
        if sku not in SKUS_FOR_SALE:
            raise ValueError(f"product_id must be one of {', '.join(map(str, _PRODUCT_IDS_FOR_SALE))}")
        if data.setdefault("sku", sku) != sku:
            raise ValueError("sku and product_id name different products")
        return data


class CustomerIn(BaseModel):
    """The partner's customer (B2B2C). Personal data: kept out of reprs, errors, logs and the ledger."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra=_documented(
            {
                "fullname": {
                    "anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}],
                    "description": "accepted and not sent on",
                }
            }
        ),
    )

    external_id: ExternalId = Field(description="the partner's customer id")
    identity_number: IdentityNumber = Field(
        repr=False, description="any text Minted accepts (a T.C. Kimlik No. is checked only when the partner asks)"
    )
    firstname: PersonName = Field(repr=False)
    middlename: OptionalName = Field(default=None, repr=False)
    lastname: PersonName = Field(repr=False)
    email: Email = Field(repr=False)
    phone: Phone = Field(repr=False, description="as the customer gave it, e.g. +905322808035")
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False, description="YYYY-MM-DD")

    def redact(self, text: str) -> str:
        """``text`` (Minted's refusal, say) without this customer's personal values, before it is kept
        anywhere (minted_gateway/personal_values.py)."""
        values = [self.identity_number, self.firstname, self.middlename, self.lastname, self.email, self.phone]
        return without_personal_values(text, values, [self.birthdate] if self.birthdate else [])

    @model_validator(mode="before")
    @classmethod
    def _ignore_fullname(cls, data: Any) -> Any:
        # Minted's example sends fullname beside firstname and lastname; they say it already.
        if isinstance(data, dict) and "fullname" in data:
            fullname = data["fullname"]
            if fullname is not None and (not isinstance(fullname, str) or len(fullname) > 200):
                raise ValueError("fullname must be text of at most 200 characters")
            data = {k: v for k, v in data.items() if k != "fullname"}
        return data


# What a quote prices in when none is asked (POST /quotes): an order that leaves currency out means it.
DEFAULT_CURRENCY = Currency.TRY
# Brokerage convention: an order has a side; left out, it is a buy (every request before sells meant one).
Side = Literal["buy", "sell"]
PurchaseSide = Literal["buy", "sell", "delivery"]  # a ledger row's side: a delivery is an order too
SIDE_DESCRIPTION = "buy (the default) or sell: a sell takes the customer's metal back at Minted's sell price"


def seller_id(side: str, customer: CustomerIn | None, customer_external_id: str | None) -> str | None:
    """Whose metal a sell takes: ``customer_external_id``, or the external_id of a ``customer`` given in full.

    A buy names its customer in full (Minted registers them with it); ``customer_external_id`` is a sell's.
    """
    if customer_external_id is None:
        return customer.external_id if customer and side == "sell" else None
    if side != "sell":
        raise ValueError("customer_external_id names a sell's customer; a buy for a customer sends customer")
    if customer is not None:
        raise ValueError("give customer or customer_external_id, not both")
    return customer_external_id


# A card payment pays a buy for a customer: refused on a sell and without customer.
# payment_type only beside a payment (as Minted's card buy sends it).
_A_PAYMENT: dict[str, JsonValue] = {"required": ["payment"], "properties": {"payment": {"type": "object"}}}
CARD_REFUSALS: list[JsonValue] = [
    {**_A_PAYMENT, "not": {"required": ["customer"], "properties": {"customer": {"type": "object"}}}},
    {"required": ["payment", "side"], "properties": {"payment": {"type": "object"}, "side": {"const": "sell"}}},
    {"required": ["payment_type"], "not": _A_PAYMENT},
]

# What seller_id refuses, as the OpenAPI document says it ("not" rules, as _documented writes them).
SELLER_REFUSALS: list[JsonValue] = [
    {"required": ["customer", "customer_external_id"]},
    {"required": ["customer_external_id"], "not": {"required": ["side"], "properties": {"side": {"const": "sell"}}}},
]


def _each_sku_once(items: list[ItemIn]) -> list[ItemIn]:
    skus = [item.sku for item in items]
    if len(set(skus)) != len(skus):
        raise ValueError("each sku may appear once in items")
    return items


# An order's lines, for a buy and for the workflow that will make one: what the buy refuses, the
# workflow refuses before it starts (not as a failed execution).
OrderItems = Annotated[
    list[ItemIn],
    Field(min_length=1, max_length=len(SKUS_FOR_SALE), json_schema_extra=EACH_SKU_ONCE),
    AfterValidator(_each_sku_once),
]


class Purchase(BaseModel):
    """What is bought, for whom: the part of an order its fingerprint covers (no price token)."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    side: PurchaseSide = "buy"
    currency: Currency
    items: list[ItemIn]
    customer: CustomerIn | None = None  # a buy's customer, in full
    seller: str | None = None  # a sell's (or a delivery's) customer, by external_id
    # A card buy's card (its token: another card is another order; never its CVV or the customer's IP).
    card_token: str | None = Field(default=None, repr=False)
    # A delivery's address, only ever hashed into the fingerprint: another address is another delivery.
    address: dict[str, Any] | None = Field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        external_id: str,
        currency: Currency | None,
        items: list[ItemIn],
        customer: CustomerIn | None,
        *,
        side: Side = "buy",
        customer_external_id: str | None = None,
        card_token: str | None = None,
    ) -> "Purchase":
        # Defaults filled in, so the same purchase always hashes the same. A sell keeps no personal data.
        seller = seller_id(side, customer, customer_external_id)
        return cls(external_id=external_id, side=side, currency=currency or DEFAULT_CURRENCY, items=items,
                   customer=customer if side == "buy" else None, seller=seller, card_token=card_token)  # fmt: skip

    @property
    def customer_external_id(self) -> str | None:
        return self.customer.external_id if self.customer else self.seller

    @property
    def mode(self) -> Literal["B2B", "B2B2C"]:
        return "B2B2C" if self.customer_external_id else "B2B"


# README's first buy: valid as it stands (a token that no longer buys is Minted's 422 quote_expired).
ORDER_EXAMPLE: JsonValue = {
    "external_id": "my-first-order", "price_token": "IxAQKCw0Ys0SP621lRoOhIev5kLrXdis", "currency": "TRY",
    "items": [{"sku": "GAU", "amount": 1.5}],
    "customer": {"external_id": "cust-0001", "identity_number": "10000000146", "firstname": "Ayşe",
                 "lastname": "Yılmaz", "email": "ayse@example.com", "phone": "+905322808035",
                 "birthdate": "1990-12-31"},
}  # fmt: skip


class OrderRequest(BaseModel):
    """Buy metal with a quote's price token: for a customer (B2B2C) or the partner's own wallet (B2B)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra=_documented(
            {"currency_code": {"type": "string", "enum": [c.value for c in Currency],
                               "description": "Minted's name for currency; either may be given"},
             "payment_type": {"type": "string", "enum": list(PAYMENT_TYPES),
                              "description": "Minted's card buy sends it beside payment; accepted, not needed"}},
            same=("currency", "currency_code", [(c.value, c.value) for c in Currency]),
            also_refused=[*SELLER_REFUSALS, *CARD_REFUSALS],
            examples=[ORDER_EXAMPLE],
        ),
    )  # fmt: skip

    external_id: ExternalId = Field(
        description="the partner's unique order id (1-64 of A-Z a-z 0-9 . _ -; not cond- or plan-, the gateway's own)",
        json_schema_extra=GATEWAY_ORDER_ID_SCHEMA,
    )
    side: Side = Field(default="buy", description=SIDE_DESCRIPTION)
    price_token: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{32}$", description="from POST /quotes")]
    currency: Currency | None = Field(default=None, description="must match the quote's currency when given")
    items: OrderItems
    customer: CustomerIn | None = Field(default=None, description="absent: the order goes to the partner's wallet")
    customer_external_id: ExternalId | None = Field(
        default=None, description="a sell's customer (instead of customer): whose metal is sold"
    )
    payment: CardPaymentIn | None = Field(
        default=None,
        description="pay a B2B2C buy by the customer's stored card instead of the partner's cash account",
    )

    @model_validator(mode="before")
    @classmethod
    def _payment_type_with_payment(cls, data: Any) -> Any:
        # Minted's card buy names its payment_type beside payment (contract 11): accepted, then implied.
        if not isinstance(data, dict) or "payment_type" not in data:
            return data
        data = dict(data)
        payment_type = data.pop("payment_type")
        if payment_type not in PAYMENT_TYPES:
            raise ValueError(f"payment_type must be one of {', '.join(PAYMENT_TYPES)}")
        if data.get("payment") is None:
            raise ValueError("payment_type names a card payment: send payment {card_token, card_cvv, customer_ip}")
        return data

    @model_validator(mode="before")
    @classmethod
    def _currency_code_as_currency(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "currency_code" not in data:
            return data
        data = dict(data)
        code = data.pop("currency_code")
        if data.setdefault("currency", code) != code:
            raise ValueError("currency and currency_code differ")
        return data

    @model_validator(mode="after")
    def _names_its_seller(self) -> "OrderRequest":
        seller_id(self.side, self.customer, self.customer_external_id)
        if self.payment is not None and (self.side != "buy" or self.customer is None):
            raise ValueError("a card payment pays a buy for a customer (side buy, with customer)")
        return self

    @property
    def mode(self) -> Literal["B2B", "B2B2C"]:
        return self.purchase().mode

    def purchase(self) -> Purchase:
        return Purchase.of(self.external_id, self.currency, self.items, self.customer, side=self.side,
                           customer_external_id=self.customer_external_id,
                           card_token=self.payment.card_token if self.payment else None)  # fmt: skip

    def redact(self, text: str) -> str:
        """``text`` without this order's personal values (its customer's, its card's), before it is kept."""
        if self.customer is not None:
            text = self.customer.redact(text)
        return self.payment.redact(text) if self.payment is not None else text

    def to_minted(self) -> BuyRequest | SellRequest:
        # The currency the ledger records, always sent: Minted's card buy takes GBP when none is sent.
        currency = self.currency or DEFAULT_CURRENCY
        if self.side == "sell":
            seller = self.purchase().seller
            return SellRequest(
                price_token=self.price_token,
                external_id=self.external_id,
                currency_code=currency,
                items=[OrderLine(sku=item.sku, amount=item.amount) for item in self.items],
                customer=SellerCustomer(external_id=seller) if seller else None,
            )
        customer = None
        if self.customer:
            customer = BuyerCustomer.model_validate(self.customer.model_dump())
        if self.payment is not None:
            return CardBuyRequest(
                price_token=self.price_token,
                external_id=self.external_id,
                currency_code=currency,
                items=[OrderLine(sku=item.sku, amount=item.amount) for item in self.items],
                customer=customer,
                payment=self.payment.to_minted(),
            )
        return BuyRequest(
            price_token=self.price_token,
            external_id=self.external_id,
            currency_code=currency,
            items=[OrderLine(sku=item.sku, amount=item.amount) for item in self.items],
            customer=customer,
        )
