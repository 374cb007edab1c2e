"""The buy workflow's two ends in the layer: starting it (POST /orders/workflow) and recording its failure.

The execution is named after the order's external_id, so starting the same order twice is one
execution (Step Functions returns the running one for the same name and input) and one buy. An
external_id the ledger already holds for another order is refused before anything starts, and a
failed execution writes only on the ledger row it created itself (``workflow_owner``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from minted_gateway.errors import OrderConflict
from minted_gateway.minted.models import Currency
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.ledger import OrderLedger
from minted_gateway.orders.limits import PriceGuard
from minted_gateway.orders.place_order import OrderBook, new_record, utcnow
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.orders.requests import (
    SELLER_REFUSALS,
    SIDE_DESCRIPTION,
    CustomerIn,
    OrderItems,
    Purchase,
    Side,
    seller_id,
)
from minted_gateway.validation import ExternalId


class WorkflowRequest(BaseModel):
    """A buy with no quote yet: the workflow fixes the price, checks the guard, buys and follows it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "not": {"anyOf": SELLER_REFUSALS},
            "examples": [{"external_id": "monthly-plan-0001", "items": [{"sku": "GAU", "amount": 0.5}],
                          "guard": {"max_unit_price": 3500.00}, "poll_interval_seconds": 1}],
        },
    )  # fmt: skip

    external_id: ExternalId = Field(description="the order id; also the execution's name")
    side: Side = Field(default="buy", description=SIDE_DESCRIPTION)
    currency: Currency = Currency.TRY
    items: OrderItems
    customer: CustomerIn | None = None
    customer_external_id: ExternalId | None = Field(default=None, description="a sell's customer (instead of customer)")
    guard: PriceGuard = PriceGuard()
    poll_interval_seconds: int = Field(default=2, ge=1, le=300, description="wait between order refreshes")
    max_polls: int = Field(default=30, ge=1, le=500, description="refreshes before giving up on a final status")

    @model_validator(mode="after")
    def _names_its_seller(self) -> WorkflowRequest:
        seller_id(self.side, self.customer, self.customer_external_id)
        return self

    def purchase(self) -> Purchase:
        return Purchase.of(self.external_id, self.currency, self.items, self.customer, side=self.side,
                           customer_external_id=self.customer_external_id)  # fmt: skip

    def execution_input(self) -> dict[str, Any]:
        """JSON-ready, money and grams as decimal strings: the Lambda runtime would read numbers as floats."""
        order = self.model_dump(
            mode="json",
            include={"external_id", "side", "currency", "items", "customer", "customer_external_id"},
            exclude_none=True,
        )
        return {
            "order": order,
            "guard": self.guard.model_dump(mode="json", exclude_none=True),
            "poll": {"interval_seconds": self.poll_interval_seconds, "max_polls": self.max_polls},
            "polls": {"count": 0},
        }


@dataclass(frozen=True)
class Execution:
    name: str
    arn: str
    started_at: datetime
    status: str
    replayed: bool = False  # an execution started earlier for the same request
    error: str | None = None  # why it failed, once it has


class WorkflowEngine(Protocol):
    def start(self, name: str, execution_input: str) -> Execution:
        """Start, or return the execution with this name and the same input; raise OrderConflict otherwise."""


class StartBuyWorkflow:
    def __init__(self, engine: WorkflowEngine, ledger: OrderLedger, fingerprinter: Fingerprinter) -> None:
        self._engine = engine
        self._ledger = ledger
        self._fingerprinter = fingerprinter

    def __call__(self, request: WorkflowRequest) -> Execution:
        stored = self._ledger.get(request.external_id)
        if stored is not None and stored.request_hash != self._fingerprinter.purchase(request.purchase()):
            # Started anyway, it would fail on the buy step and must not touch that order's row.
            raise OrderConflict("This external_id was already used for a different order.")
        # Canonical text: the same request always gives the same input, so a restart is recognised.
        text = json.dumps(request.execution_input(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self._engine.start(request.external_id, text)


class StepFunctionsEngine:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, name: str, execution_input: str) -> Execution:
        try:
            started = self._client.start_execution(
                stateMachineArn=self._state_machine_arn, name=name, input=execution_input
            )
        except self._client.exceptions.ExecutionAlreadyExists:
            return self._existing(name, execution_input)
        # For a running execution with this name and input, Step Functions answers with that one.
        return Execution(name, started["executionArn"], started["startDate"], "RUNNING")

    def _existing(self, name: str, execution_input: str) -> Execution:
        arn = self._state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        described = self._client.describe_execution(executionArn=arn)
        if json.loads(described.get("input") or "null") != json.loads(execution_input):
            raise OrderConflict("A buy workflow with this external_id was started for a different order.")
        error = described.get("error") if described["status"] != "RUNNING" else None
        return Execution(name, arn, described["startDate"], described["status"], replayed=True, error=error)


class RecordWorkflowFailure:
    """Put the workflow's failure on the order's ledger row: the row this execution created, or a new
    NOT_PLACED one when it failed before buying, so that GET shows why. Never another order's row."""

    def __init__(
        self, ledger: OrderLedger, fingerprinter: Fingerprinter, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self._ledger = ledger
        self._fingerprinter = fingerprinter
        self._book = OrderBook(ledger, now)
        self._now = now

    def __call__(self, order: WorkflowRequest, error: str, execution: str) -> dict[str, Any]:
        changes = {"workflow_error": error, "workflow_execution": execution}
        note = f"workflow {execution} failed: {error}"
        stored = self._ledger.claim(self._not_placed(order, execution, changes, note))
        if stored is None:
            return {"recorded": True, "state": State.NOT_PLACED.value}
        if self._ledger.annotate(order.external_id, execution, changes, self._book.entry(stored.state, note)):
            return {"recorded": True, "state": stored.state.value}
        return {"recorded": False, "reason": "the order's ledger row belongs to another request"}

    def _not_placed(self, order: WorkflowRequest, execution: str, failure: dict[str, str], note: str) -> OrderRecord:
        stamp = self._now().isoformat()
        return new_record(order.purchase(), self._fingerprinter, stamp, note=note, state=State.NOT_PLACED,
                          workflow_owner=execution, **failure)  # fmt: skip
