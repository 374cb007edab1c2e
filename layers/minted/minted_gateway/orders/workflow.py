"""The buy workflow's two ends in the layer: starting it (POST /orders/workflow) and recording its failure.

The execution is named after the order's external_id, so starting the same order twice is one
execution (Step Functions returns the running one for the same name and input) and one buy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from minted_gateway.errors import OrderConflict
from minted_gateway.minted.models import Currency
from minted_gateway.orders.ledger import LedgerConflict, OrderLedger
from minted_gateway.orders.place_order import OrderBook, utcnow
from minted_gateway.orders.requests import CustomerIn, ItemIn
from minted_gateway.prices.quotes import PriceGuard
from minted_gateway.validation import SKUS_FOR_SALE, ExternalId


class WorkflowRequest(BaseModel):
    """A buy with no quote yet: the workflow fixes the price, checks the guard, buys and follows it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId = Field(description="the order id; also the execution's name")
    currency: Currency = Currency.TRY
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=len(SKUS_FOR_SALE))]
    customer: CustomerIn | None = None
    guard: PriceGuard = PriceGuard()
    poll_interval_seconds: int = Field(default=2, ge=1, le=300, description="wait between order refreshes")
    max_polls: int = Field(default=30, ge=1, le=500, description="refreshes before giving up on a final status")

    def execution_input(self) -> dict[str, Any]:
        """JSON-ready, money and grams as decimal strings: the Lambda runtime would read numbers as floats."""
        order = self.model_dump(
            mode="json", include={"external_id", "currency", "items", "customer"}, exclude_none=True
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


class WorkflowEngine(Protocol):
    def start(self, name: str, execution_input: str) -> Execution:
        """Start, or return the execution with this name and the same input; raise OrderConflict otherwise."""


class StartBuyWorkflow:
    def __init__(self, engine: WorkflowEngine) -> None:
        self._engine = engine

    def __call__(self, request: WorkflowRequest) -> Execution:
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
        return Execution(name, arn, described["startDate"], described["status"])


class RecordWorkflowFailure:
    """Put the workflow's failure on the order's ledger row, when the order got that far."""

    def __init__(self, ledger: OrderLedger, *, now: Callable[[], datetime] = utcnow) -> None:
        self._ledger = ledger
        self._book = OrderBook(ledger, now)

    def __call__(self, external_id: str, error: str, execution: str) -> dict[str, Any]:
        for _ in range(3):  # another writer may move the row between the read and the write
            record = self._ledger.get(external_id)
            if record is None:
                return {"recorded": False, "reason": "no ledger row: the workflow failed before buying"}
            changes = {"workflow_error": error, "workflow_execution": execution}
            try:
                self._ledger.update(record, changes, self._book.entry(record.state, f"workflow failed: {error}"))
            except LedgerConflict:
                continue
            return {"recorded": True}
        return {"recorded": False, "reason": "the ledger row kept changing"}
