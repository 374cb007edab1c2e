"""Price Fix and the price list (contract sections 1 and 3)."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from minted_gateway.minted.models.base import (
    Currency,
    ExternalId,
    MintedDateTime,
    MintedDecimal,
    MintedModel,
    NullAsFalse,
    _sku_from_product_id,
    each_readable,
    names_a_traded_metal,
)


class PriceFixRequest(MintedModel):
    type: Literal["digital"] = "digital"
    customer_external_id: ExternalId | None = None
    total: Annotated[Decimal, Field(gt=0)] | None = None  # ours, from a validated request: not bounded as text
    currency: Currency | None = None


class FixedPrice(MintedModel):
    currency_id: int | None = None
    product_id: int
    sku: str
    _sku = model_validator(mode="before")(_sku_from_product_id)
    spot_price: MintedDecimal
    buy_price: MintedDecimal
    sell_price: MintedDecimal
    buy_amount: MintedDecimal | None = None


class PriceFix(MintedModel):
    token: str
    expires_at: MintedDateTime
    expire_ttl: int
    is_total_price: Annotated[bool, NullAsFalse] = False
    total: MintedDecimal | None = None
    currency: Currency | None = None
    prices: Annotated[list[FixedPrice], each_readable(FixedPrice, must_read=names_a_traded_metal)]


class ProductPrice(MintedModel):
    product_id: int
    sku: str
    name: str | None = None
    currency: Currency
    spot_price: MintedDecimal
    buy_price: MintedDecimal
    sell_price: MintedDecimal
    updated_at: MintedDateTime
