"""Buy: POST /orders, POST /orders/workflow and the workflow's ``place_order`` task.

Places an order once per external_id, directly or through the buy workflow.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import json_response, new_resolver
from minted_gateway.api.schemas import MINTED_ERRORS, OrderBody, WorkflowStartedBody, answers
from minted_gateway.api.views import outcome_response, outcome_task_result, workflow_started_body
from minted_gateway.errors import REJECTIONS, OrderRejected
from minted_gateway.observability import observability
from minted_gateway.orders.place_order import OrderOutcome
from minted_gateway.orders.record import State
from minted_gateway.orders.requests import OrderRequest
from minted_gateway.orders.workflow import WorkflowRequest

logger, tracer, metrics = observability()
app = new_resolver(metrics)
# What a buy's log line says: only SUBMITTED is a placed order.
OUTCOME_MESSAGES = {
    State.SUBMITTED: "order placed",
    State.REJECTED: "order rejected by Minted",
    State.UNKNOWN: "order outcome unknown: Minted's answer was lost, the next retry or GET looks it up",
    State.NOT_PLACED: "order not placed: Minted was not reached",
    State.RECEIVED: "order claimed, not yet sent",
}


@app.post(
    "/orders",
    summary="Buy metal with a quote's price token, once per external_id",
    responses=answers(
        {
            200: ("A replay (header Idempotent-Replayed) or a settled earlier attempt", OrderBody),
            201: ("Minted accepted the order", OrderBody),
            202: ("Sent, but Minted's answer was lost; GET the order to see it settled", OrderBody),
        },
        {
            403: "Minted does not allow this partner to buy (stored, replayed)",
            409: "Another payload used this external_id, or it is in progress (Retry-After)",
            415: "The body is not JSON",
            422: "Invalid input, an expired quote, or Minted refused the order",
            **MINTED_ERRORS,
            503: "Minted or the ledger is unavailable; nothing was bought (Retry-After)",
        },
    ),
    tags=["orders"],
)
def post_order(order: Annotated[OrderRequest, Body()]) -> Response[str]:
    return outcome_response(_place(order))


@app.post(
    "/orders/workflow",
    summary="Start the buy workflow: fix the price, check the guard, buy once, follow the order to its end",
    responses=answers(
        {202: ("Started; the same request again answers with the same execution", WorkflowStartedBody)},
        {
            409: "A workflow with this external_id was started for a different order",
            415: "The body is not JSON",
            422: "Invalid input",
            503: "Step Functions is unavailable",
        },
    ),
    tags=["orders"],
)
def post_order_workflow(request: Annotated[WorkflowRequest, Body()]) -> Response[str]:
    execution = runtime.start_buy_workflow()(request)
    metrics.add_metric(name="WorkflowStartRequests", unit=MetricUnit.Count, value=1)
    return json_response(202, workflow_started_body(request, execution), {"Location": f"/orders/{request.external_id}"})


def place_order_task(payload: dict[str, Any]) -> dict[str, Any]:
    order = dict(payload.get("order") or {})
    if "price_token" in payload:  # the workflow passes the token it fixed beside the order
        order["price_token"] = payload["price_token"]
    outcome = _place(OrderRequest.model_validate(order))
    rejection = outcome.record.rejection
    if outcome.record.state is State.REJECTED and rejection is not None:
        raise REJECTIONS.get(rejection.code, OrderRejected)(rejection.message, details=rejection.details)
    return outcome_task_result(outcome)


def _place(order: OrderRequest) -> OrderOutcome:
    outcome = runtime.place_order()(order)
    metrics.add_metric(name=f"Orders{outcome.record.state.value.title()}", unit=MetricUnit.Count, value=1)
    state = outcome.record.state
    log = logger.warning if state in (State.UNKNOWN, State.NOT_PLACED) else logger.info
    log(OUTCOME_MESSAGES.get(state, "order recorded"), extra={"external_id": order.external_id, "state": state.value,
        "replayed": outcome.replayed, "resolved": outcome.resolved})  # fmt: skip
    return outcome


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, app, {"place_order": place_order_task})
