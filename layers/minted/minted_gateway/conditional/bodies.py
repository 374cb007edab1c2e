"""What the conditional-order and price-alert routes answer: the documented type and its view."""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from minted_gateway.api.schemas import Number
from minted_gateway.api.views import timestamp
from minted_gateway.conditional.triggers import Trigger

_STATES = Literal["WAITING", "FIRED", "ORDERED", "FAILED", "TRIGGERED", "CANCELLED", "EXPIRED"]


class TriggerFailureBody(BaseModel):
    code: str = Field(description="as an order's error code: limit_exceeded, order_rejected, ...")
    message: str


class TriggerBody(BaseModel):
    id: str = Field(description="the partner's external_id for it")
    kind: Literal["order", "alert"]
    state: _STATES = Field(description="WAITING until a refresh crosses it; then FIRED (an order queued, an alert's "
                           "event on its way); an order: then ORDERED or FAILED; an alert: TRIGGERED once the bus "
                           "took its event; CANCELLED; EXPIRED (never fired)")  # fmt: skip
    sku: str
    currency: str
    price_side: Literal["buy", "sell"]
    direction: Literal["at_or_below", "at_or_above"]
    trigger_price: Number
    expires_at: str
    created_at: str
    side: Literal["buy", "sell"] | None = None
    amount: Number | None = None
    customer_external_id: str | None = None
    fired_at: str | None = None
    fired_price: Number | None = Field(default=None, description="the refreshed price that crossed the trigger")
    order_external_id: str | None = Field(
        default=None, description="the fired order's external_id (cond-<id>): GET /orders/{external_id} follows it"
    )
    order_state: str | None = None
    failure: TriggerFailureBody | None = None


def trigger_body(trigger: Trigger, now: float) -> dict[str, Any]:
    body = trigger.model_dump(
        mode="python", exclude={"trigger_id", "caller", "version", "expires_at", "state", "resend_at", "sends"}
    )
    return {
        "id": trigger.trigger_id,
        **body,
        "state": trigger.shown_state(now).value,
        # The API's one form of a time (api.views.timestamp): UTC, to the millisecond.
        "created_at": timestamp(trigger.created_at),
        "fired_at": timestamp(trigger.fired_at),
        "expires_at": timestamp(datetime.fromtimestamp(trigger.expires_at, UTC)),
    }
