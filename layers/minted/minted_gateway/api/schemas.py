"""The API's answers as documented types, for the OpenAPI document (the views build the same shapes).

Schemathesis checks every answer against these in the tests, so the document cannot drift from
the behaviour. Money and grams are exact decimals sent as JSON numbers; a Step Functions task gets
them as strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

if TYPE_CHECKING:  # a request never imports the Event Handler; only the document reads these
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

Number = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "an exact decimal"})]


class ErrorDetail(BaseModel):
    field: str
    message: str
    upstream_message: str | None = Field(
        default=None, description="Minted's own text for the field, when Minted named it"
    )


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail | dict[str, Any]]
    details_omitted: int | None = None  # problems beyond the first few, counted but not listed
    upstream_message: str | None = Field(
        default=None, description="Minted's own words, in MintedLanguage (tr or en), when the refusal is Minted's"
    )
    order: dict[str, Any] | None = None  # a refused order, with its ledger row
    request_id: str | None = None  # also the X-Request-Id header and the log lines' correlation_id


class ErrorBody(BaseModel):
    error: ErrorInfo


class OrderLineBody(BaseModel):
    sku: str
    amount: Number
    unit_price: Number | None = None
    total: Number | None = None


class HistoryEntryBody(BaseModel):
    at: str
    state: str
    status: str | None = None
    note: str | None = None


class PlacedOrderBody(BaseModel):
    guid: str
    order_code: str | None = None
    status: str | None = None
    status_id: int | None = None


class CallerBody(BaseModel):
    sub: str | None = Field(default=None, description="the JWT's subject")
    client_id: str | None = Field(default=None, description="the JWT's client_id (or azp)")
    principal: str | None = Field(default=None, description="the IAM caller's ARN (AuthMode=IAM)")
    customer: str | None = Field(default=None, description="the customer the token was bound to (minted_customer)")


class PaymentBody(BaseModel):
    """A card order's payment as Minted reports it: no CVV, expiry or card holder, ever."""

    state: str | None = Field(default=None, description="Minted's payment state: success, pending, failed, ...")
    amount: Number | None = None
    commission: Number | None = Field(default=None, description="Minted's comission")
    error_code: str | None = Field(default=None, description="Minted's code when the payment failed")
    error_message: str | None = None
    card_number: str | None = Field(default=None, description="masked, e.g. 404809******7528")
    card_association: str | None = Field(default=None, description="e.g. Visa")


class CargoBody(BaseModel):
    cargo_tracking_number: str | None = None
    cargo_tracking_url: str | None = None


class OrderBody(BaseModel):
    external_id: str | None
    state: str | None
    side: str | None = Field(default=None, description="buy, sell or delivery")
    status: str | None
    status_read_at: str | None = Field(
        default=None, description="when the gateway last read status from Minted (null: not yet, or an older row)"
    )
    final: bool
    mode: str | None = None
    customer_external_id: str | None = None
    currency: str | None
    items: list[OrderLineBody]
    price: Number | None
    total: Number | None
    order_codes: list[str]
    guids: list[str]
    orders: list[PlacedOrderBody] = Field(default=[], description="each order Minted made for the buy, own status")
    order_at: str | None
    created_at: str | None = None
    updated_at: str | None = None
    history: list[HistoryEntryBody] = []
    rejection: dict[str, Any] | None = None
    payment_type: str | None = Field(default=None, description="card: paid by the customer's card")
    payment: PaymentBody | None = Field(default=None, description="a card order's payment, as Minted reports it")
    payment_cost: Number | None = Field(default=None, description="Minted's cost of the card payment")
    delivery: CargoBody | None = Field(default=None, description="a delivery's cargo, once Minted gives it")
    workflow_error: str | None = Field(default=None, description="why the buy workflow failed on this order")
    workflow_execution: str | None = Field(default=None, description="the buy workflow execution that failed")
    refreshed: bool | None = None
    stale: bool | None = None
    source: str | None = None
    caller: CallerBody | None = Field(
        default=None, description="who first placed it (GET /orders/{external_id}, for partner tokens only)"
    )


class OrdersPageBody(BaseModel):
    orders: list[OrderBody] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")
    limit: int


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


class LegalSummaryBody(BaseModel):
    type: str
    title: str
    version: str


class LegalListBody(BaseModel):
    documents: list[LegalSummaryBody]


class LegalDocumentBody(LegalSummaryBody):
    content: str
    pdf_url: str | None = None
    updated_at: str


class WorkflowStartedBody(BaseModel):
    external_id: str
    execution_name: str
    execution_arn: str
    status: str
    started_at: str
    error: str | None = Field(default=None, description="why the execution failed, once it has")


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
MINTED_ERRORS = {
    429: "Minted is rate limiting (Retry-After)",
    502: "Minted refused the partner's credentials, or answered in a way this route does not expect",
    503: "Minted is unavailable (Retry-After)",
}


# What API Gateway answers before any function runs (the local gateway answers the same, in the envelope).
GATE_ERRORS = {
    401: "No valid token (unauthorized): missing, expired, not the issuer's or not for this API",
    403: "The token lacks the route's scope (forbidden_scope), or IAM does not let the caller invoke it",
}
CUSTOMER_MISMATCH = "The token is bound to another customer (customer_mismatch)"


def answers(ok: dict[int, tuple[str, type[BaseModel]]], errors: dict[int, str]) -> dict[int, OpenAPIResponse]:
    """A route's ``responses``: its successes with their bodies, and its errors with the error body
    (the gate's 401 and 403 on every route, beside what the route itself may answer with them)."""
    documented: dict[int, Any] = {
        status: {"description": text, "content": {"application/json": {"model": model}}}
        for status, (text, model) in ok.items()
    }
    errors = {**errors, **{status: "; ".join(filter(None, (text, errors.get(status))))
                           for status, text in GATE_ERRORS.items()}}  # fmt: skip
    for status, text in errors.items():
        documented[status] = {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    return documented
