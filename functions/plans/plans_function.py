"""Savings plans: POST /plans, GET /plans, GET, PATCH and DELETE /plans/{plan_id}; the schedule's
``dispatch_plans`` (due plans onto the run queue); and the run queue's consumer (one run per message).

A run that must come again (its order not settled yet, a dependency down) is reported as a batch
item failure, so SQS delivers that message again and the others of its batch are done.
"""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import REPLAY_HEADER, digits_only, json_response, request_caller
from minted_gateway.caller import Scope, requires
from minted_gateway.errors import GatewayError
from minted_gateway.minted.models import EXTERNAL_ID_MAX_LENGTH, EXTERNAL_ID_PATTERN
from minted_gateway.observability import observability, with_lambda_context
from minted_gateway.plans import wiring
from minted_gateway.plans.engine import RunMessage, RunNotSettled
from minted_gateway.plans.requests import NewPlan, PlanChanges

if TYPE_CHECKING:
    from minted_gateway.api.router import Router

logger, tracer, metrics = observability()
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: the schedule and the queue never import the Event Handler."""
    from minted_gateway.api.router import Body, Path, Query, Response, Router  # noqa: PLC0415
    from minted_gateway.api.schemas import CUSTOMER_MISMATCH, answers  # noqa: PLC0415
    from minted_gateway.plans.views import PlanBody, PlansPageBody, page_body, view_body  # noqa: PLC0415

    app = Router(metrics)
    PlanIdPath = Annotated[  # noqa: N806 - a type alias
        str, Path(pattern=r"^[A-Za-z0-9._-]{1,40}$", description="the plan's id", examples=["plan-0001"])
    ]
    not_found = {404: "No plan has this plan_id (or it is another customer's)"}
    limit_text = (
        "Invalid input, or one run of the plan would pass a per-order limit (limit_exceeded; details name "
        "amount or grams and the limit)"
    )

    @app.post(
        "/plans",
        security=requires(Scope.PLANS_WRITE),
        summary="Make a savings plan: buy an amount of money's worth, or grams, of one metal for a customer on a "
        "calendar; each run is an ordinary order, once per period",
        tags=["plans"],
        responses=answers(
            {201: ("The plan, with its next run", PlanBody), 200: ("The same request again: the plan", PlanBody)},
            {403: CUSTOMER_MISMATCH, 409: "This plan_id names a different plan (plan_conflict)",
             415: "The body is not JSON", 422: limit_text, 503: "The plans table is unavailable"},
        ),
    )  # fmt: skip
    def create_plan(plan: Annotated[NewPlan, Body()]) -> Response[str]:
        view = wiring.plans().create(plan, request_caller(app))
        headers = {"Location": f"/plans/{plan.plan_id}"}
        if view.replayed:
            headers[REPLAY_HEADER] = "true"
        metrics.add_metric(name="PlansReplayed" if view.replayed else "PlansCreated", unit=MetricUnit.Count, value=1)
        return json_response(200 if view.replayed else 201, view_body(view), headers)

    @app.get(
        "/plans",
        security=requires(Scope.PLANS_READ),
        summary="A customer's plans, newest first, a page at a time",
        tags=["plans"],
        responses=answers(
            {200: ("A page of plans; next_cursor fetches the next", PlansPageBody)},
            {403: CUSTOMER_MISMATCH, 422: "customer_external_id is missing, or the limit or cursor is not valid",
             503: "The plans table is unavailable"},
        ),
    )  # fmt: skip
    def list_plans(
        *,
        customer_external_id: Annotated[
            str,
            Query(pattern=EXTERNAL_ID_PATTERN, max_length=EXTERNAL_ID_MAX_LENGTH,
                  description="whose plans (a customer-bound token: its own customer only)",
                  examples=["cust-0001"]),
        ],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="plans per page")] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Query(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$",
                                            description="next_cursor of the last page")] = None,
    ) -> Response[str]:  # fmt: skip
        digits_only("limit", app.current_event.get_query_string_value("limit"))
        page = wiring.plans().list(customer_external_id, limit, cursor, request_caller(app))
        return json_response(200, page_body(page))

    @app.get(
        "/plans/<plan_id>",
        security=requires(Scope.PLANS_READ),
        summary="A plan: its calendar, its next run and its newest runs (period, order, state)",
        tags=["plans"],
        responses=answers({200: ("The plan", PlanBody)},
                          {**not_found, 422: "The plan_id is not valid", 503: "The plans table is unavailable"}),
    )  # fmt: skip
    def get_plan(plan_id: PlanIdPath) -> Response[str]:
        return json_response(200, view_body(wiring.plans().get(plan_id, request_caller(app))))

    @app.patch(
        "/plans/<plan_id>",
        security=requires(Scope.PLANS_WRITE),
        summary="Change a plan's amount (or grams) or calendar, pause it (paused true) or resume it (paused false)",
        tags=["plans"],
        responses=answers(
            {200: ("The plan, changed", PlanBody)},
            {**not_found, 409: "The plan is cancelled (plan_conflict)", 415: "The body is not JSON",
             422: limit_text, 503: "The plans table is unavailable"},
        ),
    )  # fmt: skip
    def change_plan(plan_id: PlanIdPath, changes: Annotated[PlanChanges, Body()]) -> Response[str]:
        return json_response(200, view_body(wiring.plans().change(plan_id, changes, request_caller(app))))

    @app.delete(
        "/plans/<plan_id>",
        security=requires(Scope.PLANS_WRITE),
        summary="Cancel a plan: no further runs (a run already under way settles); the same request again is a no-op",
        tags=["plans"],
        responses=answers({200: ("The plan, cancelled", PlanBody)},
                          {**not_found, 422: "The plan_id is not valid", 503: "The plans table is unavailable"}),
    )  # fmt: skip
    def cancel_plan(plan_id: PlanIdPath) -> Response[str]:
        return json_response(200, view_body(wiring.plans().cancel(plan_id, request_caller(app))))

    return app


def dispatch_plans_task(payload: dict[str, Any]) -> dict[str, Any]:
    """The schedule's tick: ``time`` is the scheduled time (Scheduler's <aws.scheduler.scheduled-time>),
    so a late or replayed tick runs the periods of its own minute; without one, now."""
    raw = payload.get("time")
    now = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else datetime.now(UTC)
    result = wiring.dispatch_due_plans()(now if now.tzinfo else now.replace(tzinfo=UTC))
    metrics.add_metric(name="PlanRunsDispatched", unit=MetricUnit.Count, value=result["dispatched"])
    return result


def consume_runs(event: dict[str, Any]) -> dict[str, Any]:
    """SQS's batch: each message is one run; the ones to deliver again are reported as failures."""
    failures = []
    for record in event.get("Records", []):
        try:
            run = wiring.run_plan()(RunMessage.of(json.loads(record["body"])))
            metrics.add_metric(name=f"PlanRuns{run.state.title()}", unit=MetricUnit.Count, value=1)
        except (RunNotSettled, GatewayError) as exc:
            reason = getattr(exc, "code", str(exc))
            logger.warning("plan run not settled; SQS delivers it again",
                           extra={"message_id": record.get("messageId"), "reason": reason})  # fmt: skip
            failures.append({"itemIdentifier": record["messageId"]})
        except (ValueError, KeyError, TypeError):
            # Not a run message: delivering it again cannot help; its redrive ends in the dead-letter queue.
            logger.exception("plan run message not readable", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return consume_runs(event)
    return dispatch(event, context, http_api, {"dispatch_plans": dispatch_plans_task})
