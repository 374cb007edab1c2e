"""Get order: GET /orders/{external_id}, and the workflow's ``get_order`` and ``record_failure`` tasks."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import json_response, new_resolver
from minted_gateway.api.schemas import MINTED_ERRORS, OrderBody, answers
from minted_gateway.api.views import order_view_body
from minted_gateway.observability import observability
from minted_gateway.validation import EXTERNAL_ID_PATTERN

logger, tracer, metrics = observability()
app = new_resolver(metrics)

ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, description="the partner's order id")]


@app.get(
    "/orders/<external_id>",
    summary="The order as the ledger records it, refreshed from Minted while it can still change",
    responses=answers(
        {200: ("The order", OrderBody)},
        {
            404: "Neither the ledger nor Minted knows this external_id",
            422: "The external_id is not a valid order id",
            **MINTED_ERRORS,
            503: "The ledger or Minted is unavailable",
        },
    ),
    tags=["orders"],
)
def get_order(external_id: ExternalIdPath) -> Response[str]:
    return json_response(200, _read(external_id))


def get_order_task(payload: dict[str, Any]) -> dict[str, Any]:
    return _read(str(payload.get("external_id", "")))


def record_failure_task(payload: dict[str, Any]) -> dict[str, Any]:
    """The workflow's failure path: note the failure on the order's ledger row."""
    external_id, error = str(payload.get("external_id", "")), str(payload.get("error") or "WorkflowFailed")
    result = runtime.record_workflow_failure()(external_id, error, str(payload.get("execution", "")))
    metrics.add_metric(name="WorkflowFailures", unit=MetricUnit.Count, value=1)
    logger.warning("buy workflow failed", extra={"external_id": external_id, "error": error, **result})
    return result


def _read(external_id: str) -> dict[str, Any]:
    view = runtime.get_order()(external_id)
    metrics.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=1)
    logger.info("order read", extra={"external_id": external_id, "refreshed": view.refreshed, "stale": view.stale})
    return order_view_body(view)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, app, {"get_order": get_order_task, "record_failure": record_failure_task})
