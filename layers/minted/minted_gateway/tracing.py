"""Tracing as the partner chose (the template's ``Tracing`` parameter, the ``TRACING`` variable).

``lambda``, the default, leaves it to Lambda's active tracing (each invocation its trace and service
map entry, no SDK in the function); ``xray-sdk`` adds Powertools Tracer, whose X-Ray SDK records a
subsegment per Minted and AWS call. Either way every Minted and DynamoDB call's duration and outcome
is written as a metric and log fields (``minted_gateway.call_timings``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from minted_gateway import call_timings, first_invocation_served, snapstart

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

TRACED_MODULES = ("botocore", "requests")  # AWS calls and Minted calls
TRACING_MODES = ("lambda", "xray-sdk")
Handler = Callable[[Any, Any], Any]


class HandlerTracing:
    """``@tracer.capture_lambda_handler`` for every mode: the invocation's call timings are kept and
    written when the handler returns, inside Powertools Tracer's capture when the mode is ``xray-sdk``;
    with SnapStart, the handler's snapshot hooks are registered here too."""

    def __init__(self, xray: Tracer | None) -> None:
        self.xray = xray

    @overload
    def capture_lambda_handler(
        self, lambda_handler: None = None, capture_response: bool = True
    ) -> Callable[[Handler], Handler]: ...

    @overload
    def capture_lambda_handler(self, lambda_handler: Handler, capture_response: bool = True) -> Handler: ...

    def capture_lambda_handler(
        self, lambda_handler: Handler | None = None, capture_response: bool = True
    ) -> Handler | Callable[[Handler], Handler]:
        if lambda_handler is None:
            return functools.partial(self.capture_lambda_handler, capture_response=capture_response)
        snapstart.register(lambda_handler)  # SnapStart's hooks, when Lambda initialises for a snapshot
        inner: Handler = lambda_handler
        if self.xray is not None:
            inner = self.xray.capture_lambda_handler(lambda_handler, capture_response=capture_response)

        @functools.wraps(lambda_handler)
        def timed(event: Any, context: Any) -> Any:
            call_timings.start()
            try:
                return inner(event, context)
            finally:
                call_timings.flush(self._context_fields(event, context))
                first_invocation_served()  # the garbage collector, held through the cold start

        return timed

    @staticmethod
    def _context_fields(event: Any, context: Any) -> dict[str, Any]:
        """Where the lines come from, read from this invocation (the logger's keys are shared by the
        local gateway's threads): the correlation id as Powertools reads it for an HTTP API, and the
        trace Lambda's active tracing records the invocation under."""
        fields: dict[str, Any] = {
            "function_name": getattr(context, "function_name", None),
            "function_request_id": getattr(context, "aws_request_id", None),
        }
        request_id = correlation_id(event)
        if request_id:
            fields["correlation_id"] = request_id
        trace = os.environ.get("_X_AMZN_TRACE_ID", "")
        if trace.startswith("Root="):
            fields["xray_trace_id"] = trace.split(";", 1)[0].removeprefix("Root=")
        return fields


def correlation_id(event: Any) -> Any:
    """An HTTP API request's id, read as Powertools' correlation path for it reads it: JMESPath's
    ``requestContext.requestId``, which asks anything with a ``get`` and finds None in anything else."""
    try:
        return event.get("requestContext").get("requestId")
    except AttributeError:
        return None


def tracing_mode() -> str:
    mode = os.environ.get("TRACING", "lambda")
    if mode not in TRACING_MODES:
        raise ValueError(f"invalid environment: TRACING ({mode!r}, not one of {', '.join(TRACING_MODES)})")
    return mode


def handler_tracing() -> HandlerTracing:
    xray = None
    if tracing_mode() == "xray-sdk":  # the X-Ray SDK is imported only then (docs/performance.md)
        from aws_lambda_powertools import Tracer  # noqa: PLC0415

        # Only what we call out through: the default patches every library X-Ray knows that is installed.
        xray = Tracer(service="minted-gateway", patch_modules=TRACED_MODULES)
    return HandlerTracing(xray)
