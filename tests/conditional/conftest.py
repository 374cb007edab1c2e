from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from local.devstack import DevStack
from local.gateway import invoke
from local.template import functions_of
from tests.stack import Api, running_stack
from tests.waiting import wait_until

# The sandbox's spread: buy = spot * 1.015, sell = spot * 0.985 (local/minted_sandbox).
SPREAD = Decimal("0.015")


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    yield from running_stack()


@pytest.fixture
def market(api: Api) -> Api:
    """Prices that move only when a test moves them (gold's spot 3000 TRY/g, silver's 35), and no trigger
    left waiting by another test (it would fire on this one's moves)."""
    table = api.stack.env["TRIGGERS_TABLE"]
    # Every page, 25 deletes a request: one by one, the 10,000 a test leaves took a slow machine minutes.
    pages = api.dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="trigger_id")
    keys = [item for page in pages for item in page.get("Items", [])]
    for start in range(0, len(keys), 25):
        batch = {table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        while batch:
            batch = api.dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
    api.minted.market(frozen=True, GAU=3000, GAG=35, GPT=1100)
    return api


def refresh() -> dict[str, Any]:
    """One scheduled price refresh, as EventBridge Scheduler delivers it (the template's input)."""
    result: dict[str, Any] = invoke(functions_of()["PricesFunction"], {"action": "refresh_prices", "currency": "TRY"})
    return result


def expires_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def conditional_buy(
    external_id: str, trigger_price: str = "2800", *, amount: str = "1.5", **extra: Any
) -> dict[str, Any]:
    return {"external_id": external_id, "side": "buy", "sku": "GAU", "amount": Decimal(amount),
            "trigger_price": Decimal(trigger_price), "expires_at": expires_in(86400), **extra}  # fmt: skip


def settled(api: Api, path: str, states: tuple[str, ...] = ("ORDERED", "FAILED")) -> dict[str, Any]:
    """The trigger once the fired-orders consumer has settled it (polled, never slept)."""
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(api.get(path).json())
        return seen.get("state") in states

    wait_until(done, what=f"{path} in {states}")
    return seen


class BusEvents:
    """What lands on the order-events bus with these detail-types, through a rule to a queue (as a consumer's)."""

    def __init__(self, stack: DevStack, *detail_types: str) -> None:
        endpoint = {"endpoint_url": stack.aws_url, "region_name": "eu-central-1"}
        self._sqs = boto3.client("sqs", **endpoint)
        events = boto3.client("events", **endpoint)
        bus = stack.env["ORDER_EVENTS_BUS"]
        name = f"test-{int(time.time() * 1000)}"
        self._queue = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])["Attributes"]
        arn = attributes["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": list(detail_types)}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "test", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        for message in self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", []):
            detail = json.loads(message["Body"])["detail"]
            VALIDATOR.validate(detail)  # every event a test sees is one the published schema allows
            self.seen.append(detail)
            self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
        return self.seen


SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "conditional-events.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
