"""Prices: GET /prices, POST /quotes, the workflow's ``quote`` task and the scheduled refresh."""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import json_response, request_caller
from minted_gateway.api.views import prices_body, quote_body
from minted_gateway.caller import PARTNER, Caller, Scope, requires
from minted_gateway.errors import GatewayError
from minted_gateway.minted.models import Currency
from minted_gateway.observability import observability, with_lambda_context
from minted_gateway.validation import TASK_INPUT

if TYPE_CHECKING:
    from minted_gateway.api.router import Router
    from minted_gateway.orders.limits import PriceGuard
    from minted_gateway.prices.quotes import QuoteRequest

logger, tracer, metrics = observability()
# The triggers' check's counts worth a metric: hand-offs sent again (one was lost), and what is still not.
_TRIGGER_METRICS = {"orders_resent": "FiredOrdersResent", "alerts_redelivered": "PriceAlertsRedelivered",
                    "alerts_undelivered": "PriceAlertsUndelivered",
                    "fired_orders_abandoned": "FiredOrdersAbandoned"}  # fmt: skip


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: a task or a schedule never imports the Event Handler."""
    from minted_gateway.api.router import Body, Query, Response, Router, imported  # noqa: PLC0415
    from minted_gateway.api.schemas import CUSTOMER_MISMATCH, MINTED_ERRORS, answers, documented  # noqa: PLC0415

    PricesBody, QuoteBody = documented(  # noqa: N806 - classes, named for the document
        "minted_gateway.prices.bodies", "PricesBody", "QuoteBody"
    )  # made when the OpenAPI document is written, never on a request

    app = Router(metrics)

    @app.get(
        "/prices",
        security=requires(Scope.PRICES_READ),
        summary="The latest price per metal, with its age; refreshed from Minted when older than the limit",
        responses=answers(
            {200: ("Prices", PricesBody)},
            {
                422: "Unknown currency",
                **MINTED_ERRORS,
                503: "No cached prices and Minted is unavailable",
            },
        ),
        tags=["prices"],
    )
    def get_prices(currency: Annotated[Currency, Query()] = Currency.TRY) -> Response[str]:
        view = runtime.get_prices()(currency.value)
        metrics.add_metric(name="PriceAgeSeconds", unit=MetricUnit.Seconds, value=view.age_seconds)
        return json_response(200, prices_body(view))

    @app.post(
        "/quotes",
        security=requires(Scope.ORDERS_WRITE),
        summary="Lock a price for about four minutes: amount mode (items) or total mode (money to spend)",
        responses=answers(
            {201: ("A quote with its price token", QuoteBody)},
            {
                403: f"{CUSTOMER_MISMATCH} (a quote by total names its customer)",
                415: "The body is not JSON",
                422: "Invalid input",
                **MINTED_ERRORS,
            },
        ),
        tags=["prices"],
        # The quote's request, limits and order models are made on its own first request, not on GET /prices'.
        types=imported("minted_gateway.prices.quotes", "QuoteRequest"),
    )
    def post_quote(quote: Annotated["QuoteRequest", Body()]) -> Response[str]:
        return json_response(201, _quote(quote, caller=request_caller(app)))

    return app


class RefreshTask(BaseModel):
    """The schedule's refresh: EventBridge's event (no currency) or ``{"action": "refresh_prices", ...}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    currency: Currency | None = None


def quote_task(payload: dict[str, Any]) -> dict[str, Any]:
    """The workflow's price fix; with a ``guard``, a price above it raises PriceGuardExceeded."""
    # Imported here: the scheduled refresh, which shares this function, never loads the quote's request,
    # limits and order models (its cold start).
    from minted_gateway.orders.limits import PriceGuard  # noqa: PLC0415
    from minted_gateway.prices.quotes import QuoteTask  # noqa: PLC0415

    task = QuoteTask.model_validate(payload, context=TASK_INPUT)
    return _quote(task.request(), task.guard or PriceGuard())


def _quote(request: "QuoteRequest", guard: "PriceGuard | None" = None, caller: Caller = PARTNER) -> dict[str, Any]:
    quote = runtime.create_quote()(request, caller)
    metrics.add_metric(name="QuotesCreated", unit=MetricUnit.Count, value=1)
    if guard is not None:
        guard.check(quote)
    return quote_body(quote)


def refresh_task(payload: dict[str, Any]) -> dict[str, Any]:
    currency = RefreshTask.model_validate(payload).currency or Currency.TRY
    result = runtime.refresh_prices()(currency.value)
    metrics.add_metric(name="PriceRefreshes", unit=MetricUnit.Count, value=1)
    if result["previous_age_seconds"] is not None:  # how old the cache had grown: alarms when refreshes stop
        metrics.add_metric(name="PriceAgeSeconds", unit=MetricUnit.Seconds, value=result["previous_age_seconds"])
    logger.info("prices refreshed", extra={"currency": currency.value, "stored": result["stored"]})
    for key, metric in _TRIGGER_METRICS.items():  # the triggers' hand-offs that were lost, or are
        if result.get(key):
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result[key])
    try:  # Minted's order statuses ride along; a failure here must not fail the price refresh
        result.update(runtime.refresh_order_statuses()())
    except GatewayError as exc:
        logger.warning("order statuses not refreshed", extra={"error": exc.code})
    return result


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, http_api, {"quote": quote_task, "refresh_prices": refresh_task})
