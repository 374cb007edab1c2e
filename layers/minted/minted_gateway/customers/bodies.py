"""What the customer routes answer, as documented types for the OpenAPI document."""

from pydantic import BaseModel, Field

from minted_gateway.api.schemas import Number


class WalletBalanceBody(BaseModel):
    sku: str | None = Field(description="the metal (GAU, GAG, GPT, ...); null for a wallet that is not a metal")
    currency_code: str = Field(description="Minted's name for the wallet")
    currency_id: int | None = None
    is_cash: bool
    balance: Number = Field(description="grams held (a cash wallet: money)")
    blocked: Number = Field(description="blocked by Minted")
    soft_blocked: Number = Field(description="Minted's soft_blocked_amount")
    available: Number = Field(description="balance less blocked and soft_blocked, never below 0")


class BalancesBody(BaseModel):
    customer_external_id: str
    as_of: str = Field(description="when Minted was asked (balances are not cached)")
    balances: list[WalletBalanceBody]


class CustomerBody(BaseModel):
    """The customer as Minted returns it (personal data: shown to the caller, never stored or logged here)."""

    external_id: str
    account_type: str | None = None
    firstname: str | None = None
    middlename: str | None = None
    lastname: str | None = None
    email: str | None = None
    phone: str | None = None
    gender: str | None = None
    identity_number: str | None = None
    birthdate: str | None = Field(default=None, description="YYYY-MM-DD")
    tax_office: str | None = None
    wallets: list[WalletBalanceBody] = []


# What any route that calls Minted may answer when Minted or the credentials fail.
