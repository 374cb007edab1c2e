"""What a buy and a sell send (contract sections 4, 5 and 11)."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from minted_gateway.minted.models.base import Birthdate, Currency, ExternalId, Grams, MintedModel, OptionalText


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
