"""Order events: the enrichment step of the pipe from the ledger's stream to the order-events bus.

Takes a batch of DynamoDB stream records and returns one event detail per change of an order's
state or status; the pipe puts each on the bus (an empty answer puts nothing). It calls no AWS API.
"""

from __future__ import annotations

from typing import Any

from minted_gateway.events.metrics import record_event_metrics
from minted_gateway.events.order_events import order_events
from minted_gateway.observability import observability

logger, tracer, metrics = observability()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    events = order_events(event if isinstance(event, list) else [event])
    record_event_metrics(metrics, events)
    for published in events:
        logger.info("order event", extra={"event_id": published["event_id"], "type": published["type"]})
    return events
