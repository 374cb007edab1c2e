"""The buy workflow keeps no personal data (issue 20): on make dev's stack, a customer whose identity
number, email, phone, names and birthdate are marker strings is bought for through the workflow, and
nothing Step Functions keeps (DescribeExecution, every history event), no order event, no message in
any queue (dead letters included) and no log line holds a marker. Once for a workflow that succeeds,
once for one Minted refuses (quoting the customer back), once for one that is retried (throttled,
then its answer lost), and once for one that fails before it buys."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.gateway import invoke
from local.template import functions_of
from minted_gateway.orders.workflow_customers import CustomerNotHeld
from tests.api.test_logs import log_lines  # noqa: F401 - the fixture
from tests.events.test_order_events_stack import Consumer, consumer  # noqa: F401 - the fixture
from tests.stack import Api, customer

BIRTHDATE = "1931-07-23"  # a date: no marker fits, so an unusual one, in both of Minted's forms
BIRTHDATE_FORMS = (BIRTHDATE, "23-07-1931", "23.07.1931")


def marked_customer() -> tuple[dict[str, Any], list[str]]:
    mark = uuid.uuid4().hex[:10]
    digits = "".join(random.choices("0123456789", k=9))
    person = customer(
        f"cust-{mark}",
        identity_number=f"7{digits}3",
        email=f"mark{mark}@example.org",
        phone=f"+9055{digits[:8]}",
        firstname=f"First{mark}",
        middlename=f"Middle{mark}",
        lastname=f"Last{mark}",
        birthdate=BIRTHDATE,
    )
    markers = [person[k] for k in ("identity_number", "email", "firstname", "middlename", "lastname")]
    return person, [*markers, person["phone"], person["phone"].lstrip("+"), *BIRTHDATE_FORMS]


def every_queue_message(api: Api) -> list[str]:
    """Every message in every queue of the stack (the dead-letter queues among them), left in place."""
    sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    bodies = []
    for url in sqs.list_queues().get("QueueUrls", []):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        bodies += [json.dumps(message) for message in answer.get("Messages", [])]
    return bodies


def what_the_stack_kept(api: Api, arn: str, external_id: str, events_queue: Consumer, events: int) -> str:
    sfn = boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    kept = [json.dumps(sfn.describe_execution(executionArn=arn), default=str)]
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert len(history) > 5
    kept += [json.dumps(event, default=str) for event in history]
    order_events = events_queue.events_of(external_id, events)
    assert len(order_events) >= events, order_events
    kept += [json.dumps(event) for event in order_events]
    kept += every_queue_message(api)
    kept.append(api.raw_ledger_item(external_id))
    return "\n".join(kept)


def assert_none_of(markers: list[str], text: str) -> None:
    found = [marker for marker in markers if marker in text]
    assert not found, f"personal data kept: {found}"


def held_customer(api: Api, external_id: str) -> dict[str, Any]:
    table = api.stack.env["WORKFLOW_CUSTOMERS_TABLE"]
    item: dict[str, Any] = api.dynamodb.get_item(TableName=table, Key={"external_id": {"S": external_id}})
    return item


def run(api: Api, person: dict[str, Any], **fields: Any) -> tuple[str, dict[str, Any]]:
    external_id = f"pd-{uuid.uuid4().hex[:6]}g{uuid.uuid4().hex[:6]}"
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}], "customer": person,
            "poll_interval_seconds": 1, **fields}  # fmt: skip
    started = api.post("/orders/workflow", body)
    assert started.status_code == 202, started.text
    return external_id, api.wait_for_execution(started.json()["execution_arn"])


Scenario = Callable[[Api], None]
SCENARIOS: dict[str, tuple[Scenario, str, str | None, int]] = {
    # name: (what to set up, the execution's status, its error, order events at least)
    "succeeds": (lambda api: None, "SUCCEEDED", None, 2),
    "Minted refuses, quoting the customer": (
        lambda api: api.minted.fault("buy", status=422, echo=True, times=1), "FAILED", "CustomerDetailsRequired", 1),
    "retried": (
        lambda api: (api.stack.router.throttle("BuyFunction", times=2),  # type: ignore[union-attr]
                     api.minted.fault("buy", drop="after_commit", times=1)), "SUCCEEDED", None, 2),
}  # fmt: skip


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_buy_workflow_keeps_no_personal_data(
    api: Api,
    consumer: Consumer,  # noqa: F811 - the fixture
    log_lines: list[str],  # noqa: F811 - the fixture
    capfd: pytest.CaptureFixture[str],
    scenario: str,
) -> None:
    set_up, status, error, events = SCENARIOS[scenario]
    person, markers = marked_customer()
    set_up(api)
    external_id, execution = run(api, person)
    assert execution["status"] == status and execution.get("error") == error, execution
    row = api.ledger_item(external_id)
    assert row is not None and row["customer_external_id"] == person["external_id"] and row["mode"] == "B2B2C"
    assert api.minted.orders_created() == (1 if status == "SUCCEEDED" else 0)
    if error is not None and row["state"] == "REJECTED":  # Minted's refusal is kept, without what it quoted
        assert "[personal data]" in json.dumps(row["rejection"]), row["rejection"]
    kept = what_the_stack_kept(api, execution["executionArn"], external_id, consumer, events)
    out, err = capfd.readouterr()
    assert external_id in "\n".join(log_lines) + out + err  # the handlers did log this order
    assert_none_of(markers, kept + "\n".join(log_lines) + out + err)
    assert "Item" not in held_customer(api, external_id)  # the customer is let go as the workflow ends


def test_a_workflow_failing_before_it_buys_keeps_no_personal_data_and_a_retry_of_it_buys_for_the_customer(
    api: Api,
    consumer: Consumer,  # noqa: F811 - the fixture
    log_lines: list[str],  # noqa: F811 - the fixture
    capfd: pytest.CaptureFixture[str],
) -> None:
    person, markers = marked_customer()
    external_id, execution = run(api, person, guard={"max_total": Decimal("1.00")})
    assert execution["status"] == "FAILED" and execution["error"] == "PriceGuardExceeded"
    row = api.ledger_item(external_id)
    assert row is not None and row["state"] == "NOT_PLACED" and row["customer_external_id"] == person["external_id"]
    assert "Item" not in held_customer(api, external_id)
    # The NOT_PLACED row still recognises the customer it was for: the same order bought directly replays nothing
    # else, and another customer under the id is a conflict.
    body = {"external_id": external_id, "price_token": api.quote(), "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}
    assert api.post("/orders", {**body, "customer": customer("someone-else")}).status_code == 409
    assert api.post("/orders", {**body, "customer": person}).status_code == 201
    sfn = boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    kept = json.dumps(sfn.describe_execution(executionArn=execution["executionArn"]), default=str)
    kept += json.dumps(sfn.get_execution_history(executionArn=execution["executionArn"])["events"], default=str)
    kept += "\n".join(json.dumps(e) for e in consumer.events_of(external_id, 1)) + "\n".join(every_queue_message(api))
    out, err = capfd.readouterr()
    assert_none_of(markers, kept + api.raw_ledger_item(external_id) + "\n".join(log_lines) + out + err)


def test_a_refusal_of_personal_fields_names_them_without_their_values(api: Api) -> None:
    person, markers = marked_customer()
    person = {**person, "identity_number": "9" * 65 + markers[1], "email": markers[1] * 12, "birthdate": markers[2]}
    body = {"external_id": "pd-bad", "items": [{"sku": "GAU", "amount": 1}], "customer": person}
    for path in ("/orders/workflow", "/orders"):
        refused = api.post(path, {**body, "price_token": "x" * 32} if path == "/orders" else body)
        assert refused.status_code == 422, refused.text
        fields = {d["field"] for d in refused.json()["error"]["details"]}
        assert {"customer.identity_number", "customer.email", "customer.birthdate"} <= fields, fields
        assert_none_of(markers, refused.text)


def test_a_buy_retried_after_its_customer_was_let_go_replays_its_order_and_buys_nothing(api: Api) -> None:
    """Lambda ran the buy but its answer never reached Step Functions, which runs it again: the
    customer is gone by then, and the row this execution settled answers instead."""
    person, _ = marked_customer()
    external_id, execution = run(api, person)
    assert execution["status"] == "SUCCEEDED" and "Item" not in held_customer(api, external_id)
    sfn = boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    scheduled = [json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]
                 for e in sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
                 if e["type"] == "TaskScheduled"]  # fmt: skip
    (payload,) = (p for p in scheduled if p.get("action") == "place_order")
    assert "customer" not in payload["order"] and payload["order"]["customer_held"]
    buy = functions_of()["BuyFunction"]
    again = invoke(buy, payload)
    assert again["state"] == "SUBMITTED" and api.minted.orders_created() == 1
    with pytest.raises(CustomerNotHeld):  # another execution's buy under this id gets nothing
        invoke(buy, {**payload, "execution": "another-execution"})
    assert api.minted.orders_created() == 1


def test_minteds_refusal_quoting_the_customer_reaches_neither_the_answer_nor_the_ledger(api: Api) -> None:
    person, markers = marked_customer()
    api.minted.fault("buy", status=422, echo=True, times=1)
    body = {"external_id": f"pd-{uuid.uuid4().hex[:6]}g{uuid.uuid4().hex[:6]}", "price_token": api.quote(),
            "customer": person,
            "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}  # fmt: skip
    refused, replayed = api.post("/orders", body), api.post("/orders", body)
    assert refused.status_code == replayed.status_code == 422, refused.text
    assert "[personal data]" in refused.text and refused.json()["error"]["details"][0]["field"] == "customer.email"
    assert_none_of(markers, refused.text + replayed.text + api.raw_ledger_item(body["external_id"]))


def start_execution_fails(monkeypatch: pytest.MonkeyPatch, failure: Callable[[], Exception], *, after: bool) -> None:
    """StartExecution ends in ``failure``: botocore's last word after its retries (``after``: once Step
    Functions started it, as when the answer is lost on the way back)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "StartExecution":
            if after:
                original(self, operation, params)
            raise failure()
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)


def test_a_workflow_step_functions_did_not_start_keeps_no_customer(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a security review: the customer, held for the execution before it starts, stayed for the
    execution's longest run (43 h here) when Step Functions refused to start it, and the answer was a 500."""
    from botocore.exceptions import ClientError

    person, markers = marked_customer()
    refusal = {
        "Error": {"Code": "ExecutionLimitExceeded", "Message": "limit"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    start_execution_fails(monkeypatch, lambda: ClientError(refusal, "StartExecution"), after=False)  # type: ignore[arg-type]
    external_id = f"pd-{uuid.uuid4().hex[:6]}g{uuid.uuid4().hex[:6]}"
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}], "customer": person,
            "poll_interval_seconds": 300, "max_polls": 500}  # fmt: skip
    answer = api.post("/orders/workflow", body)
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "workflow_unavailable", answer.text
    assert "Item" not in held_customer(api, external_id)
    assert api.ledger_item(external_id) is None and api.minted.served("pricefix") == 0
    assert_none_of(markers, answer.text)
    monkeypatch.undo()
    execution = api.wait_for_execution(api.post("/orders/workflow", {**body, "poll_interval_seconds": 1})
                                       .json()["execution_arn"])  # fmt: skip
    assert execution["status"] == "SUCCEEDED"  # and a retry buys


def throttled_after_a_retry() -> Exception:
    from botocore.exceptions import ClientError

    answer = {"Error": {"Code": "ThrottlingException", "Message": "slow down"},
              "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 1}}  # fmt: skip
    return ClientError(answer, "StartExecution")  # type: ignore[arg-type]


def read_timeout() -> Exception:
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url="https://states")


@pytest.mark.parametrize("failure", [read_timeout, throttled_after_a_retry])
def test_a_workflow_whose_start_went_unanswered_keeps_its_customer_for_the_execution(
    api: Api, monkeypatch: pytest.MonkeyPatch, failure: Callable[[], Exception]
) -> None:
    """No answer from Step Functions, or a refusal of a retry after an attempt that may have started it (found by
    a code review): its buy reads the customer, so the hold stays; the same request again finds the execution."""
    person, _ = marked_customer()
    start_execution_fails(monkeypatch, failure, after=True)
    external_id = f"pd-{uuid.uuid4().hex[:6]}g{uuid.uuid4().hex[:6]}"
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}], "customer": person,
            "poll_interval_seconds": 1}  # fmt: skip
    answer = api.post("/orders/workflow", body)
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "workflow_unavailable", answer.text
    monkeypatch.undo()
    arn = api.stack.workflow_arn.replace(":stateMachine:", ":execution:") + f":{external_id}"
    assert api.wait_for_execution(arn)["status"] == "SUCCEEDED"  # it found its customer, with no retry
    again = api.post("/orders/workflow", body)
    assert again.status_code == 202 and again.json()["execution_arn"] == arn, again.text
    assert api.minted.orders_created() == 1 and "Item" not in held_customer(api, external_id)
