"""What the order routes answer (POST /orders, GET /orders, GET /orders/{external_id}, POST /orders/workflow),
as documented types for the OpenAPI document; the views build the same shapes."""

from typing import Any

from pydantic import BaseModel, Field

from minted_gateway.api.schemas import Number


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


class WorkflowStartedBody(BaseModel):
    external_id: str
    execution_name: str
    execution_arn: str
    status: str
    started_at: str
    error: str | None = Field(default=None, description="why the execution failed, once it has")
