"""Buy: POST /orders, POST /orders/workflow, POST /deliveries and the workflow's ``place_order``,
``record_failure`` and ``release_customer`` tasks.

Places an order (a buy, a sell, a card buy, a delivery) once per external_id, directly or through the
buy workflow, and records a failed workflow on the order's ledger row (this function writes the
ledger's rows).
"""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, model_validator

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import REPLAY_HEADER, invalid_request, json_response, request_caller
from minted_gateway.api.views import foreign_error, outcome_response, outcome_task_result, workflow_started_body
from minted_gateway.caller import PARTNER, Caller, Scope, requires
from minted_gateway.errors import REJECTIONS, OrderRejected
from minted_gateway.observability import observability, with_lambda_context
from minted_gateway.orders.limits import LockedQuote, PricedOrder
from minted_gateway.orders.place_order import OrderOutcome
from minted_gateway.orders.record import State
from minted_gateway.orders.requests import CustomerIn, ItemIn, OrderRequest
from minted_gateway.validation import GATEWAY_ORDER_ID_RULE, TASK_INPUT, ExternalId, is_gateway_order_id

if TYPE_CHECKING:
    from minted_gateway.api.router import Router
    from minted_gateway.deliveries.requests import DeliveryIn
    from minted_gateway.orders.workflow import WorkflowRequest

logger, tracer, metrics = observability()
# A buy's customer and items are held by its request, its purchase and the workflow's models. pydantic builds
# a model's validator on first use and generates a nested model again inside each parent that holds it, unless
# the nested one is built already: built here first, the parents reuse theirs (about 8 ms of a buy's cold start).
CustomerIn.model_rebuild()
ItemIn.model_rebuild()
# What a buy's log line says: only SUBMITTED is a placed order.
OUTCOME_MESSAGES = {
    State.SUBMITTED: "order placed",
    State.REJECTED: "order rejected by Minted",
    State.UNKNOWN: "order outcome unknown: Minted's answer was lost, the next retry or GET looks it up",
    State.NOT_PLACED: "order not placed: Minted was not reached",
    State.RECEIVED: "order claimed, not yet sent",
}


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: a task or a schedule never imports the Event Handler."""
    from minted_gateway.api.router import Body, Response, Router, imported  # noqa: PLC0415
    from minted_gateway.api.schemas import CUSTOMER_MISMATCH, MINTED_ERRORS, answers, documented  # noqa: PLC0415

    OrderBody, WorkflowStartedBody = documented(  # noqa: N806 - classes, named for the document
        "minted_gateway.orders.bodies", "OrderBody", "WorkflowStartedBody"
    )  # made when the OpenAPI document is written, never on a request

    app = Router(metrics)

    @app.post(
        "/orders",
        security=requires(Scope.ORDERS_WRITE),
        summary="Buy metal with a quote's price token, once per external_id",
        responses=answers(
            {
                200: ("A replay (header Idempotent-Replayed) or a settled earlier attempt", OrderBody),
                201: ("Minted accepted the order", OrderBody),
                202: ("Sent, but Minted's answer was lost; GET the order to see it settled", OrderBody),
            },
            {
                403: f"Minted does not allow this partner to buy (stored, replayed); {CUSTOMER_MISMATCH}",
                409: "Another payload used this external_id, it is in progress (Retry-After), or Minted holds a "
                "different order under it (foreign_order, stored, replayed)",
                415: "The body is not JSON",
                422: "Invalid input, an expired quote, a quote in another currency, Minted refused the order or its "
                "card (card_declined: Minted's error_code in details; final), or the "
                "order would pass one of the partner's limits (limit_exceeded: nothing was sent; details name the "
                "limit and what remains)",
                **MINTED_ERRORS,
                503: "Minted or the ledger is unavailable; nothing was bought (Retry-After)",
            },
        ),
        tags=["orders"],
    )
    def post_order(order: Annotated[OrderRequest, Body()]) -> Response[str]:
        _partner_order_id(order.external_id)
        return outcome_response(_place(order, caller=request_caller(app)))

    @app.post(
        "/deliveries",
        security=requires(Scope.ORDERS_WRITE),
        summary="Deliver a customer's grams as bars or coins (Minted's Delivery - Create, paid from the partner's "
        "cash), once per external_id; GET /orders/{external_id} follows it to Completed",
        responses=answers(
            {
                200: ("A replay (header Idempotent-Replayed) or a settled earlier attempt", OrderBody),
                201: ("Minted accepted the delivery (side delivery, status Created)", OrderBody),
                202: ("Sent, but Minted's answer was lost; GET the order to see it settled", OrderBody),
            },
            {
                403: f"Minted does not allow this partner to deliver (stored, replayed); {CUSTOMER_MISMATCH}",
                409: "Another order used this external_id, it is in progress (Retry-After), or Minted holds a "
                "different order under it (foreign_order)",
                415: "The body is not JSON",
                422: "Invalid input (amount is whole grams), Minted refused the delivery (order_rejected: e.g. more "
                "than the customer's balance, details name amount), or Minted's record of a customer named by "
                "customer_external_id lacks what a delivery needs (customer_details_required)",
                **MINTED_ERRORS,
                503: "Minted or the ledger is unavailable; nothing was delivered (Retry-After)",
            },
        ),
        tags=["deliveries"],
        # A delivery's models (and Minted's) are made on its own first request, not on a buy's.
        types=imported("minted_gateway.deliveries.requests", "DeliveryIn"),
    )
    def post_delivery(delivery: Annotated["DeliveryIn", Body()]) -> Response[str]:
        _partner_order_id(delivery.external_id)
        outcome = runtime.create_delivery()(delivery, caller=request_caller(app))
        _count_and_log(outcome, delivery.external_id)
        return outcome_response(outcome)

    @app.post(
        "/orders/workflow",
        security=requires(Scope.ORDERS_WRITE),
        summary="Start the buy workflow: fix the price, check the guard, buy once, follow the order to its end",
        responses=answers(
            {
                202: (
                    "Started; the same request again answers with the same execution (header Idempotent-Replayed once "
                    "it has ended, with its error if it failed)",
                    WorkflowStartedBody,
                )
            },
            {
                403: CUSTOMER_MISMATCH,
                409: "This external_id belongs to a different order (in the ledger, or a workflow started for it), or "
                "this order was placed by POST /orders",
                415: "The body is not JSON",
                422: "Invalid input",
                503: "Step Functions is unavailable",
            },
        ),
        tags=["orders"],
        types=imported("minted_gateway.orders.workflow", "WorkflowRequest"),  # not made on a buy's cold start
    )
    def post_order_workflow(request: Annotated["WorkflowRequest", Body()]) -> Response[str]:
        _partner_order_id(request.external_id)
        execution = runtime.start_buy_workflow()(request, request_caller(app))
        metrics.add_metric(name="WorkflowStartRequests", unit=MetricUnit.Count, value=1)
        headers = {"Location": f"/orders/{request.external_id}"}
        if execution.replayed:
            headers[REPLAY_HEADER] = "true"
        return json_response(202, workflow_started_body(request, execution), headers)

    return app


class PlaceOrderTask(BaseModel):
    """The workflow's buy: the order, and beside it the price token the workflow fixed."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order: OrderRequest
    execution: str | None = None  # the workflow execution placing it: the row's owner
    quote: LockedQuote | None = None  # the prices its quote step locked: the limits value the order at them
    caller: Caller = PARTNER  # who started the workflow (POST /orders/workflow): the row records them

    def priced(self) -> PricedOrder | None:
        purchase = self.order.purchase()
        return self.quote.priced(purchase.side, purchase.currency.value) if self.quote else None

    @model_validator(mode="before")
    @classmethod
    def _token_into_the_order(cls, payload: Any) -> Any:
        if isinstance(payload, dict) and isinstance(payload.get("order"), dict) and "price_token" in payload:
            return {**payload, "order": {**payload["order"], "price_token": payload["price_token"]}}
        return payload


def place_order_task(payload: dict[str, Any]) -> dict[str, Any]:
    orders = runtime.workflow_task_orders()
    payload, held = orders.restore(payload)  # the customer, held outside the execution, back in memory
    if held:
        task = PlaceOrderTask.model_validate(payload, context=TASK_INPUT)
        outcome = _place(task.order, owner=task.execution, quote=task.priced(), caller=task.caller)
        orders.release_once_placed(payload["order"], outcome.record.state)
    else:  # a retry of this execution's buy whose answer was lost after Minted had the order
        outcome = OrderOutcome(orders.settled_by(str(payload["order"].get("external_id")), payload.get("execution")),
                               replayed=True)  # fmt: skip
    rejection = outcome.record.rejection
    if outcome.record.state is State.REJECTED and rejection is not None:
        raise REJECTIONS.get(rejection.code, OrderRejected)(rejection.message, details=rejection.details)
    if outcome.foreign:
        raise foreign_error(outcome.record)
    return outcome_task_result(outcome)


class RecordFailureTask(BaseModel):
    """The workflow's failure path: the order it was started with, its error and its execution's name."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order: "WorkflowRequest"  # completed on the task's first use (below): an HTTP buy never makes the workflow's
    error: str = "WorkflowFailed"
    execution: str = ""
    caller: Caller = PARTNER


def record_failure_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Note the failure on the row this execution owns (or make one), and let its customer go."""
    from minted_gateway.orders.workflow import WorkflowRequest  # noqa: F401, PLC0415 - resolves the annotation below

    RecordFailureTask.model_rebuild()  # reads "WorkflowRequest" from this frame; after the first call it does nothing
    orders = runtime.workflow_task_orders()
    payload, held = orders.restore(payload)
    task = RecordFailureTask.model_validate(payload, context=TASK_INPUT)
    result = runtime.record_workflow_failure()(task.order, task.error, task.execution, task.caller, customer_known=held)
    orders.forget(payload["order"])
    metrics.add_metric(name="WorkflowFailures", unit=MetricUnit.Count, value=1)
    logger.warning("buy workflow failed", extra={"external_id": task.order.external_id, "error": task.error, **result})
    return result


class ReleaseCustomerTask(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    external_id: ExternalId


def release_customer_task(payload: dict[str, Any]) -> dict[str, Any]:
    """The workflow's end: the customer held for its order is no longer needed."""
    task = ReleaseCustomerTask.model_validate(payload)
    runtime.workflow_task_orders().release(task.external_id)
    return {"released": True}


def _partner_order_id(external_id: str) -> None:
    """A partner's order may not take a name the gateway gives its own (validation.is_gateway_order_id).
    Checked here, not in the models: the plans and conditional orders place theirs through the same ones."""
    if is_gateway_order_id(external_id):
        raise invalid_request([{"loc": ("body", "external_id"), "msg": GATEWAY_ORDER_ID_RULE}])


def _place(
    order: OrderRequest, owner: str | None = None, quote: PricedOrder | None = None, caller: Caller = PARTNER
) -> OrderOutcome:
    outcome = runtime.place_order()(order, owner=owner, quote=quote, caller=caller)
    _count_and_log(outcome, order.external_id)
    return outcome


def _count_and_log(outcome: OrderOutcome, external_id: str) -> None:
    state = outcome.record.state
    # A replay is an answer, not another order: counting it as one would inflate the buys on every retry.
    name = "OrdersReplayed" if outcome.replayed else f"Orders{state.value.title()}"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    log = logger.warning if state in (State.UNKNOWN, State.NOT_PLACED) else logger.info
    log(OUTCOME_MESSAGES.get(state, "order recorded"), extra={"external_id": external_id, "state": state.value,
        "side": outcome.record.side, "replayed": outcome.replayed, "resolved": outcome.resolved})  # fmt: skip


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(
        event,
        context,
        http_api,
        {
            "place_order": place_order_task,
            "record_failure": record_failure_task,
            "release_customer": release_customer_task,
        },
    )
