"""What a partner sends to make a conditional (target-price) order or a price alert.

The id is the partner's (``external_id``), so that a retried POST makes the same trigger, not a
second one: the fired order's external_id is ``cond-<external_id>``, which is why it is 5 characters
shorter than an order's. A buy for a customer names them by ``customer_external_id`` only: nothing
personal waits in the table; when it fires, Minted's own record of the customer fills the buy.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator

from minted_gateway.conditional.triggers import Direction, PriceSide
from minted_gateway.errors import ExpiryOutOfRange
from minted_gateway.minted.models.base import EXTERNAL_ID_PATTERN, Currency
from minted_gateway.orders.requests import SIDE_DESCRIPTION, Side
from minted_gateway.validation import ExternalId, Grams, Instant, UnitPrice

# Safety bound (ours): a trigger waits at most this long; a longer wait is another trigger later.
MAX_WAIT_DAYS = 3660  # ten years
TriggerId = Annotated[str, StringConstraints(max_length=59, pattern=EXTERNAL_ID_PATTERN)]
_PRICE_SIDE = "which of Minted's prices is watched: buy (what a buy pays) or sell (what a sell gets)"
_DIRECTION = "at_or_below: fires when the price falls to trigger_price or under; at_or_above: rises to it or over"
_EXPIRES = "ISO 8601 with an offset; a refresh after it never fires the trigger (at most ten years ahead)"

CONDITIONAL_ORDER_EXAMPLES: list[JsonValue] = [
    {"external_id": "target-0001", "side": "buy", "sku": "GAU", "amount": 10, "trigger_price": 2800,
     "expires_at": "2035-12-31T23:59:59+03:00", "customer_external_id": "cust-0001"},
    {"external_id": "target-0002", "side": "sell", "sku": "GAG", "amount": 100, "trigger_price": 40,
     "expires_at": "2035-12-31T23:59:59+03:00", "customer_external_id": "cust-0001"},
]  # fmt: skip
PRICE_ALERT_EXAMPLES: list[JsonValue] = [
    {"external_id": "alert-0001", "sku": "GAU", "price_side": "buy", "direction": "at_or_below",
     "trigger_price": 2800, "expires_at": "2035-12-31T23:59:59+03:00"},
]  # fmt: skip


class _TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: TriggerId = Field(description="the partner's id for it (1-59 of A-Z a-z 0-9 . _ -); a retry "
                                   "with the same body answers the same trigger")  # fmt: skip
    sku: Literal["GAU", "GAG", "GPT"] = Field(description="GAU gold, GAG silver, GPT platinum")
    currency: Currency = Field(default=Currency.TRY, description="the prices' currency (the refresh's: TRY)")
    trigger_price: UnitPrice = Field(description="the price per gram that fires it")
    expires_at: Instant = Field(description=_EXPIRES)
    customer_external_id: ExternalId | None = Field(default=None, description="whose it is (absent: the partner's)")

    @field_validator("expires_at")
    @classmethod
    def _expires_with_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:  # a field's rule, so the error names expires_at, not the body
            raise ValueError("needs an offset (e.g. +03:00 or Z)")
        return value

    def check_expiry(self, now: datetime) -> None:
        """Against the clock (the use case's, not the schema's): ahead of now, within the safety bound."""
        if self.expires_at <= now:
            raise ExpiryOutOfRange(
                "expires_at has passed.", details=[{"field": "expires_at", "message": "in the past"}]
            )
        if (self.expires_at - now).days >= MAX_WAIT_DAYS:
            raise ExpiryOutOfRange(f"expires_at must be within {MAX_WAIT_DAYS} days (ten years).",
                                   details=[{"field": "expires_at", "message": "too far ahead"}])  # fmt: skip

    @property
    def expires_epoch(self) -> int:
        return int(self.expires_at.timestamp())


class ConditionalOrderIn(_TriggerIn):
    """Buy or sell ``amount`` grams once Minted's price crosses ``trigger_price``."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": CONDITIONAL_ORDER_EXAMPLES})

    side: Side = Field(default="buy", description=SIDE_DESCRIPTION)
    amount: Grams = Field(description="grams, more than 0, at most 3 decimals")
    price_side: PriceSide | None = Field(default=None, description=f"{_PRICE_SIDE}; default: the order's side")
    direction: Direction | None = Field(
        default=None, description=f"{_DIRECTION}; default: a buy waits for the price to fall, a sell for it to rise"
    )

    @property
    def watched(self) -> PriceSide:
        return self.price_side or self.side

    @property
    def when(self) -> Direction:
        return self.direction or ("at_or_below" if self.side == "buy" else "at_or_above")


class PriceAlertIn(_TriggerIn):
    """An event on the order-events bus once Minted's price crosses ``trigger_price``; no order."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": PRICE_ALERT_EXAMPLES})

    price_side: PriceSide = Field(default="buy", description=_PRICE_SIDE)
    direction: Direction = Field(description=_DIRECTION)
