"""The local pipe does what Pipes does: a batch whose enrichment fails is tried again, not lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

import local.order_events
from local.order_events import LocalPipe, pipes_of
from minted_gateway.dynamodb import to_item
from minted_gateway.orders.record import State
from tests.events.test_order_events import row


def received(aws: dict[str, Any]) -> list[str]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["detail"]["event_id"] for m in messages]


def test_a_failed_enrichment_is_tried_again_and_its_events_arrive_once(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (spec,) = pipes_of()
    pipe = LocalPipe(spec, aws["dynamodb"], aws["dynamodbstreams"], aws["events"])
    for version, state, status in [(1, State.RECEIVED, None), (2, State.SUBMITTED, "Created")]:
        record = row(version, state, status)
        aws["dynamodb"].put_item(
            TableName="OrdersTable", Item=to_item(record.model_dump(mode="python", exclude_none=True))
        )
    real_invoke, failures = local.order_events.invoke, [1]

    def flaky(function: Any, event: Any) -> Any:
        if failures:
            failures.pop()
            raise RuntimeError("the enrichment's first invocation fails")
        return real_invoke(function, event)

    monkeypatch.setattr(local.order_events, "invoke", flaky)
    assert pipe.poll() == 0 and received(aws) == []
    assert pipe.poll() == 2  # the same two records, again
    assert received(aws) == ["ord-events-1:2"]
    assert pipe.poll() == 0 and received(aws) == []  # and not a third time
