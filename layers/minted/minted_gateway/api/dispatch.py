"""One function, three callers: API Gateway (payload v2), Step Functions tasks, the price schedule.

A task payload is ``{"action": "<name>", ...}``; its result is returned with money as strings (a
Lambda result goes through json.dumps, which would otherwise turn Decimal into an error or a float).
Task errors are raised: their class name is the Step Functions error name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import ValidationError

from minted_gateway.api.http import http_request_id, validation_details, with_request_id
from minted_gateway.errors import InvalidInput

Task = Callable[[dict[str, Any]], Any]
SCHEDULE_ACTION = "refresh_prices"


def is_http_event(event: Mapping[str, Any]) -> bool:
    return event.get("version") == "2.0" and "routeKey" in event and "requestContext" in event


def is_schedule_event(event: Mapping[str, Any]) -> bool:
    """EventBridge's scheduled event (as ``sam local generate-event`` makes it) or Scheduler's input."""
    return event.get("detail-type") == "Scheduled Event" or event.get("source") in ("aws.events", "aws.scheduler")


def dispatch(event: Mapping[str, Any], context: Any, app: APIGatewayHttpResolver, tasks: Mapping[str, Task]) -> Any:
    if is_http_event(event):
        return with_request_id(app.resolve(dict(event), context), http_request_id(dict(event), context))
    action = SCHEDULE_ACTION if is_schedule_event(event) else event.get("action")
    task = tasks.get(str(action))
    if task is None:
        raise InvalidInput(
            f"Unknown task action; this function takes: {', '.join(sorted(tasks))}.",
            details=[{"field": "action", "message": "unknown"}],
        )
    try:
        return task_output(task(dict(event)))
    except ValidationError as exc:
        raise InvalidInput(
            "The task payload is not valid; see details.", details=validation_details([dict(e) for e in exc.errors()])
        ) from None


def task_output(value: Any) -> Any:
    """JSON-safe for the Lambda runtime: Decimal as its exact string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: task_output(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [task_output(item) for item in value]
    return value
