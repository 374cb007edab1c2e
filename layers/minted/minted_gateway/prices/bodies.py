"""What GET /prices and POST /quotes answer, as documented types for the OpenAPI document."""

from pydantic import BaseModel, Field

from minted_gateway.api.schemas import Number


class PriceBody(BaseModel):
    sku: str
    product_id: int
    name: str | None = None
    buy_price: Number
    sell_price: Number
    spot_price: Number
    for_sale: bool  # quotes and orders take GAU, GAG and GPT; Minted prices more (GPD, BGAU, BGAG)


class PricesBody(BaseModel):
    currency: str
    as_of: str
    age_seconds: int
    source: str
    refreshed: bool
    stale: bool
    prices: list[PriceBody]


class QuoteLineBody(BaseModel):
    sku: str
    amount: Number
    unit_price: Number
    line_total: Number


class QuoteBody(BaseModel):
    side: str = Field(description="buy (unit_price is Minted's buy price) or sell (its sell price)")
    price_token: str
    expires_at: str
    expires_in_seconds: int
    currency: str
    mode: str
    lines: list[QuoteLineBody]
    total: Number
