"""One function, three callers: API Gateway (payload v2), Step Functions tasks, the price schedule.

A task payload is ``{"action": "<name>", ...}``; its result is returned with money as strings (a
Lambda result goes through json.dumps, which would otherwise turn Decimal into an error or a float).
Task errors are raised: their class name is the Step Functions error name, and bad task input is
always ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from minted_gateway import jsonutil
from minted_gateway.api.http import (
    count_refusal,
    http_request_id,
    invalid_input,
    unsafe_value_details,
    unsupported_media_type,
    with_request_id,
)
from minted_gateway.errors import GatewayError, InvalidInput

if TYPE_CHECKING:
    from minted_gateway.api.http import Answering

Task = Callable[[dict[str, Any]], Any]
SCHEDULE_ACTION = "refresh_prices"
JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = ("POST", "PUT", "PATCH")


def is_http_event(event: Mapping[str, Any]) -> bool:
    return event.get("version") == "2.0" and "routeKey" in event and "requestContext" in event


def is_schedule_event(event: Mapping[str, Any]) -> bool:
    """EventBridge's scheduled event (as ``sam local generate-event`` makes it) or Scheduler's input."""
    return event.get("detail-type") == "Scheduled Event" or event.get("source") in ("aws.events", "aws.scheduler")


def dispatch(
    event: Mapping[str, Any], context: Any, http_api: Callable[[], Answering], tasks: Mapping[str, Task]
) -> Any:
    """``http_api`` builds the function's router (once): only an HTTP event asks for it, so a task or a
    schedule never builds the routes nor imports what they validate with."""
    if is_http_event(event):
        app = http_api()
        http_event = dict(event)
        refusal = _read_as_json(http_event)
        if refusal is not None:
            count_refusal(app, refusal.status)
        result = _http_answer(refusal) if refusal is not None else app.resolve(http_event, context)
        return with_request_id(result, http_request_id(http_event, context))
    action = SCHEDULE_ACTION if is_schedule_event(event) else event.get("action")
    task = tasks.get(str(action))
    if task is None:
        raise InvalidInput(
            f"Unknown task action; this function takes: {', '.join(sorted(tasks))}.",
            details=[{"field": "action", "message": "unknown"}],
        )
    problems = jsonutil.unsafe_values(dict(event))
    if problems:  # what the HTTP side refuses while parsing, a task's input is checked for here
        raise InvalidInput("The task payload is not valid; see details.", details=unsafe_value_details(problems))
    try:
        return task_output(task(dict(event)))
    except ValidationError as exc:
        raise invalid_input("The task payload is not valid; see details.", exc.errors()) from None


def _read_as_json(event: dict[str, Any]) -> GatewayError | None:
    """Media types compare without case (``Application/JSON`` is JSON), and a body of any other type is
    refused here: Powertools would parse forms and multipart bodies itself, and answer 500 to a
    multipart type without a boundary."""
    headers = dict(event.get("headers") or {})
    name = next((key for key in headers if key.lower() == "content-type"), None)
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    if name is None or not event.get("body") or method not in BODY_METHODS:
        return None  # a GET's body is never read, so its type does not matter
    value = str(headers.pop(name))
    media_type, _, parameters = value.partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        return unsupported_media_type()
    headers["content-type"] = JSON_MEDIA_TYPE + (f";{parameters}" if parameters else "")
    event["headers"] = headers
    return None


def _http_answer(error: GatewayError) -> dict[str, Any]:
    """API Gateway's payload v2 answer for a request refused before the router reads it."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": JSON_MEDIA_TYPE},
        "body": jsonutil.dumps(error.body()),
        "isBase64Encoded": False,
        "cookies": [],
    }


def task_output(value: Any) -> Any:
    """JSON-safe for the Lambda runtime: Decimal as its exact string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: task_output(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [task_output(item) for item in value]
    return value
