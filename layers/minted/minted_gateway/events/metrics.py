"""The metrics an order event stands for: what the dashboard charts and the alarms watch.

Emitted by the event transform, which sees every change of every row whichever function wrote it.
The reconciler (issue 13, item 1) reports each order it cannot settle through ``needs_attention``
too, so the age alarm also fires for a row nobody writes any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway.events.order_events import EventType, attention_age_seconds

# Metric names the template's alarms and dashboard refer to.
PUBLISHED = "OrderEventsPublished"
NEEDING_ATTENTION = "OrdersNeedingAttention"
FOREIGN = "ForeignOrdersSeen"
ATTENTION_AGE = "OrderAttentionAgeSeconds"
# The oldest wait the reconciler saw in a run (0: nothing waits), what OrderAttentionAgeAlarm watches.
# Only the reconciler writes it: the transform's ages are measured at a change, a moment after the
# claim, and a low value between two runs would clear the alarm while a row still waits.
OLDEST_ATTENTION_AGE = "OrderAttentionOldestAgeSeconds"
ORDERED_TOTAL = "OrderedTotal"  # + currency code: OrderedTotalTRY
ORDERED_GRAMS = "OrderedGrams"  # + sku: OrderedGramsGAU


def record_event_metrics(metrics: Metrics, events: Iterable[Mapping[str, Any]]) -> None:
    count = 0
    for event in events:
        count += 1
        if event["type"] == EventType.NEEDS_ATTENTION:
            needs_attention(metrics, event)
        first_accepted = event["state"] == "SUBMITTED" and (event.get("previous") or {}).get("state") != "SUBMITTED"
        if first_accepted:
            _amounts(metrics, event)
    metrics.add_metric(name=PUBLISHED, unit=MetricUnit.Count, value=count)


def needs_attention(metrics: Metrics, event: Mapping[str, Any]) -> None:
    metrics.add_metric(name=NEEDING_ATTENTION, unit=MetricUnit.Count, value=1)
    if (event.get("attention") or {}).get("reason") == "foreign_order":
        metrics.add_metric(name=FOREIGN, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=ATTENTION_AGE, unit=MetricUnit.Seconds, value=float(attention_age_seconds(event)))


def oldest_attention_age(metrics: Metrics, ages: Iterable[Decimal]) -> None:
    """One reconciler run's oldest wait: written every run that saw every waiting row, so the alarm's
    state changes only with a run's finding, never with an empty period between two runs."""
    metrics.add_metric(name=OLDEST_ATTENTION_AGE, unit=MetricUnit.Seconds, value=float(max(ages, default=0)))


def _amounts(metrics: Metrics, event: Mapping[str, Any]) -> None:
    """What Minted accepted, once per order (Metrics takes floats; a chart does not need exact cents)."""
    if event.get("total") is not None and event.get("currency"):
        metrics.add_metric(name=f"{ORDERED_TOTAL}{event['currency']}", unit=MetricUnit.Count,
                           value=float(Decimal(event["total"])))  # fmt: skip
    for line in event.get("lines") or []:
        metrics.add_metric(name=f"{ORDERED_GRAMS}{line['sku']}", unit=MetricUnit.Count,
                           value=float(Decimal(line["amount"])))  # fmt: skip
