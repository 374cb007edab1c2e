"""The HTTP side of every function: one error mapping, Decimal-safe JSON, the request id on every answer.

Requests are answered by our router (``router.py``); Powertools' Event Handler is imported only to write
the OpenAPI document (``new_resolver``), never on a request (about 60 ms of a cold start, docs/performance.md).
"""
# ruff: noqa: PLC0415 - the Event Handler's imports inside the functions are the point

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from minted_gateway import jsonutil
from minted_gateway.caller import Caller, caller_of
from minted_gateway.errors import (
    MAX_DETAILS,
    GatewayError,
    InvalidInput,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from minted_gateway.api.resolver import GatewayResolver
    from minted_gateway.api.router import Response, Router

    Answering: TypeAlias = Router | GatewayResolver  # our router, or Powertools' (the document's, the parity test's)

logger = logging.getLogger(__name__)
REPLAY_HEADER = "Idempotent-Replayed"
MAX_FIELD_CHARS = 200
REQUEST_ID_HEADER = "X-Request-Id"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    # Bodies are serialised here so that Decimal leaves as an exact JSON number, never via float.
    from minted_gateway.api.router import Response

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


def digits_only(name: str, raw: str | None) -> None:
    """A whole number given as query text (a page size) is digits, nothing else: pydantic's lax mode
    reads "10.0", " 5" and "1_0" as integers. 422 naming the parameter otherwise."""
    if raw is not None and not re.fullmatch(r"[0-9]{1,9}", raw):
        raise InvalidInput("The query is not valid; see details.", details=[
            {"field": f"query.{name}", "message": "must be a whole number written in digits, e.g. 20"}])  # fmt: skip


def unsafe_value_details(problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"field": _short(path), "message": rule} for path, rule in problems]


# Every route of the partner API, by path (template.yaml's HttpApi; tests/api/test_gateway.py holds
# them equal). Each path's ANY route sends every other method to one of its functions, which names in
# Allow what the whole API takes there, not only what it serves itself.
API_METHODS: dict[str, tuple[str, ...]] = {
    "/orders": ("GET", "POST"),
    "/orders/workflow": ("POST",),
    "/deliveries": ("POST",),
    # Before /orders/{external_id}, whose pattern would also match /orders/conditional.
    "/orders/conditional": ("POST",),
    "/orders/conditional/{trigger_id}": ("GET", "DELETE"),
    "/alerts": ("POST",),
    "/alerts/{trigger_id}": ("GET", "DELETE"),
    "/orders/{external_id}": ("GET",),
    "/prices": ("GET",),
    "/quotes": ("POST",),
    "/legal": ("GET",),
    "/legal/{document_type}": ("GET",),
    "/customers": ("POST",),
    "/customers/{external_id}": ("GET", "PATCH"),
    "/customers/{external_id}/balances": ("GET",),
    "/plans": ("GET", "POST"),
    "/plans/{plan_id}": ("GET", "PATCH", "DELETE"),
}


def _api_methods(path: str) -> set[str]:
    for pattern, methods in API_METHODS.items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", pattern), path):  # the paths hold no other regex character
            return set(methods)
    return set()


def _allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """The methods the API takes on ``path`` when the function serves it at all (a route has a ``method``
    and a ``rule``, ours or Powertools'); empty when it serves nothing there (404)."""
    own = {route.method for route in routes if route.rule.match(path)}
    return sorted(own | _api_methods(path)) if own else []


def count_refusal(app: Answering, status: int) -> None:
    """A request refused before the router reads it (415, a body that is not UTF-8) counts as one it refused."""
    app.count_refusal(status)


def request_caller(app: Any) -> Caller:
    """The caller of the request ``app`` is answering: what API Gateway's authorizer passed on."""
    return caller_of(app.current_event.raw_event)


# ---------------------------------------------------------------- refusals: one mapping to the envelope
def invalid_request(errors: Sequence[Any]) -> GatewayError:
    """A request whose path, query or body breaks its route's rules (pydantic's errors, by ``loc``)."""
    return invalid_input("The request is not valid; see details.", list(errors))


def unsupported_media_type() -> GatewayError:
    return UnsupportedMediaType(
        "Send the body as application/json.", details=[{"field": "content-type", "message": "not JSON"}]
    )


def not_base64() -> GatewayError:
    """A body API Gateway marked base64-encoded that does not decode (only a direct invoke can send one)."""
    return InvalidInput("The body is not valid base64.", details=[{"field": "body", "message": "not valid base64"}])


def refusal(exc: Exception) -> GatewayError | None:
    """What a request that raised ``exc`` is refused with; None: a bug of ours (500)."""
    if isinstance(exc, jsonutil.UnsafeJSONValue):
        return InvalidInput("The request is not valid; see details.", details=unsafe_value_details(exc.problems))
    if isinstance(exc, UnicodeDecodeError):  # API Gateway hands a binary body over base64-encoded
        return InvalidInput("The body is not UTF-8 JSON.", details=[{"field": "body", "message": "not UTF-8"}])
    if isinstance(exc, GatewayError):
        return exc
    return None


def refused(app: Answering, error: GatewayError) -> Response[str]:
    app.count_refusal(error.status)
    return error_response(error)


def not_served(app: Answering, routes: Iterable[Any], path: str) -> Response[str]:
    """405 with Allow when the API takes another method on ``path``, else 404."""
    allowed = _allowed_methods(routes, path)
    error: GatewayError = (
        MethodNotAllowed(f"This route takes {', '.join(allowed)}.") if allowed else RouteNotFound("No such route.")
    )
    response = refused(app, error)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def unexpected(app: Answering, exc: Exception) -> Response[str]:
    app.count_refusal(500)
    logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
    body = {"error": {"code": "internal_error", "message": "Something went wrong on our side.", "details": []}}
    return json_response(500, body)


def new_resolver(metrics: Metrics | None = None) -> GatewayResolver:
    """Powertools' resolver with our refusals: it writes the OpenAPI document from a router's routes
    (``Router.powertools_resolver``), and is the parity test's reference for the router's answers."""
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.event_handler.openapi.exceptions import (
        RequestUnsupportedContentType,
        RequestValidationError,
    )

    from minted_gateway.api.resolver import GatewayResolver

    app = GatewayResolver(metrics)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        return refused(app, invalid_request(exc.errors()))

    @app.not_found
    def _not_served(exc: NotFoundError) -> Response[str]:
        # Without this, the catch-all below would answer 500 to a route this function does not serve.
        return not_served(app, [*app._static_routes, *app._dynamic_routes], app.current_event.path)

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return refused(app, unsupported_media_type())

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _refused(exc: Exception) -> Response[str]:
        error = refusal(exc)
        return refused(app, error) if error is not None else unexpected(app, exc)

    return app
