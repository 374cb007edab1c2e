"""The reconciler: the schedule's ``reconcile`` runs (settle unsettled ledger rows by lookup) and the
daily ``compare_with_minted`` (orders at Minted the ledger does not account for are reported, never
adopted)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.events.metrics import needs_attention, oldest_attention_age
from minted_gateway.events.order_events import ATTENTION_REASONS, SCHEMA_VERSION, attention_age_seconds
from minted_gateway.observability import observability
from minted_gateway.orders.reconcile import Unaccounted, identity

if TYPE_CHECKING:
    from minted_gateway.api.router import Router

logger, tracer, metrics = observability()
# The event (and, as OrdersNotInLedger, the metric) of the comparison: an order at Minted with no row
# here, or whose row disagrees (its ``reason``).
NOT_IN_LEDGER = "OrderNotInLedger"
# 1 when the comparison stopped at its page or time bound (0 otherwise, so the alarm sees every run).
INCOMPLETE = "OrderComparisonsIncomplete"


@functools.cache
def http_api() -> Router:
    """No routes, the schedules' tasks only: built only if an HTTP event came (answered 404)."""
    from minted_gateway.api.router import Router  # noqa: PLC0415

    return Router(metrics)


def reconcile_task(payload: dict[str, Any]) -> dict[str, Any]:
    report = runtime.reconcile()()
    now = datetime.now(UTC).isoformat()
    ages = []
    for record in report.unsettled:  # rows nobody wrote again: the age alarm must still see them
        reason = ATTENTION_REASONS.get(record.state.value, "outcome_unknown")  # a dead claim is an unknown outcome
        waiting = {"attention": {"reason": reason}, "created_at": record.created_at, "occurred_at": now}
        needs_attention(metrics, waiting)
        ages.append(attention_age_seconds(waiting))
        logger.warning("order still needs attention", extra={"external_id": record.external_id,
                                                              "state": record.state.value})  # fmt: skip
    if report.all_waiting_seen:  # else a row waits unseen (leased, past a bound): the alarm keeps its state
        oldest_attention_age(metrics, ages)
    metrics.add_metric(name="OrdersReconciled", unit=MetricUnit.Count, value=report.looked_at)
    summary = {"looked_at": report.looked_at, "changed": len(report.changed), "unsettled": len(report.unsettled),
               "released": report.released, "skipped": report.skipped, "more": report.more}  # fmt: skip
    logger.info("reconciled", extra=summary)
    return summary


def follow_task(payload: dict[str, Any]) -> dict[str, Any]:
    """The follow schedule: refresh the orders that are not final, so the order history stays fresh.
    It reports no attention age: it looks at no row that waits for a person."""
    report = runtime.follow_orders()()
    metrics.add_metric(name="OrdersFollowed", unit=MetricUnit.Count, value=report.looked_at)
    summary = {"looked_at": report.looked_at, "changed": len(report.changed), "released": report.released,
               "skipped": report.skipped, "more": report.more}  # fmt: skip
    logger.info("followed", extra=summary)
    return summary


def compare_task(payload: dict[str, Any]) -> dict[str, Any]:
    comparison = runtime.compare_with_minted()()
    found_at = datetime.now(UTC).isoformat()
    if comparison.not_in_ledger:
        runtime.order_events_bus().publish([_not_in_ledger(stray, found_at) for stray in comparison.not_in_ledger])
    metrics.add_metric(name="OrdersNotInLedger", unit=MetricUnit.Count, value=len(comparison.not_in_ledger))
    for stray in comparison.not_in_ledger:
        logger.warning("the ledger does not account for an order at Minted", extra={
            "external_id": stray.order.external_id, "order_code": stray.order.order_code, "reason": stray.reason,
            "ledger_state": stray.ledger_state})  # fmt: skip
    summary = {"from": comparison.start.isoformat(), "to": comparison.end.isoformat(),
               "pages_read": comparison.pages_read, "orders_seen": comparison.orders_seen,
               "complete": comparison.complete, "not_in_ledger": len(comparison.not_in_ledger),
               **({"stopped": comparison.stopped} if comparison.stopped else {})}  # fmt: skip
    metrics.add_metric(name=INCOMPLETE, unit=MetricUnit.Count, value=0 if comparison.complete else 1)
    if not comparison.complete:
        logger.warning("the comparison did not read all of Minted's list", extra=summary)
    logger.info("compared with Minted", extra=summary)
    return summary


def _not_in_ledger(stray: Unaccounted, found_at: str) -> dict[str, Any]:
    """Ids, side and status only: Minted's order may carry its customer, which is never passed on."""
    order = stray.order
    return {
        "event_id": f"minted:{identity(order)}",
        "type": NOT_IN_LEDGER,
        "schema_version": SCHEMA_VERSION,
        "external_id": order.external_id,
        "order_code": order.order_code,
        "guid": order.guid,
        "side": order.type.casefold() if order.type else None,
        "status": order.status_name,
        "order_at": order.order_at.isoformat() if order.order_at else None,
        "occurred_at": found_at,
        "reason": stray.reason,
        "ledger_state": stray.ledger_state,
    }


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(
        event,
        context,
        http_api,
        {"reconcile": reconcile_task, "follow_orders": follow_task, "compare_with_minted": compare_task},
    )
