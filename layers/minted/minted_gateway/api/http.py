"""The HTTP side of every function: one resolver setup, one error mapping, Decimal-safe JSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import jsonutil
from minted_gateway.errors import GatewayError, InvalidInput, UnsupportedMediaType

logger = logging.getLogger(__name__)
REPLAY_HEADER = "Idempotent-Replayed"
REQUEST_ID_HEADER = "X-Request-Id"
# Powertools would parse these into a dict and the schema would refuse it field by field; a JSON API refuses them.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    # Bodies are serialised here so that Decimal leaves as an exact JSON number, never via float.
    return Response(status_code=status, content_type="application/json", body=jsonutil.dumps(body), headers=headers)


def error_response(error: GatewayError) -> Response[str]:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return json_response(error.status, error.body(), headers)


def http_request_id(event: dict[str, Any], context: Any) -> str:
    """API Gateway's id for the request (Lambda's own when there is none): callers quote it to support."""
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", "")
    return str(request_id)


def refuse_form_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A form-encoded body (``curl -d`` without a Content-Type) is a 415, like any body that is not JSON."""
    content_type = str((event.get("headers") or {}).get("content-type", "")).strip().lower()
    if not event.get("body") or not content_type.startswith(_FORM_TYPES):
        return None
    error = UnsupportedMediaType(
        "Send the body as application/json.", details=[{"field": "content-type", "message": "not JSON"}]
    )
    return {"statusCode": error.status, "headers": {"Content-Type": "application/json"},
            "body": jsonutil.dumps(error.body()), "isBase64Encoded": False}  # fmt: skip


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
        field = ".".join(loc) or "body"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            field, message = "body", "not valid JSON"
        details.append({"field": field, "message": message})
    return details


class JsonApiResolver(APIGatewayHttpResolver):
    """Powertools' resolver for a JSON-only API: a form body is refused before routing, and counted."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=jsonutil.loads)
        self._metrics = metrics

    def refused(self, status: int) -> None:
        """Refused requests are counted as ``RequestsRefused`` by status class."""
        if self._metrics is not None:
            self._metrics.add_metric(name=f"RequestsRefused{status // 100}xx", unit=MetricUnit.Count, value=1)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        refusal = refuse_form_body(dict(event))
        if refusal is not None:
            self.refused(int(refusal["statusCode"]))
            return refusal
        return super().resolve(event, context)


def new_resolver(metrics: Metrics | None = None) -> JsonApiResolver:
    """The resolver every function uses, with the one mapping from errors to answers."""
    app = JsonApiResolver(metrics)
    refused = app.refused

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        error = InvalidInput("The request is not valid; see details.", details=validation_details(list(exc.errors())))
        refused(error.status)
        return error_response(error)

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
