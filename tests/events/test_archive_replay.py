"""The order-events archive keeps what the pipe published, and a replay delivers it to consumers again.

What docs/operations.md ("Replaying order events") has an operator do, on moto's EventBridge with
the bus and archive made from the template, and the ledger's writes turned into events by the pipe.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from local.order_events import LocalPipe, pipes_of
from local.template import load_template
from minted_gateway.dynamodb import to_item
from minted_gateway.orders.record import State
from tests.events.test_order_events import row


def received(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        aws["sqs"].delete_message(QueueUrl=aws["queue"], ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def test_the_template_archives_the_order_events_bus_for_the_retention_its_parameter_says() -> None:
    template = load_template()
    archives = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Events::Archive"]
    assert archives == [
        {
            "Description": archives[0]["Description"],
            "SourceArn": {"Fn::GetAtt": ["OrderEventsBus", "Arn"]},
            "RetentionDays": {"Ref": "OrderEventsArchiveDays"},
        }
    ]
    assert template["Parameters"]["OrderEventsArchiveDays"]["Type"] == "Number"


def test_a_replay_from_the_archive_delivers_the_published_events_again(aws: dict[str, Any]) -> None:
    (spec,) = pipes_of()
    pipe = LocalPipe(spec, aws["dynamodb"], aws["dynamodbstreams"], aws["events"])
    start = datetime.now(UTC) - timedelta(minutes=1)
    record = row(2, State.SUBMITTED, "Created")
    aws["dynamodb"].put_item(TableName="OrdersTable", Item=to_item(record.model_dump(mode="python", exclude_none=True)))
    assert pipe.poll() == 1
    first = received(aws)
    assert [e["detail"]["event_id"] for e in first] == ["ord-events-1:2"]
    assert received(aws) == []  # a consumer that lost it has nothing more to read

    (archive,) = aws["archives"]
    events = aws["events"]
    archive_arn = events.describe_archive(ArchiveName=archive)["ArchiveArn"]
    bus_arn = events.describe_event_bus(Name="OrderEventsBus")["Arn"]
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 1
    events.start_replay(
        ReplayName="orders-missed",
        EventSourceArn=archive_arn,
        Destination={"Arn": bus_arn},
        EventStartTime=start,
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
    )
    assert events.describe_replay(ReplayName="orders-missed")["State"] in ("STARTING", "RUNNING", "COMPLETED")
    again = received(aws)
    assert [e["detail"] for e in again] == [e["detail"] for e in first]  # same event_id: consumers drop repeats
    assert again[0]["replay-name"] == "orders-missed"
