"""Get order: GET /orders/{external_id}, and the workflow's ``get_order`` task."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import json_response, new_resolver
from minted_gateway.api.schemas import MINTED_ERRORS, OrderBody, answers
from minted_gateway.api.views import foreign_error, foreign_response, order_view_body
from minted_gateway.minted.models import EXTERNAL_ID_MAX_LENGTH, EXTERNAL_ID_PATTERN
from minted_gateway.observability import observability
from minted_gateway.orders.get_order import OrderView
from minted_gateway.orders.record import State
from minted_gateway.validation import ExternalId

logger, tracer, metrics = observability()
app = new_resolver(metrics)

ExternalIdPath = Annotated[
    str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=EXTERNAL_ID_MAX_LENGTH, description="the partner's order id")
]


@app.get(
    "/orders/<external_id>",
    summary="The order as the ledger records it, refreshed from Minted while it can still change",
    responses=answers(
        {200: ("The order", OrderBody)},
        {
            404: "Neither the ledger nor Minted knows this external_id",
            409: "Minted holds a different order under this external_id (foreign_order; the ledger row in error.order)",
            422: "The external_id is not a valid order id",
            **MINTED_ERRORS,
            503: "The ledger or Minted is unavailable",
        },
    ),
    tags=["orders"],
)
def get_order(external_id: ExternalIdPath) -> Response[str]:
    view = _read(external_id)
    if view.record is not None and view.record.state is State.FOREIGN:
        return foreign_response(view.record)
    return json_response(200, order_view_body(view))


class OrderTask(BaseModel):
    """The workflow's ``get_order`` task: read one order."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    external_id: ExternalId


def get_order_task(payload: dict[str, Any]) -> dict[str, Any]:
    view = _read(OrderTask.model_validate(payload).external_id)
    if view.record is not None and view.record.state is State.FOREIGN:
        raise foreign_error(view.record)
    return order_view_body(view)


def _read(external_id: str) -> OrderView:
    view = runtime.get_order()(external_id)
    metrics.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=1)
    if view.record is not None and view.record.state is State.FOREIGN:
        metrics.add_metric(name="OrdersForeign", unit=MetricUnit.Count, value=1)
    logger.info("order read", extra={"external_id": external_id, "refreshed": view.refreshed, "stale": view.stale})
    return view


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, app, {"get_order": get_order_task})
