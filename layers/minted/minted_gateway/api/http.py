"""The HTTP side of every function: one resolver setup, one error mapping, Decimal-safe JSON."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import jsonutil
from minted_gateway.errors import (
    MAX_DETAILS,
    GatewayError,
    InvalidInput,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
)

logger = logging.getLogger(__name__)
REPLAY_HEADER = "Idempotent-Replayed"
MAX_FIELD_CHARS = 200
REQUEST_ID_HEADER = "X-Request-Id"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    # Bodies are serialised here so that Decimal leaves as an exact JSON number, never via float.
    return Response(status_code=status, content_type="application/json", body=jsonutil.dumps(body), headers=headers)


def error_response(error: GatewayError) -> Response[str]:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return json_response(error.status, error.body(), headers)


def invalid_input(message: str, errors: Sequence[Any]) -> InvalidInput:
    """pydantic's errors as InvalidInput: only the first few are written out, the rest counted."""
    shown = validation_details([dict(error) for error in errors[:MAX_DETAILS]])
    return InvalidInput(message, details=shown, details_omitted=max(0, len(errors) - MAX_DETAILS))


def http_request_id(event: dict[str, Any], context: Any) -> str:
    """API Gateway's id for the request (Lambda's own when there is none): callers quote it to support."""
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", "")
    return str(request_id)


def with_request_id(result: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Every answer carries the request id as a header; an error body carries it as ``error.request_id``."""
    result["headers"] = {**(result.get("headers") or {}), REQUEST_ID_HEADER: request_id}
    if int(result.get("statusCode", 200)) >= 400 and result.get("body") and not result.get("isBase64Encoded"):
        try:
            body = jsonutil.loads(result["body"])
        except ValueError:
            return result
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["request_id"] = request_id
            result["body"] = jsonutil.dumps(body)
    return result


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Field paths and rule texts from pydantic's errors; never the offending values."""
    details = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[1:]
        field = _short(".".join(loc) or "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            field, message = "body", "not valid JSON"
        details.append({"field": field, "message": message})
    return details


def _short(field: str) -> str:
    # A path holds the caller's own keys: a 5 MB key must not come back as a 5 MB answer.
    return field if len(field) <= MAX_FIELD_CHARS else field[: MAX_FIELD_CHARS - 1] + "…"


def unsafe_value_details(problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"field": _short(path), "message": rule} for path, rule in problems]


def _allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """The methods the function serves on ``path`` (Powertools keeps its routes in these two lists)."""
    routes = [*getattr(app, "_static_routes", []), *getattr(app, "_dynamic_routes", [])]
    return sorted({route.method for route in routes if route.rule.match(path)})


class OneRequestPerThread(APIGatewayHttpResolver):
    """Powertools' resolver with the request it answers kept per thread.

    Powertools keeps the current request on its class (``BaseRouter.current_event``) and the
    matched route in one dict per resolver: right in Lambda, where an environment takes one event
    at a time, and wrong where one process answers several at once (the local gateway serves each
    request on a thread): two buys would each read the other's body. Lambda is not changed by this.
    """

    def __init__(self, **options: Any) -> None:
        self._local = threading.local()
        super().__init__(**options)

    @property
    def current_event(self) -> Any:
        return self._local.event

    @current_event.setter
    def current_event(self, event: Any) -> None:
        self._local.event = event

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(self._local, "context"):
            self._local.context = {}
        context: dict[str, Any] = self._local.context
        return context

    @context.setter
    def context(self, context: dict[str, Any]) -> None:
        self._local.context = context

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self._local.event = self._to_proxy_event(dict(event))
        return super().resolve(event, context)


class GatewayResolver(OneRequestPerThread):
    """Powertools' resolver, counting each refused request as ``RequestsRefused`` by status class."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=jsonutil.loads_request)
        self.metrics = metrics

    def count_refusal(self, status: int) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=f"RequestsRefused{status // 100}xx", unit=MetricUnit.Count, value=1)


def count_refusal(app: APIGatewayHttpResolver, status: int) -> None:
    """A request refused before the resolver reads it (415, a body that is not UTF-8) counts as one it refused."""
    if isinstance(app, GatewayResolver):
        app.count_refusal(status)


def new_resolver(metrics: Metrics | None = None) -> GatewayResolver:
    """The resolver every function uses; refused requests are counted as ``RequestsRefused`` by status class."""
    app = GatewayResolver(metrics)
    refused = app.count_refusal

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        error = invalid_input("The request is not valid; see details.", list(exc.errors()))
        refused(error.status)
        return error_response(error)

    @app.exception_handler(jsonutil.UnsafeJSONValue)  # type: ignore[untyped-decorator]
    def _unsafe_value(exc: jsonutil.UnsafeJSONValue) -> Response[str]:
        error = InvalidInput("The request is not valid; see details.", details=unsafe_value_details(exc.problems))
        refused(error.status)
        return error_response(error)

    @app.not_found
    def _not_served(exc: NotFoundError) -> Response[str]:
        # Without this, the catch-all below would answer 500 to a route this function does not serve.
        allowed = _allowed_methods(app, app.current_event.path)
        error: GatewayError = (
            MethodNotAllowed(f"This route takes {', '.join(allowed)}.") if allowed else RouteNotFound("No such route.")
        )
        refused(error.status)
        response = error_response(error)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        error = UnsupportedMediaType(
            "Send the body as application/json.", details=[{"field": "content-type", "message": "not JSON"}]
        )
        refused(error.status)
        return error_response(error)

    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def _not_utf8(exc: UnicodeDecodeError) -> Response[str]:
        # API Gateway hands a binary body over base64-encoded; decoding it as text fails.
        error = InvalidInput("The body is not UTF-8 JSON.", details=[{"field": "body", "message": "not UTF-8"}])
        refused(error.status)
        return error_response(error)

    @app.exception_handler(GatewayError)  # type: ignore[untyped-decorator]
    def _gateway_error(exc: GatewayError) -> Response[str]:
        refused(exc.status)
        return error_response(exc)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        refused(500)
        logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
        body = {"error": {"code": "internal_error", "message": "Something went wrong on our side.", "details": []}}
        return json_response(500, body)

    return app
