"""Personal data goes to Minted and nowhere it would stay: planted markers, looked for everywhere.

A customer whose every personal field is a value no other test uses (names, middle name, birthdate,
email, phone, identity number) is bought for, sold for, created, changed, refused and reconciled on
make dev's stack with its order-events pipe. Then every place a run leaves something is read: the raw
log records (as the code made them, before the redaction filter could mask anything: a name or a
birthdate has no shape a filter knows), every item of every table, every order event a consumer got,
every message in every queue (the dead letters among them). No marker may be in any of them.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import boto3

from local.gateway import invoke
from local.template import functions_of, load_template
from tests.conftest import RUN
from tests.events.test_order_events_stack import Consumer
from tests.stack import Api, order
from tests.waiting import wait_until

TAG = uuid.uuid4().hex[:6]
DIGITS = str(int(TAG, 16) % 10**6).zfill(6)
# Letters only in names (the rules for names), one value per field, found nowhere else in the suite.
NAME_LETTERS = "".join("ğüşıöç"[int(c, 16) % 6] for c in TAG)
MARKERS = {
    "firstname": f"Firstmark{NAME_LETTERS}",
    "middlename": f"Middlemark{NAME_LETTERS}",
    "lastname": f"Lastmark{NAME_LETTERS}",
    "email": f"mail.mark.{TAG}@example.org",
    "phone": f"+90555{DIGITS}9",
    "identity_number": f"7{DIGITS}4321",
    "birthdate": f"1931-0{int(TAG[0], 16) % 9 + 1}-2{int(TAG[1], 16) % 8 + 1}",
}
CHANGED = {"firstname": f"Changedmark{NAME_LETTERS}", "email": f"changed.mark.{TAG}@example.org",
           "phone": f"+90554{DIGITS}8"}  # fmt: skip


def written_forms(values: dict[str, str]) -> list[str]:
    """Each marker, and the other ways it may be written: a date day first, a phone without its +."""
    forms = list(values.values())
    if "birthdate" in values:
        year, month, day = values["birthdate"].split("-")
        forms += [f"{day}-{month}-{year}", f"{day}.{month}.{year}", f"{day}/{month}/{year}", f"{year}{month}{day}"]
    forms += [value.removeprefix("+") for key, value in values.items() if key == "phone"]
    forms += [value.casefold() for key, value in values.items() if key.endswith("name")]
    return forms


SECRETS = written_forms(MARKERS) + written_forms(CHANGED)
RECONCILER = functions_of(load_template())["ReconcileFunction"]


def person(external_id: str, **changes: str) -> dict[str, Any]:
    return {"external_id": external_id, **MARKERS, "gender": "F", **changes}


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def every_table_item(api: Api) -> list[str]:
    items = []
    for table in api.dynamodb.list_tables()["TableNames"]:
        for page in api.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items += [json.dumps(item, ensure_ascii=False) for item in page["Items"]]
    return items


def every_queued_message(api: Api) -> list[str]:
    """Every message of every queue (the dead-letter queues too), left in place."""
    sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    messages = []
    for url in sqs.list_queues().get("QueueUrls", []):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
        messages += [json.dumps(m, ensure_ascii=False) for m in answer.get("Messages", [])]
    return messages


def test_no_personal_value_stays_anywhere_a_run_leaves_something(api: Api) -> None:
    consumer = Consumer(api)
    try:
        ids = _run_every_path(api)
        events = [json.dumps(e, ensure_ascii=False) for e in _events_of(consumer, ids)]
    finally:
        consumer.close()
    assert any(ids["bought"] in record for record in RUN.raw_records), "the buy logged nothing: the scan proves nothing"
    assert events, "no order event arrived: the scan of events proves nothing"
    places = {"raw log record": RUN.raw_records, "table item": every_table_item(api),
              "order event": events, "queued message": every_queued_message(api)}  # fmt: skip
    found = {where: [(leaks(text), text[:300]) for text in texts if leaks(text)] for where, texts in places.items()}
    assert not any(found.values()), {where: hits for where, hits in found.items() if hits}


def _run_every_path(api: Api) -> dict[str, str]:
    ids = {name: f"pd-{name}-{uuid.uuid4().hex[:10]}" for name in ("customer", "bought", "lost", "refused", "sold")}
    customer = ids["customer"]
    # The customer: created, created again with a lost answer, changed, read.
    assert api.post("/customers", person(customer)).status_code == 201
    api.minted.fault("create_customer", drop="after_commit", times=1)
    assert api.post("/customers", person(customer)).status_code in (200, 201)
    assert api.post("/customers", person(customer, lastname=f"Otherlast{NAME_LETTERS}")).status_code == 409
    assert api.http.patch(f"{api.url}/customers/{customer}", json=CHANGED).ok
    assert api.get(f"/customers/{customer}").status_code == 200
    assert api.get(f"/customers/{customer}/balances").status_code == 200
    # Buys naming the customer in full: accepted, lost and retried, refused by Minted, refused by us.
    buyer = person(f"{customer}-b")
    assert (
        api.post("/orders", order(ids["bought"], api.quote(amount="3"), amount="3", customer=buyer)).status_code == 201
    )
    lost = order(ids["lost"], api.quote(), customer=buyer)
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", lost).status_code == 202
    assert api.post("/orders", lost).status_code == 200
    api.minted.fault("buy", status=422, times=1)
    assert api.post("/orders", order(ids["refused"], api.quote(), customer=buyer)).status_code == 422
    bad = order(f"{ids['refused']}-x", api.quote(), customer=buyer, items=[{"sku": "GAU", "amount": "-1"}])
    assert api.post("/orders", bad).status_code == 422
    # A sell naming its customer in full, then reads and the reconciler's two runs.
    quoted = api.post("/quotes", {"side": "sell", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}).json()
    sold = {**order(ids["sold"], quoted["price_token"], amount="0.5", side="sell"), "customer": buyer}
    assert api.post("/orders", sold).status_code == 201, "a sell names its customer in full too"
    for external_id in (ids["bought"], ids["lost"], ids["refused"], ids["sold"]):
        api.get(f"/orders/{external_id}")
    assert api.get(f"/orders?customer_external_id={buyer['external_id']}").status_code == 200
    invoke(RECONCILER, {"action": "reconcile"})
    invoke(RECONCILER, {"action": "compare_with_minted"})
    return ids


def _events_of(consumer: Consumer, ids: dict[str, str]) -> list[dict[str, Any]]:
    wait_until(lambda: bool(consumer.events_of(ids["sold"], 1)), what="the sell's order event")
    return [event for name in ("bought", "lost", "refused", "sold") for event in consumer.events_of(ids[name], 1)]


def test_no_personal_value_stays_in_a_workflows_state(api: Api) -> None:
    sfn = boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    external_id = f"pd-wf-{uuid.uuid4().hex[:10]}"
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}],
            "customer": person(f"pd-wf-c-{TAG}"), "poll_interval_seconds": 1, "max_polls": 2}  # fmt: skip
    started = api.post("/orders/workflow", body)
    assert started.status_code == 202, started.text
    arn = started.json()["execution_arn"]
    api.wait_for_execution(arn)
    state = [json.dumps(sfn.describe_execution(executionArn=arn), default=str, ensure_ascii=False)]
    state += [json.dumps(e, default=str, ensure_ascii=False)
              for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]  # fmt: skip
    assert not [leaks(text) for text in state if leaks(text)]
