"""What a partner sends to place an order (POST /orders, or the workflow's buy task)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from minted_gateway.minted.models import BuyerCustomer, BuyRequest, Currency, OrderLine
from minted_gateway.validation import (
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


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Literal["GAU", "GAG", "GPT"] = Field(description="GAU gold, GAG silver, GPT platinum")
    amount: Grams = Field(description="grams, more than 0, at most 3 decimals", examples=[Decimal("1.5")])


class CustomerIn(BaseModel):
    """The partner's customer (B2B2C). Personal data: kept out of reprs, errors, logs and the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId = Field(description="the partner's customer id")
    identity_number: IdentityNumber = Field(repr=False, description="T.C. Kimlik No. (11 digits)")
    firstname: PersonName = Field(repr=False)
    middlename: OptionalName = Field(default=None, repr=False)
    lastname: PersonName = Field(repr=False)
    email: Email = Field(repr=False)
    phone: Phone = Field(repr=False, description="E.164, e.g. +905322808035")
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False, description="YYYY-MM-DD")


# What a quote prices in when none is asked (POST /quotes): an order that leaves currency out means it.
DEFAULT_CURRENCY = Currency.TRY


class Purchase(BaseModel):
    """What is bought, for whom: the part of an order its fingerprint covers (no price token)."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    currency: Currency
    items: list[ItemIn]
    customer: CustomerIn | None = None

    @classmethod
    def of(
        cls, external_id: str, currency: Currency | None, items: list[ItemIn], customer: CustomerIn | None
    ) -> Purchase:
        # Defaults filled in, so the same purchase always hashes the same.
        return cls(external_id=external_id, currency=currency or DEFAULT_CURRENCY, items=items, customer=customer)

    @property
    def mode(self) -> Literal["B2B", "B2B2C"]:
        return "B2B2C" if self.customer else "B2B"


class OrderRequest(BaseModel):
    """Buy metal with a quote's price token: for a customer (B2B2C) or the partner's own wallet (B2B)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId = Field(description="the partner's unique order id: the idempotency key")
    price_token: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{32}$", description="from POST /quotes")]
    currency: Currency | None = Field(default=None, description="must match the quote's currency when given")
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=len(SKUS_FOR_SALE))]
    customer: CustomerIn | None = Field(default=None, description="absent: the order goes to the partner's wallet")

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> OrderRequest:
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear once in items")
        return self

    @property
    def mode(self) -> Literal["B2B", "B2B2C"]:
        return "B2B2C" if self.customer else "B2B"

    def purchase(self) -> Purchase:
        return Purchase.of(self.external_id, self.currency, self.items, self.customer)

    def to_minted(self) -> BuyRequest:
        customer = None
        if self.customer:
            customer = BuyerCustomer.model_validate(self.customer.model_dump())
        return BuyRequest(
            price_token=self.price_token,
            external_id=self.external_id,
            currency_code=self.currency,
            items=[OrderLine(sku=item.sku, amount=item.amount) for item in self.items],
            customer=customer,
        )
