"""Conditional (target-price) orders and price alerts: POST /orders/conditional, GET and DELETE
/orders/conditional/{id}, POST /alerts, GET and DELETE /alerts/{id}.

A trigger waits until a price refresh crosses it (the prices function checks them); this function
only creates, shows and cancels them. Nothing personal is kept: a customer is named by id.
"""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
import time
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import REPLAY_HEADER, json_response, request_caller
from minted_gateway.caller import Scope, requires
from minted_gateway.conditional.bodies import trigger_body
from minted_gateway.conditional.requests import ConditionalOrderIn, PriceAlertIn
from minted_gateway.minted.models import EXTERNAL_ID_PATTERN
from minted_gateway.observability import observability, with_lambda_context

if TYPE_CHECKING:
    from minted_gateway.api.router import Router

logger, tracer, metrics = observability()


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event."""
    from minted_gateway.api.router import Body, Path, Response, Router  # noqa: PLC0415
    from minted_gateway.api.schemas import CUSTOMER_MISMATCH, answers  # noqa: PLC0415
    from minted_gateway.conditional.bodies import TriggerBody  # noqa: PLC0415

    app = Router(metrics)
    TriggerId = Annotated[  # noqa: N806 - a type alias
        str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=59, description="its external_id", examples=["target-0001"])
    ]
    created_errors = {
        403: CUSTOMER_MISMATCH,
        409: "This external_id holds a different conditional order or alert",
        415: "The body is not JSON",
        422: "Invalid input, expires_at in the past or more than ten years ahead (expiry_out_of_range), or the order "
        "would pass a per-order limit at its trigger price (limit_exceeded)",
        503: "The triggers table is unavailable (Retry-After)",
    }
    created: dict[int, tuple[str, type[BaseModel]]] = {
        201: ("Waiting", TriggerBody),
        200: ("The same request again: as it stands", TriggerBody),
    }
    not_found = {404: "No such one (or another customer's)", 503: "The triggers table is unavailable (Retry-After)"}
    cancel_errors = {**not_found, 409: "It no longer waits: it fired, expired or was settled (not_waiting)"}

    @app.post(
        "/orders/conditional",
        security=requires(Scope.ORDERS_WRITE),
        summary="A target-price order: buy or sell once Minted's price crosses trigger_price, before expires_at",
        responses=answers(created, created_errors),
        tags=["conditional orders"],
    )
    def post_conditional_order(order: Annotated[ConditionalOrderIn, Body()]) -> Response[str]:
        return _created(runtime.create_trigger()(order, request_caller(app)), "/orders/conditional")

    @app.get(
        "/orders/conditional/<trigger_id>",
        security=requires(Scope.ORDERS_READ),
        summary="A conditional order: waiting, or fired with its order's external_id (cond-<id>)",
        responses=answers({200: ("The conditional order", TriggerBody)}, not_found),
        tags=["conditional orders"],
    )
    def get_conditional_order(trigger_id: TriggerId) -> Response[str]:
        found = runtime.get_trigger("order")(trigger_id, request_caller(app))
        return json_response(200, trigger_body(found, time.time()))

    @app.delete(
        "/orders/conditional/<trigger_id>",
        security=requires(Scope.ORDERS_WRITE),
        summary="Cancel a conditional order while it waits (409 once it has fired)",
        responses=answers({200: ("Cancelled (again: the same answer)", TriggerBody)}, cancel_errors),
        tags=["conditional orders"],
    )
    def delete_conditional_order(trigger_id: TriggerId) -> Response[str]:
        cancelled = runtime.cancel_trigger("order")(trigger_id, request_caller(app))
        return json_response(200, trigger_body(cancelled, time.time()))

    @app.post(
        "/alerts",
        security=requires(Scope.ORDERS_WRITE),
        summary="A price alert: a PriceAlertTriggered event on the order-events bus once the price crosses",
        responses=answers(created, created_errors),
        tags=["price alerts"],
    )
    def post_alert(alert: Annotated[PriceAlertIn, Body()]) -> Response[str]:
        return _created(runtime.create_trigger()(alert, request_caller(app)), "/alerts")

    @app.get(
        "/alerts/<trigger_id>",
        security=requires(Scope.ORDERS_READ),
        summary="A price alert: waiting, triggered (with the price that crossed), cancelled or expired",
        responses=answers({200: ("The price alert", TriggerBody)}, not_found),
        tags=["price alerts"],
    )
    def get_alert(trigger_id: TriggerId) -> Response[str]:
        found = runtime.get_trigger("alert")(trigger_id, request_caller(app))
        return json_response(200, trigger_body(found, time.time()))

    @app.delete(
        "/alerts/<trigger_id>",
        security=requires(Scope.ORDERS_WRITE),
        summary="Cancel a price alert while it waits (409 once it has triggered)",
        responses=answers({200: ("Cancelled (again: the same answer)", TriggerBody)}, cancel_errors),
        tags=["price alerts"],
    )
    def delete_alert(trigger_id: TriggerId) -> Response[str]:
        cancelled = runtime.cancel_trigger("alert")(trigger_id, request_caller(app))
        return json_response(200, trigger_body(cancelled, time.time()))

    def _created(made: Any, base: str) -> Response[str]:
        trigger, new = made
        metrics.add_metric(name="TriggersCreated" if new else "TriggersReplayed", unit=MetricUnit.Count, value=1)
        headers = {"Location": f"{base}/{trigger.trigger_id}"}
        if not new:
            headers[REPLAY_HEADER] = "true"
        return json_response(201 if new else 200, trigger_body(trigger, time.time()), headers)

    return app


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, http_api, {})
