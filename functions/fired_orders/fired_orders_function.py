"""The fired-orders queue's consumer: each message names a fired conditional order, placed once.

SQS delivers at least once and in batches; each order is placed under ``cond-<id>`` through the
ledger, so a redelivered message replays instead of buying again. A message that fails for a
reason that may pass (Minted or AWS unavailable) is reported in ``batchItemFailures`` alone
(ReportBatchItemFailures), and SQS delivers only it again; after the queue's last try the
dead-letter queue keeps it.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.conditional.sqs_queue import trigger_ids_of
from minted_gateway.errors import GatewayError
from minted_gateway.observability import observability

logger, tracer, metrics = observability()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runtime.bind_to_invocation(context)
    failures = []
    for message_id, trigger_id in trigger_ids_of(event):
        if trigger_id is None:  # not ours to place; retrying would not make it one
            logger.warning("fired-orders message without a trigger id", extra={"message_id": message_id})
            continue
        try:
            trigger = runtime.place_fired_order()(trigger_id)
        except GatewayError as exc:
            logger.warning("fired order not placed yet; the queue delivers it again",
                           extra={"trigger_id": trigger_id, "error": exc.code})  # fmt: skip
            failures.append({"itemIdentifier": message_id})
            continue
        state = trigger.state.value if trigger is not None else "MISSING"
        metrics.add_metric(name=f"FiredOrders{state.title()}", unit=MetricUnit.Count, value=1)
        logger.info("fired order settled", extra={"trigger_id": trigger_id, "state": state})
    return {"batchItemFailures": failures}
