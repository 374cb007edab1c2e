"""Every operation through every fault: the answer, the buys (or sells) at Minted, and whether the ledger agrees.

Invariants checked in every case: no 500, no stack trace, credential or personal data in the
answer; at most one buy (a sell: one sell) at Minted per external_id; after the fault clears, the next GET leaves a
ledger row that agrees with Minted (Minted has the order exactly when the row says SUBMITTED).
The buy, get-order and workflow runs are repeated with Minted splitting a buy into one order per
item. Then the cases where the id belongs to another order: a stranger's order at Minted, and a
workflow started under the id of an order the ledger holds.

Each case's outcome must be its row of the expected table (tests/reliability/matrix.py), asserted as
it is reported; docs/reliability.md's matrix is rendered from that table.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local import reconcile as reconcile_command
from local import stackfile
from local.gateway import invoke as invoke_function
from local.template import functions_of, load_template
from minted_gateway import runtime
from minted_gateway.dynamodb import from_item
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models import BuyRequest, Currency, OrderLine, PriceFixRequest
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, VALID_TCKN
from tests.dynamodb_faults import dynamodb_failing
from tests.reliability.report import MatrixRow, Report
from tests.reliability.test_edges import Errors
from tests.stack import Api, customer, order
from tests.waiting import wait_until

ROTATED_PASSWORD = "rotated-Partner-Password-7"
PERSONAL = (VALID_TCKN, "ayse.yilmaz@example.com", "+905322808035")
WORKFLOW_POLLS = {"poll_interval_seconds": 2, "max_polls": 4}


@dataclass(frozen=True)
class Fault:
    name: str
    sandbox: dict[str, Any] | None = None  # a sandbox fault on the operation's Minted endpoint
    special: str | None = None


FAULTS = [
    Fault(
        "latency beyond the client timeout", {"latency_ms": 3000}
    ),  # 2 s past the 1 s timeout: a busy machine's slack
    Fault("HTTP 500", {"status": 500}),
    Fault("HTTP 502", {"status": 502}),
    Fault("HTTP 503", {"status": 503}),
    Fault("429 with Retry-After", {"status": 429, "retry_after": 1}),
    Fault("connection dropped before commit", {"drop": "before_commit"}),
    Fault("connection dropped after commit", {"drop": "after_commit"}),
    Fault("malformed body", {"body": "malformed"}),
    Fault("empty body", {"body": "empty"}),
    Fault("price token expired between quote and buy", special="expire_token"),
    Fault("rotated secret", special="rotate_secret"),
    Fault("DynamoDB throttling", special="dynamodb_throttling"),
    Fault("ledger write failed after Minted answered", special="update_fails"),
]
SPLIT = " (split orders)"
LIMITED = " (customer day limit)"  # a buy with the customer's daily limit on: what it reserved must come back
# A split buy's orders are refreshed one by one by guid, through Get Order (Alternative).
ENDPOINT = {"quote": "pricefix", "buy": "buy", "get order": "get_order", "prices": "prices", "legal": "legal",
            "workflow": "buy", "sell": "sell", "buy" + SPLIT: "buy", "get order" + SPLIT: "find_order",
            "workflow" + SPLIT: "buy", "create customer": "create_customer", "buy" + LIMITED: "buy"}  # fmt: skip
TWO_ITEMS = [{"sku": "GAU", "amount": Decimal("1.5")}, {"sku": "GAG", "amount": Decimal("2")}]


@contextmanager
def fault_active(api: Api, operation: str, fault: Fault) -> Iterator[None]:
    if fault.sandbox is not None:
        api.minted.fault(ENDPOINT[operation], **fault.sandbox)
        try:
            yield
        finally:
            api.minted.clear_faults()
    elif fault.special == "dynamodb_throttling":
        with dynamodb_failing(("GetItem", "PutItem", "UpdateItem"), "ProvisionedThroughputExceededException", 400):
            yield
    elif fault.special == "update_fails":
        with dynamodb_failing(("UpdateItem",), "InternalServerError", 500):
            yield
    elif fault.special == "rotate_secret":
        secrets = api.secrets()
        api.minted.rotate_credentials(SANDBOX_USER, ROTATED_PASSWORD)
        api.put_partner_secret(secrets, ROTATED_PASSWORD)
        try:
            yield
        finally:
            api.put_partner_secret(secrets, SANDBOX_PASSWORD)
    elif fault.special == "expire_token":
        api.minted.clock(token_ttl_seconds=0)
        yield
    else:
        raise AssertionError(fault)


@dataclass
class Observed:
    answer: str
    body: str
    external_id: str | None = None
    ledger_after: str = "-"


def answer_of(response: Any) -> str:
    code = ""
    try:
        payload = response.json()
        code = payload.get("error", {}).get("code", "") if isinstance(payload, dict) else ""
        if not code and isinstance(payload, dict) and payload.get("stale"):
            code = "stale"
        if not code and isinstance(payload, dict) and payload.get("state"):
            code = payload["state"]
    except ValueError:
        pass
    return f"{response.status_code} {code}".strip()


def state_of(api: Api, external_id: str) -> str:
    row = api.ledger_item(external_id)
    return row["state"] if row else "none"


# ---------------------------------------------------------------- the operations
def run_quote(api: Api, fault: Fault) -> Observed:
    with fault_active(api, "quote", fault):
        response = api.post("/quotes", {"items": [{"sku": "GAU", "amount": Decimal("1")}]})
    return Observed(answer_of(response), response.text)


def run_buy(api: Api, fault: Fault, operation: str = "buy", items: list[dict[str, Any]] | None = None) -> Observed:
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    if fault.special == "expire_token":
        token = api.quote()
        api.minted.clock(advance_seconds=241)  # it expires between the quote and the buy
    else:
        token = api.quote()
    body = order(external_id, token, **({"items": items} if items else {}))
    active = fault if fault.special != "expire_token" else Fault(fault.name, special="none")
    with fault_active(api, operation, active) if active.special != "none" else _nothing():
        response = api.post("/orders", body)
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


def run_sell(api: Api, fault: Fault) -> Observed:
    """A customer's sell of part of what they hold (bought before the fault), once per external_id."""
    held = api.post("/orders", order(f"mx-{uuid.uuid4().hex[:16]}", api.quote(amount="2"), amount="2"))
    assert held.status_code == 201, held.text
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    quoted = api.post("/quotes", {"side": "sell", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]})
    assert quoted.status_code == 201, quoted.text
    if fault.special == "expire_token":
        api.minted.clock(advance_seconds=241)  # it expires between the quote and the sell
    body = order(external_id, quoted.json()["price_token"], amount="0.5", with_customer=False, side="sell",
                 customer_external_id=customer()["external_id"])  # fmt: skip
    with fault_active(api, "sell", fault) if fault.special != "expire_token" else _nothing():
        response = api.post("/orders", body)
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


def run_get_order(
    api: Api, fault: Fault, operation: str = "get order", items: list[dict[str, Any]] | None = None
) -> Observed:
    api.minted.clock(completion_delay_seconds=None)  # stays Pending, so a GET asks Minted
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    placed = api.post("/orders", order(external_id, api.quote(), **({"items": items} if items else {})))
    assert placed.status_code == 201
    with fault_active(api, operation, fault) if fault.special != "expire_token" else _nothing():
        response = api.get(f"/orders/{external_id}")
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


def run_prices(api: Api, fault: Fault) -> Observed:
    assert api.get("/prices").status_code == 200
    api.age_price_cache(3600)  # stale: this GET has to ask Minted
    with fault_active(api, "prices", fault) if fault.special != "expire_token" else _nothing():
        response = api.get("/prices")
    return Observed(answer_of(response), response.text)


def run_legal(api: Api, fault: Fault) -> Observed:
    runtime.legal_documents.cache_clear()  # a cold container: this GET has to ask Minted
    with fault_active(api, "legal", fault) if fault.special != "expire_token" else _nothing():
        response = api.get("/legal/kvkk_disclosure")
    return Observed(answer_of(response), response.text)


def run_workflow(
    api: Api, fault: Fault, operation: str = "workflow", items: list[dict[str, Any]] | None = None
) -> Observed:
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    body = {"external_id": external_id, "items": items or [{"sku": "GAU", "amount": Decimal("0.5")}],
            "customer": customer(), **WORKFLOW_POLLS}  # fmt: skip
    with fault_active(api, operation, fault):
        started = api.post("/orders/workflow", body)
        if started.status_code != 202:  # refused before anything started (the ledger is read first)
            return Observed(answer_of(started), started.text, external_id, state_of(api, external_id))
        execution = api.wait_for_execution(started.json()["execution_arn"])
    if fault.special == "expire_token":
        api.minted.clock(token_ttl_seconds=240)
    end = execution["status"] + (f" {execution['error']}" if execution.get("error") else "")
    return Observed(end, json.dumps({k: v for k, v in execution.items() if k in ("error", "cause")}), external_id,
                    state_of(api, external_id))  # fmt: skip


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def split(run: Callable[..., Observed], operation: str) -> Callable[[Api, Fault], Observed]:
    """The same run with Minted making one order per item of a two-item buy."""

    def run_split(api: Api, fault: Fault) -> Observed:
        api.minted.settings(split_orders=True)
        return run(api, fault, operation + SPLIT, TWO_ITEMS)

    return run_split


def run_limited_buy(api: Api, fault: Fault) -> Observed:
    """A buy for a customer of its own with a daily limit set (the environment is set by test_fault)."""
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    token = api.quote()
    if fault.special == "expire_token":
        api.minted.clock(advance_seconds=241)
    body = order(external_id, token, customer=customer(f"lim-{external_id}"))
    with fault_active(api, "buy" + LIMITED, fault) if fault.special != "expire_token" else _nothing():
        response = api.post("/orders", body)
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


def day_counted(api: Api, external_id: str) -> tuple[Decimal, Decimal]:
    """The customer's counter for today, and what the order's attempts still hold of it."""
    items = [from_item(i) for i in api.dynamodb.scan(TableName=api.stack.env["LIMITS_TABLE"], ConsistentRead=True)[
        "Items"]]  # fmt: skip
    counted = sum((Decimal(i["total"]) for i in items if i["counter"].startswith(f"customer#lim-{external_id}#")),
                  Decimal(0))  # fmt: skip
    held = sum((Decimal(i["amount"]) for i in items if i["counter"] == f"hold#{external_id}"
                and i["state"] == "held"), Decimal(0))  # fmt: skip
    return counted, held


RUN: dict[str, Callable[[Api, Fault], Observed]] = {
    "quote": run_quote, "buy": run_buy, "get order": run_get_order, "prices": run_prices, "legal": run_legal,
    "workflow": run_workflow, "sell": run_sell, "buy" + SPLIT: split(run_buy, "buy"),
    "get order" + SPLIT: split(run_get_order, "get order"), "workflow" + SPLIT: split(run_workflow, "workflow"),
    "buy" + LIMITED: run_limited_buy,
}  # fmt: skip


# ---------------------------------------------------------------- card buys and deliveries (issue 24)
# Their own rows, kept apart for an easy merge: a card buy is run_buy with a card payment (one card
# buy at most, the CVV never in an answer); a delivery takes grams a buy before the fault put there.
CARD_BUY, DELIVERY = "card buy", "delivery"
CVV = "8317"


def run_card_buy(api: Api, fault: Fault) -> Observed:
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    token = api.quote()
    if fault.special == "expire_token":
        api.minted.clock(advance_seconds=241)
    payment = {"card_token": "card_visa_ok", "card_cvv": CVV, "customer_ip": "203.0.113.7"}
    body = order(external_id, token, payment=payment)
    with fault_active(api, CARD_BUY, fault) if fault.special != "expire_token" else _nothing():
        response = api.post("/orders", body)
    assert f'"{CVV}"' not in response.text and "card_cvv" not in response.text
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


def run_delivery(api: Api, fault: Fault) -> Observed:
    """2 g of the customer's gold delivered (a delivery has no price token: that row runs without a fault)."""
    held = api.post("/orders", order(f"mx-{uuid.uuid4().hex[:16]}", api.quote(amount="5"), amount="5"))
    assert held.status_code == 201, held.text
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    place = {"fullname": "Ayşe Yılmaz", "city": "İstanbul", "county": "Beykoz", "district": "Acarlar Mah.",
             "address": "No: 37/4"}  # fmt: skip
    address = {"billing": {**place, "invoice_type": "Individual"}, "shipping": place}
    body = {"external_id": external_id, "customer_external_id": customer()["external_id"], "sku": "GAU",
            "amount": 2, "address": address}  # fmt: skip
    with fault_active(api, DELIVERY, fault) if fault.special != "expire_token" else _nothing():
        response = api.post("/deliveries", body)
    return Observed(answer_of(response), response.text, external_id, state_of(api, external_id))


RUN.update({CARD_BUY: run_card_buy, DELIVERY: run_delivery})
ENDPOINT.update({CARD_BUY: "buy", DELIVERY: "delivery"})
UPSTREAM_KIND = {"sell": "sell", DELIVERY: "delivery"}  # what a run counts at Minted (a buy by default)


# A customer other than PERSONAL's: a create's own answer carries its data, its refusals must not.
MATRIX_CUSTOMER = {"firstname": "Matrixnur", "lastname": "Arızasız", "email": "matrix.customer@example.org",
                   "phone": "+905550001122", "identity_number": "GB-MATRIX-77"}  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_create_customer_fault(api: Api, report: Report, fault: Fault) -> None:
    """A create under a fault, then the same create once it clears: Minted ends up holding the customer
    as asked, and the retry answers it (no second customer: Minted refuses a taken id, the gateway
    looks it up)."""
    body = {"external_id": f"mx-{uuid.uuid4().hex[:16]}", **MATRIX_CUSTOMER}
    active = fault if fault.special not in ("expire_token", "dynamodb_throttling", "update_fails") else None
    with fault_active(api, "create customer", active) if active else _nothing():
        response = api.post("/customers", body)
    assert response.status_code != 500, response.text
    if response.status_code >= 400:
        for leak in ("Traceback", SANDBOX_PASSWORD, ROTATED_PASSWORD, *MATRIX_CUSTOMER.values()):
            assert leak not in response.text, f"{leak!r} in the answer"
    if "latency" in fault.name:
        wait_until(api.minted.idle)  # a slow create still finishes at Minted: retry after it has
    retry = api.post("/customers", body)
    assert retry.status_code in (200, 201), retry.text
    held = api.get(f"/customers/{body['external_id']}").json()
    assert {k: held[k] for k in MATRIX_CUSTOMER} == MATRIX_CUSTOMER
    assert api.minted.orders_created() == 0
    report.matrix.append(MatrixRow("create customer", fault.name, answer_of(response), "0",
                                   f"no ledger; retry {retry.status_code}", "yes"))  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
@pytest.mark.parametrize("operation", list(RUN))
def test_fault(api: Api, report: Report, operation: str, fault: Fault, monkeypatch: pytest.MonkeyPatch) -> None:
    if operation.endswith(LIMITED):
        monkeypatch.setenv("LIMIT_CUSTOMER_DAY_AMOUNT", "100000000")
        runtime.reset()
    try:
        _fault(api, report, operation, fault)
    finally:
        if operation.endswith(LIMITED):
            monkeypatch.undo()
            runtime.reset()


def _fault(api: Api, report: Report, operation: str, fault: Fault) -> None:
    observed = RUN[operation](api, fault)
    api.minted.clock(token_ttl_seconds=240)
    status = int(observed.answer.split()[0]) if observed.answer[0].isdigit() else None
    assert status != 500, observed.body
    for leak in ("Traceback", SANDBOX_PASSWORD, ROTATED_PASSWORD, *PERSONAL):
        assert leak not in observed.body, f"{leak!r} in the answer"

    if "latency" in fault.name:
        wait_until(api.minted.idle)  # a slow request still finishes at Minted: count after it has
    buys = api.minted.orders_created(UPSTREAM_KIND.get(operation, "buy"))  # a sell or delivery run buys metal first
    assert buys <= 1
    ledger, agrees = "n/a", "n/a"
    if observed.external_id is not None:
        api.get(f"/orders/{observed.external_id}")
        after_next = state_of(api, observed.external_id)
        at_minted = minted_has(observed.external_id)
        assert at_minted == (after_next == "SUBMITTED"), (observed, after_next, at_minted)
        assert buys == (1 if at_minted else 0)
        ledger, agrees = f"{observed.ledger_after} → {after_next}", "yes"
        if operation.endswith(LIMITED):
            # Counted while the order may be at Minted, given back once it cannot be: never stuck, never twice.
            counted, held = day_counted(api, observed.external_id)
            assert counted == held, (counted, held)
            assert (held > 0) == (after_next in ("SUBMITTED", "UNKNOWN", "RECEIVED")), (after_next, held)
    report.matrix.append(MatrixRow(operation, fault.name, observed.answer, str(buys), ledger, agrees))


# ---------------------------------------------------------------- the id belongs to another order
def stranger_buys(external_id: str) -> None:
    """0.1 g of silver for the partner's own wallet, placed at Minted under our id outside this ledger."""
    token = runtime.minted().price_fix(PriceFixRequest(currency=Currency.TRY)).token
    runtime.minted().buy(BuyRequest(price_token=token, external_id=external_id,
                                    items=[OrderLine(sku="GAG", amount=Decimal("0.1"))]))  # fmt: skip


def stranger_then_buy(api: Api, external_id: str) -> Any:
    stranger_buys(external_id)
    return api.post("/orders", order(external_id, api.quote(), amount="5"))


def stranger_during_unknown_buy(api: Api, external_id: str) -> Any:
    api.minted.fault("buy", drop="before_commit", times=1)
    assert api.post("/orders", order(external_id, api.quote(), amount="5")).status_code == 202
    stranger_buys(external_id)
    return api.get(f"/orders/{external_id}")


def stranger_then_workflow(api: Api, external_id: str) -> str:
    stranger_buys(external_id)
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("5")}], **WORKFLOW_POLLS}
    started = api.post("/orders/workflow", body)
    assert started.status_code == 202, started.text
    execution = api.wait_for_execution(started.json()["execution_arn"])
    return str(execution["status"]) + (f" {execution['error']}" if execution.get("error") else "")


STRANGERS: dict[str, Callable[[Api, str], Any]] = {
    "buy": stranger_then_buy, "get order": stranger_during_unknown_buy, "workflow": stranger_then_workflow,
}  # fmt: skip
STRANGER = "a stranger's order under our id"


@pytest.mark.parametrize("operation", list(STRANGERS))
def test_a_strangers_order_is_never_adopted(api: Api, report: Report, operation: str) -> None:
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    result = STRANGERS[operation](api, external_id)
    answer = result if isinstance(result, str) else answer_of(result)
    assert answer in ("409 foreign_order", "FAILED ForeignOrder"), answer
    ours = api.minted.orders_created() - 1  # the stranger's is not ours
    assert ours == 0
    after = state_of(api, external_id)
    next_get = api.get(f"/orders/{external_id}")
    assert answer_of(next_get) == "409 foreign_order" and state_of(api, external_id) == after == "FOREIGN"
    report.matrix.append(MatrixRow(operation, STRANGER, answer, str(ours), f"{after} → FOREIGN", "yes"))


WORKFLOW_BODY = {"items": [{"sku": "GAG", "amount": Decimal("1")}], **WORKFLOW_POLLS}


def test_a_workflow_under_the_id_of_another_order_is_refused_up_front(api: Api, report: Report) -> None:
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    assert api.post("/orders", order(external_id, api.quote())).status_code == 201
    before = api.ledger_item(external_id)
    response = api.post("/orders/workflow", {"external_id": external_id, **WORKFLOW_BODY})
    assert response.status_code == 409
    assert api.ledger_item(external_id) == before  # no note, no version bump
    api.get(f"/orders/{external_id}")
    assert state_of(api, external_id) == "SUBMITTED" and minted_has(external_id)
    buys = api.minted.orders_created()
    assert buys == 1
    report.matrix.append(MatrixRow("workflow", "started under the id of a placed order", answer_of(response),
                                   str(buys), "SUBMITTED → SUBMITTED", "yes"))  # fmt: skip


def test_a_conflicting_workflow_during_a_slow_buy_loses_nothing(api: Api, report: Report) -> None:
    """The late commit: Minted answers the buy after the client gave up (the reliability stack's read
    timeout is 1 s; this buy takes 3 s, standing for 45 s against the 10 s timeout of production);
    a workflow for another order under the id starts while it is on its way."""
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    body = order(external_id, api.quote())
    api.minted.fault("buy", latency_ms=3000, times=1)
    answers: list[Any] = []
    buying = threading.Thread(target=lambda: answers.append(api.post("/orders", body)))
    buying.start()
    wait_until(lambda: api.ledger_item(external_id) is not None)  # the buy has claimed the id and is at Minted
    response = api.post("/orders/workflow", {"external_id": external_id, **WORKFLOW_BODY})
    buying.join()
    assert response.status_code == 409 and answer_of(answers[0]) == "202 UNKNOWN"
    after = state_of(api, external_id)
    assert api.get(f"/orders/{external_id}").json()["state"] in ("UNKNOWN", "SUBMITTED")  # never NOT_PLACED
    wait_until(lambda: api.minted.orders_created() == 1)  # the slow buy commits about 3 s after it was sent
    api.get(f"/orders/{external_id}")
    assert state_of(api, external_id) == "SUBMITTED" and minted_has(external_id)
    buys = api.minted.orders_created()
    assert buys == 1
    report.matrix.append(MatrixRow("workflow", "late commit: another order's workflow during a slow buy",
                                   answer_of(response), str(buys), f"{after} → SUBMITTED", "yes"))  # fmt: skip


def minted_has(external_id: str) -> bool:
    try:
        runtime.minted().get_order(external_id)
    except minted_errors.MintedNotFoundError:
        return False
    return True


# ---------------------------------------------------------------- issue 21: faults in sequence
# Each case below is a sequence of faults the single-fault matrix cannot make; each adds its own row.
GET_ORDER_FUNCTION = functions_of(load_template())["GetOrderFunction"]
RECONCILE_FUNCTION = functions_of(load_template())["ReconcileFunction"]


@contextmanager
def customer_day_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIMIT_CUSTOMER_DAY_AMOUNT", "100000000")
    runtime.reset()
    try:
        yield
    finally:
        monkeypatch.undo()
        runtime.reset()


def look_due_now(api: Api, external_id: str) -> None:
    """The reconciler's next look at the row is due now (as once its token's lifetime or its lease passed)."""
    api.dynamodb.update_item(TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
                             UpdateExpression="SET attention_due = :past",
                             ConditionExpression="attribute_exists(attention)",
                             ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}})  # fmt: skip


def found_by_retry(api: Api, body: dict[str, Any]) -> str:
    return answer_of(api.post("/orders", body))


def found_by_get(api: Api, body: dict[str, Any]) -> str:
    return answer_of(api.get(f"/orders/{body['external_id']}"))


def found_by_reconciler(api: Api, body: dict[str, Any]) -> str:
    look_due_now(api, body["external_id"])
    summary = invoke_function(RECONCILE_FUNCTION, {"action": "reconcile"})
    return f"run: changed {summary['changed']}"


def found_by_workflow(api: Api, body: dict[str, Any]) -> str:
    """The workflow's own read of the order (its get_order task, as its polling loop invokes it)."""
    result = invoke_function(GET_ORDER_FUNCTION, {"action": "get_order", "external_id": body["external_id"]})
    return f"task: {result['state']}"


def given_back_then_landed(api: Api) -> dict[str, Any]:
    """A slow buy (202 UNKNOWN), an immediate retry answered 429 (NOT_PLACED, its hold given back), then the
    slow buy lands at Minted: a NOT_PLACED row whose order Minted holds, uncounted."""
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    body = order(external_id, api.quote(), customer=customer(f"lim-{external_id}"))
    # Never completed by the clock: a finder that comes late on a slow machine still finds it pending.
    api.minted.clock(completion_delay_seconds=None)
    # Slow enough that the retry below comes before it lands, on a busy machine too (2.5 s left ~0.6 s).
    api.minted.fault("buy", latency_ms=6000, times=1)
    assert answer_of(api.post("/orders", body)) == "202 UNKNOWN"
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert answer_of(api.post("/orders", body)) == "429 rate_limited"
    assert state_of(api, external_id) == "NOT_PLACED" and day_counted(api, external_id) == (0, 0)
    wait_until(lambda: minted_has(external_id))  # the slow buy lands, about 6 s after it was sent
    return body


FINDERS: dict[str, Callable[[Api, dict[str, Any]], str]] = {
    "retry": found_by_retry, "GET": found_by_get, "reconciler": found_by_reconciler, "workflow": found_by_workflow,
}  # fmt: skip


@pytest.mark.parametrize("finder", list(FINDERS))
def test_an_order_given_back_then_found_at_minted_counts_again_once(
    api: Api, report: Report, finder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow buy (202 UNKNOWN), an immediate retry answered 429 (NOT_PLACED, its hold given back), then
    the slow buy lands at Minted: whichever path learns it counts the order again, exactly once."""
    with customer_day_limit(monkeypatch):
        body = given_back_then_landed(api)
        external_id = body["external_id"]
        before = state_of(api, external_id)
        answer = FINDERS[finder](api, body)
        after = state_of(api, external_id)
        counted, held = day_counted(api, external_id)
        assert after == "SUBMITTED" and counted == held > 0, (after, counted, held)
        for again in FINDERS.values():  # every path once more: nothing is counted twice
            again(api, body)
        assert day_counted(api, external_id) == (counted, held)
    buys = api.minted.orders_created()
    assert buys == 1
    report.matrix.append(MatrixRow("buy (customer day limit)", f"slow buy, retry answered 429, found by {finder}",
                                   answer, str(buys), f"{before} → {after}; counted once", "yes"))  # fmt: skip


def token_past(api: Api, external_id: str) -> None:
    """The row's price token's lifetime has passed since its attempt was sent: the reconciler's one lookup is due."""
    api.dynamodb.update_item(TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
                             UpdateExpression="SET sent_at = :long_ago",
                             ExpressionAttributeValues={":long_ago": {"N": "1000"}})  # fmt: skip
    look_due_now(api, external_id)


def listed(api: Api, external_id: str) -> bool:
    return "attention" in (api.ledger_item(external_id) or {})


def test_a_lookup_that_could_not_reach_minted_leaves_the_row_listed(
    api: Api, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconciler looks at a NOT_PLACED row Minted holds while Minted answers 503: nothing is
    proved, so the row stays on the work list and the next run (Minted back) settles and counts it."""
    with customer_day_limit(monkeypatch):
        external_id = given_back_then_landed(api)["external_id"]
        token_past(api, external_id)
        for endpoint in ("get_order", "find_order"):
            api.minted.fault(endpoint, status=503)
        try:
            first = invoke_function(RECONCILE_FUNCTION, {"action": "reconcile"})
        finally:
            api.minted.clear_faults()
        assert first["released"] == 0 and listed(api, external_id), first
        assert state_of(api, external_id) == "NOT_PLACED"
        look_due_now(api, external_id)  # its lease is over
        second = invoke_function(RECONCILE_FUNCTION, {"action": "reconcile"})
        assert second["changed"] == 1 and state_of(api, external_id) == "SUBMITTED", second
        counted, held = day_counted(api, external_id)
        assert counted == held > 0
    buys = api.minted.orders_created()
    assert buys == 1
    report.matrix.append(MatrixRow("reconcile", "HTTP 503 on the lookup of a NOT_PLACED row Minted holds",
                                   f"released {first['released']}, next run changed {second['changed']}", str(buys),
                                   "NOT_PLACED → SUBMITTED; counted once", "yes"))  # fmt: skip


def test_make_reconcile_runs_with_the_limits_of_the_stack(
    api: Api, report: Report, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stack with a customer's daily limit; a buy whose answer was lost before Minted got it (UNKNOWN,
    its amount held). ``make reconcile`` settles the row NOT_PLACED once the token is past, with the
    stack's own settings, so the hold comes back (run with only Stage=local, it kept it)."""
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    with customer_day_limit(monkeypatch):
        stack_env = {**api.stack.environment(), "LIMIT_CUSTOMER_DAY_AMOUNT": os.environ["LIMIT_CUSTOMER_DAY_AMOUNT"]}
        body = order(external_id, api.quote(), customer=customer(f"lim-{external_id}"))
        api.minted.fault("buy", drop="before_commit", times=1)
        answer = answer_of(api.post("/orders", body))
        assert answer == "202 UNKNOWN" and day_counted(api, external_id)[1] > 0
    token_past(api, external_id)
    monkeypatch.setenv(stackfile.STACK_DIR_VARIABLE, str(tmp_path / "stacks"))
    stackfile.write(stackfile.StackAddresses(gateway_url=api.url, sandbox_url=api.stack.sandbox.url,
                                             aws_url=api.stack.aws_url, workflow_arn="", pid=os.getpid(),
                                             environment=stack_env))  # fmt: skip
    saved = dict(os.environ)
    runtime.reset()  # make reconcile is a process of its own
    try:
        assert reconcile_command.main(["reconcile"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.rindex("{\n") :])
    after = state_of(api, external_id)
    assert after == "NOT_PLACED" and day_counted(api, external_id) == (0, 0), (after, day_counted(api, external_id))
    buys = api.minted.orders_created()
    assert buys == 0
    report.matrix.append(MatrixRow("make reconcile", "a buy lost before Minted, with the stack's daily limit",
                                   f"changed {summary['changed']}", str(buys),
                                   "UNKNOWN → NOT_PLACED; hold given back", "yes"))  # fmt: skip


def test_concurrent_reads_losing_the_same_refresh_log_no_error(api: Api, report: Report) -> None:
    """8 GETs at once right after Minted moved the order to Pending: each refreshes it, one write wins and
    the others lose the conditional write to the same refresh. An expected lost race is no ERROR line."""
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=0)
    external_id = f"mx-{uuid.uuid4().hex[:16]}"
    assert api.post("/orders", order(external_id, api.quote())).status_code == 201
    errors = Errors()
    loggers = [logging.getLogger("minted_gateway"), logging.getLogger("minted-gateway")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        start = threading.Barrier(8)

        def read(_: int) -> Any:
            start.wait()
            return api.http.get(f"{api.url}/orders/{external_id}", timeout=30)

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(read, range(8)))
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    assert {answer.status_code for answer in answers} == {200}
    assert (api.ledger_item(external_id) or {}).get("status") == "Pending"
    assert [r.getMessage() for r in errors.records] == []
    buys = api.minted.orders_created()
    report.matrix.append(MatrixRow("get order", "8 concurrent GETs as the order moves to Pending",
                                   "200 ×8; no ERROR logged", str(buys), "SUBMITTED → SUBMITTED", "yes"))  # fmt: skip


def test_a_comparison_minted_stops_on_page_2_reports_page_1_as_incomplete(
    api: Api, report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    """31 orders at Minted no row accounts for (two pages of 30); page 2 answers 503 however often it is
    asked. The run reports what page 1 compared, says ``complete: false`` and writes the metric its
    alarm watches; the alarm takes a day without a value (a run that wrote nothing) as breaching."""
    for n in range(31):
        token = runtime.minted().price_fix(PriceFixRequest(currency=Currency.TRY)).token  # a token buys once
        runtime.minted().buy(BuyRequest(price_token=token, external_id=f"cmp-{n}-{uuid.uuid4().hex[:8]}",
                                        items=[OrderLine(sku="GAG", amount=Decimal("0.1"))]))  # fmt: skip
    api.minted.fault("list_orders", latency_ms=0, times=1)  # page 1 is answered
    api.minted.fault("list_orders", status=503, queue=True)  # page 2 never is
    capsys.readouterr()
    try:
        summary = invoke_function(RECONCILE_FUNCTION, {"action": "compare_with_minted"})
    finally:
        api.minted.clear_faults()
    written = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"OrderComparisonsIncomplete"' in line
    ]
    assert summary["complete"] is False and summary["pages_read"] == 1, summary
    assert summary["not_in_ledger"] == summary["orders_seen"] == 30, summary
    assert [m["OrderComparisonsIncomplete"] for m in written] == [[1.0]], written
    alarm = load_template()["Resources"]["OrderComparisonIncompleteAlarm"]["Properties"]
    assert alarm["TreatMissingData"] == "breaching"
    report.matrix.append(MatrixRow("daily comparison", "HTTP 503 on page 2 of Minted's order list",
                                   f"complete false, {summary['not_in_ledger']} of page 1 reported; metric 1",
                                   str(api.minted.orders_created()), "no row changed", "yes"))  # fmt: skip


def test_a_limit_refused_order_sent_again_is_not_left_for_the_reconciler(
    api: Api, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused by the per-order limit, then sent again as is (refused again): nothing was ever sent, so
    the row carries no sent_at and the reconciler's work list never holds it (it used to, on the retry)."""
    monkeypatch.setenv("LIMIT_ORDER_AMOUNT", "1")
    runtime.reset()
    try:
        external_id = f"mx-{uuid.uuid4().hex[:16]}"
        body = order(external_id, api.quote())
        first = answer_of(api.post("/orders", body))
        again = answer_of(api.post("/orders", body))
    finally:
        monkeypatch.undo()
        runtime.reset()
    assert first == again == "422 limit_exceeded"
    row = api.ledger_item(external_id) or {}
    assert row.get("state") == "NOT_PLACED" and "sent_at" not in row and "attention" not in row, row
    buys = api.minted.orders_created()
    assert buys == 0
    report.matrix.append(MatrixRow("buy (customer day limit)", "refused by a limit, then sent again as is", again,
                                   str(buys), "NOT_PLACED → NOT_PLACED; nothing for the reconciler",
                                   "yes"))  # fmt: skip
