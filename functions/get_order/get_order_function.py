"""Get order: GET /orders/{external_id}, the order history GET /orders, and the workflow's ``get_order`` task."""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, ValidationError

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import digits_only, invalid_input, json_response, request_caller
from minted_gateway.api.views import foreign_error, foreign_response, order_view_body, orders_page_body
from minted_gateway.caller import PARTNER, Caller, Scope, requires
from minted_gateway.minted.models import EXTERNAL_ID_MAX_LENGTH, EXTERNAL_ID_PATTERN
from minted_gateway.observability import observability, with_lambda_context
from minted_gateway.orders.get_order import OrderView
from minted_gateway.orders.history import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT, HistoryQuery
from minted_gateway.orders.record import State
from minted_gateway.validation import ExternalId, Instant

if TYPE_CHECKING:
    from minted_gateway.api.router import Router

logger, tracer, metrics = observability()


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: a task or a schedule never imports the Event Handler."""
    from minted_gateway.api.router import Path, Query, Response, Router  # noqa: PLC0415
    from minted_gateway.api.schemas import MINTED_ERRORS, answers, documented  # noqa: PLC0415

    OrderBody, OrdersPageBody = documented(  # noqa: N806 - classes, named for the document
        "minted_gateway.orders.bodies", "OrderBody", "OrdersPageBody"
    )  # made when the OpenAPI document is written, never on a request

    app = Router(metrics)

    ExternalIdPath = Annotated[  # noqa: N806 - a type alias
        str,
        Path(
            pattern=EXTERNAL_ID_PATTERN,
            max_length=EXTERNAL_ID_MAX_LENGTH,
            description="the partner's order id",
            examples=["my-first-order"],
        ),
    ]

    @app.get(
        "/orders",
        security=requires(Scope.ORDERS_READ),
        summary="Order history from the ledger: newest first, filtered, a page at a time",
        responses=answers(
            {200: ("A page of orders; next_cursor fetches the next", OrdersPageBody)},
            {
                422: "A filter, the limit or the cursor is not valid (error.details names it)",
                503: "The ledger is unavailable",
            },
        ),
        tags=["orders"],
    )
    def list_orders(
        *,
        customer_external_id: Annotated[
            str | None,
            Query(pattern=EXTERNAL_ID_PATTERN, max_length=EXTERNAL_ID_MAX_LENGTH, description="a customer's orders"),
        ] = None,
        wallet: Annotated[Literal["partner"] | None, Query(description="partner: the partner wallet's orders")] = None,
        side: Annotated[Literal["buy", "sell"] | None, Query()] = None,
        state: Annotated[State | None, Query(description="the ledger's state")] = None,
        status: Annotated[str | None, Query(min_length=1, max_length=64, description="Minted's status name")] = None,
        from_: Annotated[
            Instant | None, Query(alias="from", description="order time at or after, ISO 8601 with offset")
        ] = None,
        to: Annotated[Instant | None, Query(description="order time at or before, ISO 8601 with offset")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="orders per page")] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(max_length=MAX_CURSOR_CHARS, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the last page"),
        ] = None,
    ) -> Response[str]:
        # The resolver reads "10.0", " 5" or "1_0" as an integer (pydantic's lax mode): the text must be digits.
        digits_only("limit", app.current_event.get_query_string_value("limit"))
        params = {"customer_external_id": customer_external_id, "wallet": wallet, "side": side, "state": state,
                  "status": status, "from": from_, "to": to, "limit": limit, "cursor": cursor}  # fmt: skip
        try:
            query = HistoryQuery.model_validate({name: value for name, value in params.items() if value is not None})
        except ValidationError as exc:
            # Named as the router names a query's problems (query.from), not by the model's field alone.
            errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
            raise invalid_input("The query is not valid; see details.", errors) from None
        page = runtime.list_orders()(query, request_caller(app))
        metrics.add_metric(name="OrderPagesRead", unit=MetricUnit.Count, value=1)
        return json_response(200, orders_page_body(page, query.limit))

    @app.get(
        "/orders/<external_id>",
        security=requires(Scope.ORDERS_READ),
        summary="The order as the ledger records it, refreshed from Minted while it can still change",
        responses=answers(
            {200: ("The order", OrderBody)},
            {
                404: "Neither the ledger nor Minted knows this external_id",
                409: "Minted holds a different order under this external_id (foreign_order; the ledger row in "
                "error.order)",
                422: "The external_id is not a valid order id",
                **MINTED_ERRORS,
                503: "The ledger or Minted is unavailable",
            },
        ),
        tags=["orders"],
    )
    def get_order(external_id: ExternalIdPath) -> Response[str]:
        caller = request_caller(app)
        view = _read(external_id, caller)
        if view.record is not None and view.record.state is State.FOREIGN:
            return foreign_response(view.record)
        return json_response(200, order_view_body(view, show_caller=not caller.bound))

    return app


class OrderTask(BaseModel):
    """The workflow's ``get_order`` task: read one order."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    external_id: ExternalId


def get_order_task(payload: dict[str, Any]) -> dict[str, Any]:
    view = _read(OrderTask.model_validate(payload).external_id)
    if view.record is not None and view.record.state is State.FOREIGN:
        raise foreign_error(view.record)
    return order_view_body(view)


def _read(external_id: str, caller: Caller = PARTNER) -> OrderView:
    view = runtime.get_order()(external_id, caller)
    metrics.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=1)
    if view.record is not None and view.record.state is State.FOREIGN:
        metrics.add_metric(name="OrdersForeign", unit=MetricUnit.Count, value=1)
    logger.info("order read", extra={"external_id": external_id, "refreshed": view.refreshed, "stale": view.stale})
    return view


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, http_api, {"get_order": get_order_task})
