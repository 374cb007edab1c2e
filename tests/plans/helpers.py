"""Running plans on the sandbox clock: a scheduled tick delivered at a simulated time, then the queue drained."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from local.devstack import DevStack
from local.gateway import invoke
from local.queues import LocalEventSource
from local.template import functions_of
from tests.stack import Api, customer
from tests.waiting import wait_until


def tick(stack: DevStack, at: datetime) -> dict[str, Any]:
    """The dispatcher's schedule, delivered as Scheduler would at ``at`` (its scheduled time)."""
    result: dict[str, Any] = invoke(functions_of()["PlansFunction"],
                                    {"action": "dispatch_plans", "time": at.astimezone(UTC).isoformat()})  # fmt: skip
    return result


def run_queue(stack: DevStack) -> LocalEventSource:
    return next(source for source in stack.event_sources if source.source.queue == "PlansQueue")


def drained(stack: DevStack, api: Api, timeout: float = 120) -> None:
    queue = run_queue(stack)
    wait_until(lambda: queue.idle() and api.minted.idle(), timeout=timeout, what="the run queue draining")


def register(api: Api, external_id: str) -> None:
    response = api.post("/customers", customer(external_id))
    assert response.status_code in (200, 201), response.text
