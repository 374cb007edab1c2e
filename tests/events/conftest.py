from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.devstack import DevStack
from local.template import create_archives, create_event_buses, create_tables, load_template
from tests.stack import running_stack

REGION = "eu-central-1"


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    """make dev's stack with its order-events pipe running."""
    yield from running_stack(order_events=True)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """In-process moto with the template's tables, bus and archive, and a partner's consumer: a rule on
    the bus sending every order event to its queue."""
    with mock_aws():
        template = load_template()
        clients = {
            name: boto3.client(name, region_name=REGION) for name in ("dynamodb", "dynamodbstreams", "events", "sqs")
        }
        create_tables(clients["dynamodb"], template)
        create_event_buses(clients["events"], template)
        archives = create_archives(clients["events"], template)
        queue = clients["sqs"].create_queue(QueueName="consumer")["QueueUrl"]
        arn = clients["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        clients["events"].put_rule(
            Name="all", EventBusName="OrderEventsBus", EventPattern='{"source": ["minted-gateway.orders"]}'
        )
        clients["events"].put_targets(Rule="all", EventBusName="OrderEventsBus", Targets=[{"Id": "q", "Arn": arn}])
        yield {**clients, "queue": queue, "archives": archives}
