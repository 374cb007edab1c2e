"""What the alarms and the dashboard read: the metrics the event transform writes (CloudWatch EMF lines)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.gateway import invoke
from local.template import functions_of
from minted_gateway.orders.record import State
from tests.events.test_order_events import record, row


def metrics_written(output: str) -> dict[str, list[float]]:
    """Every metric value of the EMF lines in the function's output, by name."""
    values: dict[str, list[float]] = {}
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document: dict[str, Any] = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "MintedGateway"
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


def test_an_order_needing_attention_is_counted_with_its_age_and_an_accepted_one_with_its_amounts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    claimed = row(1, State.RECEIVED)
    unknown = row(2, State.UNKNOWN, updated_at="2026-11-28T08:20:00+00:00")  # claimed 20 minutes earlier
    foreign = record(row(2, State.UNKNOWN), claimed)
    foreign["dynamodb"]["NewImage"]["state"] = {"S": "FOREIGN"}
    batch = [record(claimed), record(unknown, claimed), foreign, record(row(2, State.SUBMITTED, "Created"), claimed)]
    events = invoke(functions_of()["OrderEventsFunction"], batch)  # type: ignore[arg-type]
    assert [e["type"] for e in events] == ["OrderNeedsAttention", "OrderNeedsAttention", "OrderSubmitted"]
    written = metrics_written(capsys.readouterr().out)
    assert written["OrderEventsPublished"] == [3]
    assert written["OrdersNeedingAttention"] == [1, 1]
    assert written["ForeignOrdersSeen"] == [1]
    assert max(written["OrderAttentionAgeSeconds"]) == 1200  # what the dashboard charts
    assert written["OrderedTotalTRY"] == [4475.72] and written["OrderedGramsGAU"] == [1.5]
