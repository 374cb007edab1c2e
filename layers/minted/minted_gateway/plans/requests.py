"""What a partner sends to make or change a savings plan (POST /plans, PATCH /plans/{plan_id}).

A plan names its customer by ``customer_external_id`` only: each run reads the block Minted's Buy
requires from Minted's own record of the customer (Get Customer), sends it and keeps nothing of it,
so a plan holds no personal data.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from minted_gateway.minted.models.base import EXTERNAL_ID_PATTERN, Currency
from minted_gateway.orders.requests import DEFAULT_CURRENCY
from minted_gateway.plans.calendar import Calendar
from minted_gateway.validation import ExternalId, Flag, Grams, Money

# A plan's id is the partner's (so a retried POST makes no second plan); at most 40 characters, so
# each run's order id, plan-<plan_id>-<YYYY-MM-DD>, stays within the 64 an order id may have.
# A new plan's id is not dots alone: as a path segment "." and ".." name another path, so no client
# could reach the plan (found by a hostile-input review). PLAN_ID_PATTERN is what an id may be in a path
# or a cursor: a plan made before the rule keeps its id.
PLAN_ID_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"
PLAN_ID_MAX_LENGTH = 40
PlanId = Annotated[
    str,
    StringConstraints(pattern=EXTERNAL_ID_PATTERN, max_length=PLAN_ID_MAX_LENGTH),
    Field(
        description="the partner's id for the plan (1-40 of A-Z a-z 0-9 . _ -, not dots alone)", examples=["plan-0001"]
    ),
]

PLAN_EXAMPLES: list[JsonValue] = [
    {"plan_id": "plan-0001", "customer_external_id": "cust-0001", "sku": "GAU", "amount": 500, "currency": "TRY",
     "calendar": {"frequency": "monthly", "day_of_month": 5, "time": "09:00"}},
    {"plan_id": "plan-0002", "customer_external_id": "cust-0001", "sku": "GAG", "grams": 10, "currency": "TRY",
     "calendar": {"frequency": "weekly", "weekday": "monday"}},
]  # fmt: skip


class NewPlan(BaseModel):
    """Buy ``amount`` of money's worth, or ``grams``, of one metal for a customer on a calendar."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            # one of amount and grams has a value, the other none (absent or null), as _amount_or_grams says.
            # if/then/else rather than anyOf: code generators (openapi-python-client) drop an object whose
            # schema is an anyOf, and ignore if/then/else; schemathesis and validators read both the same.
            "if": {"required": ["amount"], "properties": {"amount": {"not": {"type": "null"}}}},
            "then": {"properties": {"grams": {"type": "null"}}},
            "else": {"required": ["grams"], "properties": {"grams": {"not": {"type": "null"}}}},
            "examples": PLAN_EXAMPLES,
        },
    )  # fmt: skip

    plan_id: PlanId
    customer_external_id: ExternalId = Field(description="the customer each run buys for (Minted must know them)")
    sku: Literal["GAU", "GAG", "GPT"] = Field(description="GAU gold, GAG silver, GPT platinum")
    amount: Money | None = Field(default=None, description="money to spend each run (or grams, not both)")
    grams: Grams | None = Field(default=None, description="grams to buy each run (or amount, not both)")
    currency: Currency = Field(default=DEFAULT_CURRENCY, description="the currency each run is priced in")
    calendar: Calendar

    @model_validator(mode="after")
    def _amount_or_grams(self) -> "NewPlan":
        if (self.amount is None) == (self.grams is None):
            raise ValueError("give amount (money) or grams, one of them")
        return self


class PlanChanges(BaseModel):
    """Any of: a new amount (or grams), a new calendar, ``paused`` true (pause) or false (resume)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "not": {
                "anyOf": [
                    {  # what _not_both says
                        "required": ["amount", "grams"],
                        "properties": {"amount": {"not": {"type": "null"}}, "grams": {"not": {"type": "null"}}},
                    },
                    {  # what _something says: nothing named, or only nulls, which keep what the plan has
                        "properties": {name: {"type": "null"} for name in ("amount", "grams", "calendar", "paused")}
                    },
                ]
            },
            "minProperties": 1,
            "examples": [{"paused": True}, {"amount": 750}, {"calendar": {"frequency": "monthly", "day_of_month": 31}}],
        },
    )

    amount: Money | None = Field(default=None, description="money each run from now on (a grams plan becomes money)")
    grams: Grams | None = Field(default=None, description="grams each run from now on (a money plan becomes grams)")
    calendar: Calendar | None = None
    paused: Flag | None = Field(default=None, description="true pauses the plan (no runs), false resumes it")

    @model_validator(mode="before")
    @classmethod
    def _something(cls, data: Any) -> Any:
        # Only nulls changed nothing but updated_at (found by a hostile-input review): refused as {} is.
        if isinstance(data, dict) and set(data) <= set(cls.model_fields) and all(v is None for v in data.values()):
            raise ValueError("name at least one of amount, grams, calendar, paused (null keeps what the plan has)")
        return data

    @model_validator(mode="after")
    def _not_both(self) -> "PlanChanges":
        if self.amount is not None and self.grams is not None:
            raise ValueError("give amount or grams, not both")
        return self


PlanStatus = Literal["active", "paused", "cancelled"]
