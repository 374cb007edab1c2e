"""Quotes: Minted's Price Fix, which locks a price for about four minutes behind a token."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import InvalidInput, UpstreamUnexpected, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.base import Currency
from minted_gateway.minted.models.prices import PriceFix, PriceFixRequest
from minted_gateway.orders.limits import PriceGuard, line_total
from minted_gateway.orders.requests import SIDE_DESCRIPTION, ItemIn, Side
from minted_gateway.validation import ExternalId, Money

if TYPE_CHECKING:
    from collections.abc import Callable

    from minted_gateway.prices.quote_book import QuoteBook


def _never_null(schema: dict[str, Any]) -> None:
    """The document leaves ``null`` out of a field that may only be left out (_absent_not_null refuses it)."""
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    schema.pop("default", None)
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


class QuoteRequest(BaseModel):
    """Amount mode: ``items`` (grams per metal). Total mode: ``total`` money to spend on one ``sku``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # The document says what _one_mode enforces: not both modes, not neither complete mode, no sell by total.
        # (Written with "not" rather than oneOf, which code generators turn into an untyped body.)
        json_schema_extra={
            "not": {
                "anyOf": [
                    {"required": ["items", "total"]},
                    {"required": ["total", "side"], "properties": {"side": {"const": "sell"}}},
                    {
                        "not": {
                            "anyOf": [{"required": ["items"]}, {"required": ["total", "sku", "customer_external_id"]}]
                        }
                    },
                ]
            },
            # Swagger UI's default body, one mode only (a sample built from the properties would have both).
            "examples": [
                {"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]},
                {"currency": "TRY", "total": 1000, "sku": "GAU", "customer_external_id": "cust-0001"},
            ],
        },
    )

    currency: Currency = Currency.TRY
    side: Side = Field(default="buy", description=SIDE_DESCRIPTION)
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=3)] | None = Field(
        default=None, json_schema_extra=_never_null
    )
    total: Money | None = Field(default=None, json_schema_extra=_never_null)
    sku: Literal["GAU", "GAG", "GPT"] | None = Field(
        default=None, description="total mode: the metal to buy", json_schema_extra=_never_null
    )
    customer_external_id: ExternalId | None = Field(
        default=None,
        description="required by Minted in total mode; a sell for a customer names them here (Minted's Sell has no "
        "customer: the quote tells Minted whose wallet the sell moves)",
        json_schema_extra=_never_null,
    )

    @field_validator("items", "total", "sku", "customer_external_id", mode="before")
    @classmethod
    def _absent_not_null(cls, value: object) -> object:
        if value is None:  # runs only for a value that was sent: a default is not validated
            raise ValueError("leave the field out instead of sending null")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> QuoteRequest:
        if (self.items is None) == (self.total is None):
            raise ValueError("give either items (amount mode) or total (total mode)")
        if self.total is not None and (self.sku is None or self.customer_external_id is None):
            raise ValueError("total mode needs sku and customer_external_id")
        if self.total is not None and self.side == "sell":
            # Minted's Price Fix answers a total with the grams it buys (buy_amount), never with grams to sell.
            raise ValueError("total mode prices a buy; a sell quote names its items")
        return self


class _TaskOrder(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    customer_external_id: ExternalId | None = None  # a sell's customer (a buy's is held outside the execution)


class QuoteTask(BaseModel):
    """The buy workflow's quote step: the quote, the guard its caller set on the price, and the order."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    quote: QuoteRequest
    guard: PriceGuard | None = None
    order: _TaskOrder | None = None

    def request(self) -> QuoteRequest:
        """A sell for a customer names the customer in its Price Fix: Minted's Sell body has none (contract 5)."""
        seller = self.order.customer_external_id if self.order is not None else None
        if self.quote.side == "sell" and seller is not None and self.quote.customer_external_id is None:
            return self.quote.model_copy(update={"customer_external_id": seller})
        return self.quote


class MintedPriceFix(Protocol):
    def price_fix(self, request: PriceFixRequest) -> PriceFix: ...


class QuoteLine(NamedTuple):
    sku: str
    amount: Decimal
    unit_price: Decimal
    line_total: Decimal


class Quote(NamedTuple):
    side: str
    price_token: str
    expires_at: str
    expires_in_seconds: int
    currency: str
    mode: str
    lines: list[QuoteLine]
    total: Decimal


class CreateQuote:
    def __init__(self, minted: MintedPriceFix, quotes: Callable[[], QuoteBook | None] | None = None) -> None:
        self._minted = minted
        self._quotes = quotes

    def __call__(self, request: QuoteRequest, caller: Caller = PARTNER) -> Quote:
        if request.customer_external_id is not None:  # a quote in items names no one; one by total names a customer
            caller.act_for(request.customer_external_id)
        fix_request = PriceFixRequest(
            currency=request.currency, total=request.total, customer_external_id=request.customer_external_id
        )
        try:
            fix = self._minted.price_fix(fix_request)
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        prices = {p.sku: p for p in fix.prices}
        wanted = (
            [(item.sku, item.amount) for item in request.items]
            if request.items
            else [(request.sku, prices[request.sku].buy_amount if request.sku in prices else None)]
        )
        lines = []
        for sku, amount in wanted:
            price = prices.get(sku or "")
            if price is None or amount is None:
                raise InvalidInput(
                    "Minted did not price this metal.", details=[{"field": "sku", "message": "not priced"}]
                )
            unit_price = price.sell_price if request.side == "sell" else price.buy_price  # the price Minted locked
            try:
                money = line_total(amount, unit_price)
            except InvalidOperation:  # more digits than money has: Minted's answer is wrong, not the request
                raise UpstreamUnexpected("Minted quoted a price no order can be written with.") from None
            lines.append(QuoteLine(sku=price.sku, amount=amount, unit_price=unit_price, line_total=money))
        # Minted's own count, not expires_at against our clock: the two clocks need not agree.
        seconds = max(0, fix.expire_ttl)
        currency = str(fix.currency or request.currency)
        quotes = self._quotes() if self._quotes is not None else None
        if quotes is not None:  # so that an order in another currency than this quote's is refused
            quotes.remember(fix.token, currency, seconds)
        return Quote(
            side=request.side,
            price_token=fix.token,
            expires_at=fix.expires_at.isoformat(),
            expires_in_seconds=seconds,
            currency=currency,
            mode="total" if request.total is not None else "amount",
            lines=lines,
            total=sum((line.line_total for line in lines), Decimal(0)),
        )
