"""The buy workflow in moto's Step Functions interpreter, its Lambda tasks run by our real handlers."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.scheduler import rate_seconds, schedules_of
from tests.stack import Api, customer, order
from tests.waiting import wait_until


@pytest.fixture
def sfn(api: Api) -> Any:
    return boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")


def start(api: Api, external_id: str, **fields: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}], "poll_interval_seconds": 1}
    body.update(fields)
    response = api.post("/orders/workflow", body)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/orders/{external_id}"
    started: dict[str, Any] = response.json()
    return started


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return events


def entered(events: list[dict[str, Any]], state: str) -> int:
    return sum(
        1 for e in events if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
    )


def placed_arn(api: Api, external_id: str) -> str:
    arn: str = api.stack.env["BUY_WORKFLOW_ARN"]
    return arn.replace(":stateMachine:", ":execution:") + f":{external_id}"


def new_id() -> str:
    return f"wf-{uuid.uuid4().hex[:16]}"


TWO_ITEMS = [{"sku": "GAU", "amount": Decimal("0.5")}, {"sku": "GAG", "amount": Decimal("2")}]


@pytest.mark.parametrize("split_orders", [False, True], ids=["one order", "split orders"])
def test_the_happy_path_fixes_a_price_buys_once_and_ends_completed(api: Api, sfn: Any, split_orders: bool) -> None:
    api.minted.settings(split_orders=split_orders)
    external_id = new_id()
    started = start(api, external_id, customer=customer(), guard={"max_unit_price": Decimal("10000")}, items=TWO_ITEMS)
    assert started["execution_name"] == external_id and started["status"] == "RUNNING"
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["status"] == "Completed"
    shown = api.get(f"/orders/{external_id}").json()
    assert shown["status"] == "Completed" and shown["mode"] == "B2B2C" and shown["final"] is True
    assert {item["sku"]: item["amount"] for item in shown["items"]} == {"GAU": 0.5, "GAG": 2}
    assert len(shown["orders"]) == len(shown["order_codes"]) == (2 if split_orders else 1)
    assert {o["status"] for o in shown["orders"]} == {"Completed"}
    assert api.minted.orders_created() == 1


def test_the_price_guard_stops_before_anything_is_bought_and_get_shows_why(api: Api, sfn: Any) -> None:
    external_id = new_id()
    body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}],
            "guard": {"max_total": Decimal("1.00")}, "poll_interval_seconds": 1}  # fmt: skip
    started = api.post("/orders/workflow", body)
    assert started.status_code == 202 and "Idempotent-Replayed" not in started.headers
    execution = api.wait_for_execution(started.json()["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "PriceGuardExceeded"
    assert api.minted.orders_created() == 0 and api.minted.served("buy") == 0
    shown = api.get(f"/orders/{external_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["state"] == "NOT_PLACED" and shown.json()["final"] is False
    assert shown.json()["workflow_error"] == "PriceGuardExceeded" and shown.json()["workflow_execution"] == external_id
    assert api.ledger_item(external_id)["workflow_owner"] == external_id  # type: ignore[index]
    again = api.post("/orders/workflow", body)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["status"] == "FAILED" and again.json()["error"] == "PriceGuardExceeded"
    assert again.json()["execution_arn"] == started.json()["execution_arn"]
    # The same order may still be bought directly: NOT_PLACED, and the fingerprint leaves the token out.
    direct = api.post("/orders", {"external_id": external_id, "price_token": api.quote(), "items": body["items"]})
    assert direct.status_code == 201, direct.text
    assert api.minted.orders_created() == 1


def test_the_openapi_document_shows_workflow_failures_and_each_order(api: Api) -> None:
    document = api.get("/openapi.json").json()
    order_body = document["components"]["schemas"]["OrderBody"]["properties"]
    assert {"workflow_error", "workflow_execution", "orders"} <= set(order_body)
    assert "error" in document["components"]["schemas"]["WorkflowStartedBody"]["properties"]
    get_answers = document["paths"]["/orders/{external_id}"]["get"]["responses"]
    assert "409" in get_answers and "foreign_order" in get_answers["409"]["description"]


def test_a_workflow_under_the_id_of_another_order_is_refused_up_front(api: Api, sfn: Any) -> None:
    external_id = new_id()
    placed = api.post("/orders", order(external_id, api.quote()))
    assert placed.status_code == 201
    before = api.ledger_item(external_id)
    other = api.post("/orders/workflow", {"external_id": external_id, "items": [{"sku": "GAG", "amount": 1}]})
    assert other.status_code == 409 and other.json()["error"]["code"] == "order_conflict"
    assert api.ledger_item(external_id) == before  # not a note, not a version
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=placed_arn(api, external_id))
    assert api.minted.orders_created() == 1


def test_a_workflow_for_an_order_placed_directly_is_refused_up_front(api: Api, sfn: Any) -> None:
    """Found by a hostile-input review: the same order, placed by POST /orders, started a workflow that fixed a
    price at Minted and then failed CustomerNotHeld (its buy step settles only its own execution's row)."""
    external_id = new_id()
    person = customer(f"cust-{uuid.uuid4().hex[:8]}")
    items = [{"sku": "GAG", "amount": Decimal("2")}]
    placed = api.post("/orders", order(external_id, api.quote(sku="GAG", amount="2"), items=items, customer=person))
    assert placed.status_code == 201, placed.text
    before, fixed = api.ledger_item(external_id), api.minted.served("pricefix")
    again = api.post("/orders/workflow", {"external_id": external_id, "items": items, "customer": person})
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_conflict", again.text
    assert "POST /orders" in again.json()["error"]["message"]
    assert api.ledger_item(external_id) == before and api.minted.served("pricefix") == fixed
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=placed_arn(api, external_id))


def test_a_workflow_that_loses_its_id_to_another_order_writes_nothing_on_that_order(api: Api, sfn: Any) -> None:
    """The id is free when the workflow starts; a direct buy takes it while the workflow fixes its price."""
    external_id = new_id()
    token = api.quote()
    api.minted.fault("pricefix", latency_ms=1500, times=1)
    started = start(api, external_id, items=[{"sku": "GAG", "amount": Decimal("1")}])
    placed = api.post("/orders", order(external_id, token))
    assert placed.status_code == 201
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "OrderConflict"
    row = api.ledger_item(external_id)
    assert row is not None and row["version"] == 2 and row["state"] == "SUBMITTED"
    assert "workflow_error" not in row and "workflow_owner" not in row
    assert not any("workflow" in (entry.get("note") or "") for entry in row["history"])
    assert api.minted.orders_created() == 1


def test_an_order_pending_for_several_polls_completes(api: Api, sfn: Any) -> None:
    # Completed only once the workflow has polled three times: a wall-clock delay raced a slow machine.
    api.minted.clock(pending_after_seconds=0, completion_delay_seconds=None)
    started = start(api, new_id())
    wait_until(lambda: entered(history(sfn, started["execution_arn"]), "RefreshOrder") >= 3, what="three polls")
    api.minted.clock(completion_delay_seconds=0)
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    assert entered(history(sfn, started["execution_arn"]), "RefreshOrder") >= 3
    assert api.minted.orders_created() == 1


@pytest.mark.parametrize("split_orders", [False, True], ids=["one order", "split orders"])
def test_a_lost_buy_answer_is_settled_by_lookup_with_one_buy(api: Api, sfn: Any, split_orders: bool) -> None:
    api.minted.settings(split_orders=split_orders)
    api.minted.fault("buy", drop="after_commit", times=1)
    external_id = new_id()
    started = start(api, external_id, items=TWO_ITEMS)
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    assert api.minted.orders_created() == 1
    notes = [entry.get("note") for entry in api.get(f"/orders/{external_id}").json()["history"]]
    assert any("outcome unknown" in (note or "") for note in notes) and any(
        note.startswith("found at Minted by lookup") for note in notes if note
    )


@pytest.mark.parametrize("split_orders", [False, True], ids=["one order", "split orders"])
def test_a_buy_lost_before_minted_committed_is_bought_once_by_the_settle_step(
    api: Api, sfn: Any, split_orders: bool
) -> None:
    api.minted.settings(split_orders=split_orders)
    api.minted.fault("buy", drop="before_commit", times=1)
    started = start(api, new_id(), items=TWO_ITEMS)
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    assert entered(history(sfn, started["execution_arn"]), "SettleOrder") == 1
    assert api.minted.orders_created() == 1


def test_starting_the_same_order_twice_is_one_execution_and_one_buy(api: Api, sfn: Any) -> None:
    external_id = new_id()
    first = start(api, external_id)
    second = start(api, external_id)
    assert second["execution_arn"] == first["execution_arn"] and second["started_at"] == first["started_at"]
    assert api.wait_for_execution(first["execution_arn"])["status"] == "SUCCEEDED"
    again = start(api, external_id)  # even after it ended
    assert again["execution_arn"] == first["execution_arn"] and again["status"] == "SUCCEEDED"
    other = api.post("/orders/workflow", {"external_id": external_id, "items": [{"sku": "GAG", "amount": 1}]})
    assert other.status_code == 409 and other.json()["error"]["code"] == "order_conflict"
    assert api.minted.orders_created() == 1


def test_lambda_throttling_is_retried(api: Api, sfn: Any) -> None:
    assert api.stack.router is not None
    api.stack.router.throttle("BuyFunction", times=2)
    started = start(api, new_id())
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED"
    errors = [
        e["taskFailedEventDetails"]["error"]
        for e in history(sfn, started["execution_arn"])
        if e["type"] == "TaskFailed"
    ]
    assert errors == ["Lambda.TooManyRequestsException"] * 2
    assert api.minted.orders_created() == 1


def test_a_refused_buy_fails_with_its_name_and_is_recorded_on_the_ledger(api: Api, sfn: Any) -> None:
    external_id = new_id()
    api.minted.fault("buy", status=403, times=1)
    execution = api.wait_for_execution(start(api, external_id)["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "PartnerForbidden"
    row = api.ledger_item(external_id)
    assert row is not None and row["state"] == "REJECTED" and row["workflow_error"] == "PartnerForbidden"
    assert row["workflow_execution"] == external_id


def test_an_order_that_never_ends_fails_after_the_polls_and_says_so_on_the_ledger(api: Api, sfn: Any) -> None:
    api.minted.clock(completion_delay_seconds=None)
    external_id = new_id()
    execution = api.wait_for_execution(start(api, external_id, max_polls=2)["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "OrderNotFinal"
    assert api.ledger_item(external_id)["workflow_error"] == "OrderNotFinal"  # type: ignore[index]
    assert api.minted.orders_created() == 1


def test_workflow_input_is_validated_before_anything_starts(api: Api, sfn: Any) -> None:
    bad = api.post("/orders/workflow", {"external_id": "x/y", "items": [], "guard": {"max_total": -1}, "max_polls": 0})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "external_id",
        "items",
        "guard.max_total",
        "max_polls",
    }


def test_workflow_counts_written_as_text_or_a_flag_are_refused(api: Api, sfn: Any) -> None:
    order = {"external_id": "wf-types", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}
    bad = api.post("/orders/workflow", {**order, "poll_interval_seconds": True, "max_polls": "3"})
    assert bad.status_code == 422, bad.text
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"poll_interval_seconds", "max_polls"}
    assert api.ledger_item("wf-types") is None


def test_the_template_schedule_runs_locally_at_its_rate() -> None:
    schedules = {schedule.name: schedule for schedule in schedules_of()}
    assert set(schedules) == {"RefreshPrices", "Reconcile", "FollowOrders", "CompareWithMinted", "DispatchPlans"}
    prices = schedules["RefreshPrices"]
    assert prices.function.logical_id == "PricesFunction" and prices.every_seconds == 60
    assert prices.event == {"action": "refresh_prices", "currency": "TRY"}
    reconcile, compare = schedules["Reconcile"], schedules["CompareWithMinted"]
    assert reconcile.function.logical_id == compare.function.logical_id == "ReconcileFunction"
    assert (reconcile.every_seconds, reconcile.event) == (300, {"action": "reconcile"})
    assert (compare.every_seconds, compare.event) == (86400, {"action": "compare_with_minted"})
    follow = schedules["FollowOrders"]
    assert follow.function.logical_id == "ReconcileFunction"
    assert (follow.every_seconds, follow.event) == (60, {"action": "follow_orders"})
    plans = schedules["DispatchPlans"]  # its time is Scheduler's, filled in when it fires (local/queues.py)
    assert plans.function.logical_id == "PlansFunction" and plans.every_seconds == 60
    assert plans.event == {"action": "dispatch_plans", "time": "<aws.scheduler.scheduled-time>"}
    assert rate_seconds("rate(5 minutes)") == 300
    with pytest.raises(ValueError, match="rate"):
        rate_seconds("cron(0 * * * ? *)")


def test_a_sell_workflow_sells_once_at_minteds_sell_price(api: Api, sfn: Any) -> None:
    """From the customer's wallet: the Price Fix names the customer, as a sell's must (Minted's Sell body
    has none; the sandbox's rule ignores ours, as Minted may)."""
    api.minted.rules(sell_customer_from_price_fix=True)
    held = api.post("/orders", order(new_id(), api.quote(amount="2"), amount="2"))
    assert held.status_code == 201, held.text
    external_id = new_id()
    started = start(api, external_id, side="sell", customer_external_id=customer()["external_id"],
                    guard={"min_unit_price": Decimal("1")})  # fmt: skip
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "SUCCEEDED", execution
    shown = api.get(f"/orders/{external_id}").json()
    assert shown["side"] == "sell" and shown["status"] == "Completed" and shown["customer_external_id"] == "cust-0001"
    assert api.minted.orders_created("sell") == 1
    balances = api.get("/customers/cust-0001/balances").json()["balances"]
    sold = sum(Decimal(str(item["amount"])) for item in shown["items"])
    assert next(w["balance"] for w in balances if w["sku"] == "GAU") == Decimal("2") - sold  # the customer's gold


def test_a_sell_below_its_guard_sells_nothing(api: Api, sfn: Any) -> None:
    external_id = new_id()
    started = start(api, external_id, side="sell", customer_external_id="cust-0001",
                    guard={"min_unit_price": Decimal("1000000")})  # fmt: skip
    execution = api.wait_for_execution(started["execution_arn"])
    assert execution["status"] == "FAILED" and execution["error"] == "PriceGuardExceeded"
    assert api.minted.served("sell") == 0
    shown = api.get(f"/orders/{external_id}").json()
    assert (shown["state"], shown["side"], shown["workflow_error"]) == ("NOT_PLACED", "sell", "PriceGuardExceeded")
