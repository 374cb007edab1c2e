"""Order events end to end on make dev's stack: the ledger's stream, the pipe, the bus, a consumer's queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.api.test_orders import _stranger_buys as stranger_buys
from tests.api.test_sell import hold, sell, sell_quote
from tests.events.test_order_events import VALIDATOR
from tests.stack import Api, order

# How long an event may take from the ledger to the consumer's queue before the test gives up; the
# local pipe polls every 0.2 s, so this only bounds a broken pipe, it is no performance target.
ARRIVAL_SECONDS = 30


class Consumer:
    """What a partner's service does: a rule on the order-events bus sending every event to its queue."""

    def __init__(self, api: Api) -> None:
        url, region = api.stack.aws_url, "eu-central-1"
        self.sqs = boto3.client("sqs", endpoint_url=url, region_name=region)
        self.events = boto3.client("events", endpoint_url=url, region_name=region)
        (self.bus,) = api.stack.buses
        name = f"consumer-{uuid.uuid4().hex[:8]}"
        self.queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.rule = name
        self.events.put_rule(
            Name=name, EventBusName=self.bus, EventPattern=json.dumps({"source": ["minted-gateway.orders"]})
        )
        self.events.put_targets(Rule=name, EventBusName=self.bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
        self.received: list[dict[str, Any]] = []

    def events_of(self, external_id: str, count: int) -> list[dict[str, Any]]:
        """The EventBridge events of one order, in the order they arrived, once ``count`` have arrived."""
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            for message in answer.get("Messages", []):
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            mine = [e for e in self.received if e["detail"]["external_id"] == external_id]
            if len(mine) >= count or time.monotonic() > deadline:
                return mine
            time.sleep(0.1)

    def close(self) -> None:
        self.events.remove_targets(Rule=self.rule, EventBusName=self.bus, Ids=["queue"])
        self.events.delete_rule(Name=self.rule, EventBusName=self.bus)
        self.sqs.delete_queue(QueueUrl=self.queue_url)


@pytest.fixture
def consumer(api: Api) -> Iterator[Consumer]:
    consumer = Consumer(api)
    yield consumer
    consumer.close()


def distinct(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a consumer keeps: the first event of each event_id (delivery is at least once)."""
    seen: set[str] = set()
    kept = []
    for event in events:
        if event["detail"]["event_id"] not in seen:
            seen.add(event["detail"]["event_id"])
            kept.append(event)
    return kept


def test_a_buy_that_goes_created_pending_completed_publishes_its_three_events_in_order(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    # The sandbox's order clock holds the order at Created until told otherwise.
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)
    body = order(order_id, api.quote())
    assert api.post("/orders", body).status_code == 201
    assert api.post("/orders", body).headers["Idempotent-Replayed"] == "true"  # a replay changes nothing
    assert api.get(f"/orders/{order_id}").json()["status"] == "Created"  # nor does a read that finds no news
    api.minted.clock(advance_seconds=601)
    assert api.get(f"/orders/{order_id}").json()["status"] == "Pending"
    api.minted.clock(completion_delay_seconds=1)
    assert api.get(f"/orders/{order_id}").json()["status"] == "Completed"

    events = distinct(consumer.events_of(order_id, 3))
    details = [e["detail"] for e in events]
    assert [(d["type"], d["state"], d["status"]) for d in details] == [
        ("OrderSubmitted", "SUBMITTED", "Created"),
        ("OrderStatusChanged", "SUBMITTED", "Pending"),
        ("OrderCompleted", "SUBMITTED", "Completed"),
    ]
    assert [e["detail-type"] for e in events] == [d["type"] for d in details]
    assert {e["source"] for e in events} == {"minted-gateway.orders"}
    versions = [d["version"] for d in details]
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert [d["event_id"] for d in details] == [f"{order_id}:{v}" for v in versions]
    row = api.ledger_item(order_id)
    assert row is not None and row["version"] == versions[-1] and details[-1]["final"] is True
    assert details[0]["order_codes"] == row["order_codes"] and details[0]["total"] == format(row["total"], "f")
    for detail in details:
        VALIDATOR.validate(detail)
        assert "customer" not in json.dumps(detail)
    assert api.minted.orders_created() == 1


def test_a_sell_publishes_its_events_in_order_with_side_sell(api: Api, order_id: str, consumer: Consumer) -> None:
    hold(api)
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)
    body = sell(order_id, sell_quote(api)["price_token"])
    assert api.post("/orders", body).status_code == 201
    assert api.post("/orders", body).headers["Idempotent-Replayed"] == "true"
    api.minted.clock(advance_seconds=601)
    assert api.get(f"/orders/{order_id}").json()["status"] == "Pending"
    api.minted.clock(completion_delay_seconds=1)
    assert api.get(f"/orders/{order_id}").json()["status"] == "Completed"

    details = [e["detail"] for e in distinct(consumer.events_of(order_id, 3))]
    assert [(d["type"], d["side"], d["status"]) for d in details] == [
        ("OrderSubmitted", "sell", "Created"),
        ("OrderStatusChanged", "sell", "Pending"),
        ("OrderCompleted", "sell", "Completed"),
    ]
    versions = [d["version"] for d in details]
    assert versions == sorted(versions) and len(set(versions)) == 3
    for detail in details:
        VALIDATOR.validate(detail)
    assert api.minted.orders_created("sell") == 1


def test_a_rejected_order_publishes_one_order_rejected_and_its_replay_nothing(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=403, times=1)
    assert api.post("/orders", body).status_code == 403
    assert api.post("/orders", body).status_code == 403  # replayed from the ledger
    other = f"ord-{uuid.uuid4().hex[:20]}"  # a later order: once its event is in, the rejected one's are too
    assert api.post("/orders", order(other, api.quote())).status_code == 201
    consumer.events_of(other, 1)
    details = [e["detail"] for e in consumer.events_of(order_id, 1)]
    assert [(d["type"], d["state"], d["rejection"]) for d in details] == [
        ("OrderRejected", "REJECTED", {"code": details[0]["rejection"]["code"]})
    ]
    assert (
        details[0]["final"] is True and details[0]["event_id"] == f"{order_id}:{api.ledger_item(order_id)['version']}"
    )  # type: ignore[index]
    VALIDATOR.validate(details[0])
    assert api.minted.orders_created() == 1  # the later order only: the refused one never reached the books


def test_a_lost_answer_needs_attention_until_a_lookup_settles_it(api: Api, order_id: str, consumer: Consumer) -> None:
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", order(order_id, api.quote())).status_code == 202
    assert api.get(f"/orders/{order_id}").json()["state"] == "SUBMITTED"
    details = [e["detail"] for e in distinct(consumer.events_of(order_id, 2))]
    assert [(d["type"], d["state"]) for d in details] == [
        ("OrderNeedsAttention", "UNKNOWN"),
        ("OrderSubmitted", "SUBMITTED"),
    ]
    assert details[0]["attention"] == {"reason": "outcome_unknown"}
    assert details[1]["previous"]["state"] in ("UNKNOWN", "RECEIVED")
    assert api.minted.orders_created() == 1


def test_a_strangers_order_under_our_id_publishes_one_order_needs_attention(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    stranger_buys(order_id)
    body = order(order_id, api.quote(), amount="5")
    assert api.post("/orders", body).status_code == 409
    assert api.post("/orders", body).status_code == 409  # a replay
    assert api.get(f"/orders/{order_id}").status_code == 409  # and a read change nothing
    fence = f"ord-{uuid.uuid4().hex[:20]}"  # a later order: once its event is in, the stranger's are too
    assert api.post("/orders", order(fence, api.quote())).status_code == 201
    consumer.events_of(fence, 1)
    details = [e["detail"] for e in consumer.events_of(order_id, 1)]
    assert [(d["type"], d["state"], d["attention"], d["final"]) for d in details] == [
        ("OrderNeedsAttention", "FOREIGN", {"reason": "foreign_order"}, True)
    ]
    # Nothing of the stranger's order is shown as ours: no codes, no status, our own lines.
    assert details[0]["order_codes"] == [] and details[0]["status"] is None
    assert [(line["sku"], line["amount"]) for line in details[0]["lines"]] == [("GAU", "5")]
    VALIDATOR.validate(details[0])


def test_an_orders_events_name_who_placed_it_and_neither_the_token_nor_its_customer(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    token = api.mint(customer="cust-0001", subject="user-4711", client_id="mobile-app")
    assert api.as_caller(token).post("/orders", order(order_id, api.quote())).status_code == 201
    (event, *_) = distinct(consumer.events_of(order_id, 1))
    detail = event["detail"]
    VALIDATOR.validate(detail)
    assert detail["caller"] == {"sub": "user-4711", "client_id": "mobile-app", "principal": None}
    assert token.rsplit(".", 1)[1] not in json.dumps(event) and "cust-0001" not in json.dumps(event)
