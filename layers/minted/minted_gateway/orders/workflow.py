"""The buy workflow's two ends in the layer: starting it (POST /orders/workflow) and recording its failure.

The execution is named after the order's external_id, so starting the same order twice is one
execution (Step Functions returns the running one for the same name and input) and one buy. An
external_id the ledger already holds for another order is refused before anything starts, and a
failed execution writes only on the ledger row it created itself (``workflow_owner``).

The execution carries no personal data: a buy's customer is held outside it (workflow_customers.py)
and a sell's is named by its external_id only.
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator, model_validator

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import OrderConflict, WorkflowNotStarted, WorkflowUnavailable
from minted_gateway.minted.models.base import Currency
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.ledger import OrderLedger
from minted_gateway.orders.limits import PriceGuard
from minted_gateway.orders.order_book import OrderBook, utcnow
from minted_gateway.orders.place_order import new_record
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
from minted_gateway.orders.workflow_customers import HELD, OPEN_STATES, WorkflowCustomers
from minted_gateway.validation import GATEWAY_ORDER_ID_SCHEMA, ExternalId, WholeNumber

CALLER_KEY = "caller"  # the execution input's caller of POST /orders/workflow: the row its buy claims records it

_SELL: JsonValue = {"required": ["side"], "properties": {"side": {"const": "sell"}}}


def _guard_names(*fields: str) -> JsonValue:
    """A guard that sets any of ``fields`` (null is not set)."""
    return {"required": ["guard"], "properties": {"guard": {"anyOf": [
        {"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in fields]}}}  # fmt: skip


# A guard field for the other side would be ignored in silence: refused, as the OpenAPI document says.
GUARD_REFUSALS: list[JsonValue] = [
    {"allOf": [_SELL, _guard_names("max_unit_price", "max_total")]},
    {"allOf": [{"not": _SELL}, _guard_names("min_unit_price")]},
]


class WorkflowRequest(BaseModel):
    """A buy with no quote yet: the workflow fixes the price, checks the guard, buys and follows it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "not": {"anyOf": [*SELLER_REFUSALS, *GUARD_REFUSALS]},
            "examples": [{"external_id": "monthly-plan-0001", "items": [{"sku": "GAU", "amount": 0.5}],
                          "guard": {"max_unit_price": 3500.00}, "poll_interval_seconds": 1}],
        },
    )  # fmt: skip

    external_id: ExternalId = Field(
        description="the order id; also the execution's name (not cond- or plan-, the gateway's own)",
        json_schema_extra=GATEWAY_ORDER_ID_SCHEMA,
    )
    side: Side = Field(default="buy", description=SIDE_DESCRIPTION)
    currency: Currency = Currency.TRY
    items: OrderItems
    customer: CustomerIn | None = None
    customer_external_id: ExternalId | None = Field(default=None, description="a sell's customer (instead of customer)")
    guard: PriceGuard = PriceGuard()
    poll_interval_seconds: WholeNumber = Field(default=2, ge=1, le=300, description="wait between order refreshes")
    max_polls: WholeNumber = Field(default=30, ge=1, le=500, description="refreshes before giving up on a final status")

    @field_validator("guard")
    @classmethod
    def _guard_for_its_side(cls, guard: PriceGuard, info: ValidationInfo) -> PriceGuard:
        side = info.data.get("side", "buy")
        other = ("max_unit_price", "max_total") if side == "sell" else ("min_unit_price",)
        set_here = [name for name in other if getattr(guard, name) is not None]
        if set_here:
            takes = "min_unit_price" if side == "sell" else "max_unit_price and max_total"
            raise ValueError(f"{', '.join(set_here)} does not apply to a {side}; a {side}'s guard takes {takes}")
        return guard

    @model_validator(mode="after")
    def _names_its_seller(self) -> "WorkflowRequest":
        seller_id(self.side, self.customer, self.customer_external_id)
        return self

    def purchase(self) -> Purchase:
        return Purchase.of(self.external_id, self.currency, self.items, self.customer, side=self.side,
                           customer_external_id=self.customer_external_id)  # fmt: skip

    @property
    def held_customer(self) -> CustomerIn | None:
        """The customer to hold outside the execution: a buy's. A sell names its customer by id only."""
        return self.customer if self.side == "buy" else None

    def execution_input(self, customer_held: str | None = None) -> dict[str, Any]:
        """JSON-ready, money and grams as decimal strings: the Lambda runtime would read numbers as floats.

        No personal data: a buy's customer is ``customer_held`` (the digest of the customer held for
        the tasks), a sell's customer its external_id."""
        order = self.model_dump(
            mode="json", include={"external_id", "side", "currency", "items", "customer_external_id"}, exclude_none=True
        )
        seller = self.purchase().seller
        if seller is not None:
            order["customer_external_id"] = seller
        if self.held_customer is not None:
            if customer_held is None:
                raise ValueError("a buy for a customer starts with the digest of the customer it holds")
            order[HELD] = customer_held
        return {
            "order": order,
            "guard": self.guard.model_dump(mode="json", exclude_none=True),
            "poll": {"interval_seconds": self.poll_interval_seconds, "max_polls": self.max_polls},
            "polls": {"count": 0},
        }


class Execution(NamedTuple):
    name: str
    arn: str
    started_at: datetime
    status: str
    replayed: bool = False  # an execution started earlier for the same request
    error: str | None = None  # why it failed, once it has


class WorkflowEngine(Protocol):
    def start(self, name: str, execution_input: str) -> Execution:
        """Start, or return the execution with this name and the same input; raise OrderConflict otherwise,
        WorkflowNotStarted when nothing was started, WorkflowUnavailable when that is not known."""


class StartBuyWorkflow:
    def __init__(
        self, engine: WorkflowEngine, ledger: OrderLedger, fingerprinter: Fingerprinter, customers: WorkflowCustomers
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._fingerprinter = fingerprinter
        self._customers = customers

    def __call__(self, request: WorkflowRequest, caller: Caller = PARTNER) -> Execution:
        """Start the workflow once per external_id; ``caller`` goes with it, for the row its buy claims."""
        caller.act_for(request.purchase().customer_external_id)
        stored = self._ledger.get(request.external_id)
        if stored is not None and stored.request_hash != self._fingerprinter.purchase(request.purchase()):
            # Started anyway, it would fail on the buy step and must not touch that order's row.
            raise OrderConflict("This external_id was already used for a different order.")
        if stored is not None and stored.workflow_owner is None and stored.state not in OPEN_STATES:
            # This order, placed directly and at Minted already: a workflow could only fail on its buy step,
            # which settles a row only for the execution that made it (found by a hostile-input review).
            raise OrderConflict("This order was placed by POST /orders; GET /orders/{external_id} follows it.")
        customer, digest, held_here = request.held_customer, None, False
        if customer is not None:
            digest = self._customers.digest(customer)
            if stored is None or stored.state in OPEN_STATES:  # once Minted has the order, nothing needs it
                # Held before the execution starts: its buy task must find it. The longest the workflow
                # can take to its last poll, after which no task reads it.
                held_here = self._customers.hold(
                    request.external_id, customer, request.poll_interval_seconds * request.max_polls
                )
        # Canonical text: the same request always gives the same input, so a restart is recognised.
        execution_input = {**request.execution_input(digest), CALLER_KEY: _recorded(caller)}
        text = json.dumps(execution_input, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            execution = self._engine.start(request.external_id, text)
        except (OrderConflict, WorkflowNotStarted):
            if held_here:  # no execution will read it (found by a security review: it stayed for its 43 h)
                self._customers.release(request.external_id)
            raise
        # WorkflowUnavailable: it may have started, and its buy reads the customer; the hold ends at its expiry.
        if customer is not None and execution.status != "RUNNING":
            self._customers.release(request.external_id)  # an ended execution reads nothing more
        return execution


UNKNOWN_START = "Step Functions did not say whether the workflow started; the same request again finds or starts it."


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
        except ClientError as exc:
            # A first answer below 500 (a limit, a missing state machine or permission) started nothing. A 5xx
            # may have started it, and so may an earlier attempt of botocore's retries (found by a code review).
            metadata = exc.response.get("ResponseMetadata", {})
            if int(metadata.get("HTTPStatusCode") or 500) < 500 and not metadata.get("RetryAttempts"):
                raise WorkflowNotStarted("Step Functions did not start the workflow; try again later.",
                                         retry_after=2) from None  # fmt: skip
            raise WorkflowUnavailable(UNKNOWN_START, retry_after=2) from None
        except BotoCoreError:  # no answer at all
            raise WorkflowUnavailable(UNKNOWN_START, retry_after=2) from None
        # For a running execution with this name and input, Step Functions answers with that one.
        return Execution(name, started["executionArn"], started["startDate"], "RUNNING")

    def _existing(self, name: str, execution_input: str) -> Execution:
        arn = self._state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        described = self._client.describe_execution(executionArn=arn)
        if _the_order(described.get("input")) != _the_order(execution_input):
            raise OrderConflict("A buy workflow with this external_id was started for a different order.")
        error = described.get("error") if described["status"] != "RUNNING" else None
        return Execution(name, arn, described["startDate"], described["status"], replayed=True, error=error)


def _recorded(caller: Caller) -> dict[str, Any]:
    recorded = caller.recorded()
    return recorded.model_dump(exclude_none=True) if recorded else {}


def _the_order(execution_input: str | None) -> Any:
    """What an execution was started for: its caller is not part of it (the same order started again by
    another caller is the same order)."""
    loaded = json.loads(execution_input or "null")
    return {k: v for k, v in loaded.items() if k != CALLER_KEY} if isinstance(loaded, dict) else loaded


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

    def __call__(
        self,
        order: WorkflowRequest,
        error: str,
        execution: str,
        caller: Caller = PARTNER,
        *,
        customer_known: bool = True,
    ) -> dict[str, Any]:
        """``customer_known=False``: the order's customer is no longer held, so no row can be made for
        it (its fingerprint would be another order's); a row this execution made is still noted."""
        changes = {"workflow_error": error, "workflow_execution": execution}
        note = f"workflow {execution} failed: {error}"
        if customer_known:
            stored = self._ledger.claim(self._not_placed(order, execution, changes, note, caller))
        else:
            stored = self._ledger.get(order.external_id)
            if stored is None:
                return {"recorded": False, "reason": "no ledger row, and the order's customer is no longer held"}
        if stored is None:
            return {"recorded": True, "state": State.NOT_PLACED.value}
        if self._ledger.annotate(order.external_id, execution, changes, self._book.entry(stored.state, note)):
            return {"recorded": True, "state": stored.state.value}
        return {"recorded": False, "reason": "the order's ledger row belongs to another request"}

    def _not_placed(
        self, order: WorkflowRequest, execution: str, failure: dict[str, str], note: str, caller: Caller
    ) -> OrderRecord:
        stamp = self._now().isoformat()
        return new_record(order.purchase(), self._fingerprinter, stamp, note=note, state=State.NOT_PLACED,
                          workflow_owner=execution, caller=caller.recorded(), **failure)  # fmt: skip
