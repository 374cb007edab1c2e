"""Customers and their balances (contract section 7)."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from minted_gateway.minted.models.base import (
    Birthdate,
    CustomerPageId,
    MintedDecimal,
    MintedModel,
    Name,
    NullAsEmpty,
    NullAsFalse,
    NullAsZero,
    NumberAsText,
    OptionalText,
    _empty_as_none,
    each_readable,
    names_a_traded_metal,
)


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
    is_cash: Annotated[bool, NullAsFalse] = False
    balance: MintedDecimal
    blocked: Annotated[MintedDecimal, NullAsZero] = Decimal(0)
    real_balance: MintedDecimal | None = None
    soft_blocked_amount: Annotated[MintedDecimal, NullAsZero] = Decimal(0)


def a_metal_wallet(entry: object) -> bool:
    """A wallet of a metal we sell: the customer's balances are nothing without it."""
    return names_a_traded_metal(entry, key="currency_code")


class Customer(MintedModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: Annotated[str, NumberAsText]
    firstname: OptionalText = Field(default=None, repr=False)
    middlename: OptionalText = Field(default=None, repr=False)
    lastname: OptionalText = Field(default=None, repr=False)
    email: OptionalText = Field(default=None, repr=False)
    phone: Annotated[OptionalText, NumberAsText] = Field(default=None, repr=False)
    gender: OptionalText = None
    identity_number: Annotated[OptionalText, NumberAsText] = Field(default=None, repr=False)
    birthdate: Annotated[Birthdate | None, BeforeValidator(_empty_as_none)] = Field(default=None, repr=False)
    account_type: str | None = None
    tax_office: OptionalText = None
    wallets: Annotated[list[Balance], each_readable(Balance, must_read=a_metal_wallet), NullAsEmpty] = []
