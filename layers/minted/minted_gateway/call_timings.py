"""How long each Minted and DynamoDB call took, and how it ended: metrics and log fields in one line.

What the X-Ray SDK's subsegments told an operator, without the SDK (docs/operations.md, "Tracing"):
every call is timed where it is made, kept for the invocation, and written when the handler returns
as one log line per operation and outcome. Each line is CloudWatch's embedded metric format (the
``_aws`` key) and a JSON log line with the logger's fields, the invocation's correlation id among
them (whatever LOG_LEVEL says: these are metrics):
- ``MintedCallDuration`` (ms) and ``MintedCallErrors`` by ``Operation`` (the client's name for the
  call: buy, get_order, ...) and ``Outcome`` (ok, or what went wrong: timeout, unavailable, ...);
- ``DynamoDbCallDuration`` (ms) and ``DynamoDbCallErrors`` by ``Operation`` (GetItem, PutItem, ...),
  with the outcome (ok, or DynamoDB's error code) as a log field.
The errors are a log field on every line and a metric on the lines that have some.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "MintedGateway"
SERVICE = "minted-gateway"
# Minted's answers, not failures: refusing a request, not knowing an order (a lookup before a buy).
MINTED_ANSWERS = frozenset({"ok", "validation", "new_customer", "price_token", "forbidden", "not_found"})
# A conditional write that finds the row is how a replay is told apart: an answer, not a failure.
DYNAMODB_ANSWERS = frozenset({"ok", "ConditionalCheckFailedException"})

_invocation = threading.local()  # the local gateway serves invocations on threads


def start() -> None:
    """A new invocation: calls are kept from here until ``flush``."""
    _invocation.calls = {}


def minted(operation: str, outcome: str, started: float) -> None:
    _keep("minted", operation, outcome, started)


def outcome_of(exc: BaseException) -> str:
    """``MintedRateLimitedError`` -> ``rate_limited``."""
    name = type(exc).__name__.removeprefix("Minted").removesuffix("Error")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_") or "error"


def _keep(kind: str, operation: str, outcome: str, started: float) -> None:
    calls: dict[tuple[str, str, str], list[float]] | None = getattr(_invocation, "calls", None)
    if calls is None:  # outside a handler (a test calling a use case): nothing to write to
        return
    calls.setdefault((kind, operation, outcome), []).append(round((time.perf_counter() - started) * 1000, 3))


def flush(fields: Mapping[str, Any]) -> None:
    """One line per (call, operation, outcome) the invocation made, its durations as one list, beside
    ``fields`` (the logger's: service, function, request and correlation ids).

    Written straight to stdout, as Powertools Metrics writes its lines: through the logging pipeline
    a buy's three lines cost about 30 times as much (its formatter, and the redaction filter, which
    has nothing to find in operation names and numbers), a good part of the 1 ms warm budget.
    """
    calls: dict[tuple[str, str, str], list[float]] | None = getattr(_invocation, "calls", None)
    _invocation.calls = None
    if not calls:
        return
    timestamp = int(time.time() * 1000)
    for (kind, operation, outcome), durations in calls.items():
        if kind == "minted":
            failed = 0 if outcome in MINTED_ANSWERS else len(durations)
            metrics, dimensions = ("MintedCallDuration", "MintedCallErrors"), ["service", "Operation", "Outcome"]
        else:
            failed = 0 if outcome in DYNAMODB_ANSWERS else len(durations)
            metrics, dimensions = ("DynamoDbCallDuration", "DynamoDbCallErrors"), ["service", "Operation"]
        declared = [{"Name": metrics[0], "Unit": "Milliseconds"}]
        if failed:  # a custom metric costs by the month: the errors' exists once there are some
            declared.append({"Name": metrics[1], "Unit": "Count"})
        line = {"level": "INFO", "message": f"{kind} call", "timestamp": timestamp, "service": SERVICE, **fields,
                "_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [{"Namespace": NAMESPACE,
                         "Dimensions": [dimensions], "Metrics": declared}]},
                "Operation": operation, "Outcome": outcome, metrics[0]: durations, metrics[1]: failed}  # fmt: skip
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------- DynamoDB, at botocore's events
def time_dynamodb(client: Any) -> Any:
    """Times every call of this DynamoDB client, retries included (botocore's before/after-call)."""
    events = client.meta.events
    events.register("before-call.dynamodb", _before_call)
    events.register("after-call.dynamodb", _after_call)
    events.register("after-call-error.dynamodb", _after_call_error)
    return client


def _before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
    context[_STARTED] = (model.name, time.perf_counter())


def _after_call(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    started = context.get(_STARTED)
    if started is not None:
        error = parsed.get("Error") or {}
        _keep("dynamodb", started[0], str(error.get("Code") or "ok"), started[1])


def _after_call_error(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
    started = context.get(_STARTED)
    if started is not None:  # no answer at all: the connection failed or timed out
        _keep("dynamodb", started[0], type(exception).__name__, started[1])


_STARTED = "minted_gateway_call"  # the request context's key (botocore passes one dict from before to after)
