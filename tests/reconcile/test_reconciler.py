"""The reconciler on make dev's stack: moto's ledger, the sandbox over real HTTP, the order-events pipe.

Each row is made unsettled the way production makes it (a lost answer, a dead claim, a 429, a
stranger's order), then the reconciler's function runs as its schedule invokes it. What is
asserted is the outcome: the final ledger rows, the reconciler's index, the buys the sandbox
really made (never one more), the events published and the metrics written.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local import reconcile as reconcile_command
from local import stackfile
from local.gateway import invoke
from local.template import functions_of, load_template
from minted_gateway import runtime
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.minted.models import Order, OrdersPage, OrdersQuery
from minted_gateway.orders.dynamodb_ledger import ATTENTION_INDEX, ATTENTION_STATES, LedgerEntry
from minted_gateway.orders.get_order import GetOrder
from minted_gateway.orders.reconcile import CompareWithMinted, Reconcile, ReconcileReport
from minted_gateway.orders.record import State
from minted_gateway.orders.requests import OrderRequest
from tests.api.test_orders import _backdate_attempt as backdate_attempt
from tests.api.test_orders import _expire_claim as expire_claim
from tests.api.test_orders import _now as now
from tests.api.test_orders import _stranger_buys as stranger_buys
from tests.events.test_order_events_stack import ARRIVAL_SECONDS, Consumer, distinct
from tests.stack import Api, order

RECONCILER = functions_of(load_template())["ReconcileFunction"]


@pytest.fixture
def api(api: Api) -> Api:
    """Each test starts with an empty work list: rows other tests left behind are not its business."""
    for external_id in indexed(api):
        api.dynamodb.update_item(TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
                                 UpdateExpression="REMOVE attention, attention_due")  # fmt: skip
    return api


@pytest.fixture
def consumer(api: Api) -> Iterator[Consumer]:
    consumer = Consumer(api)
    yield consumer
    consumer.close()


def indexed(api: Api) -> dict[str, str]:
    """The reconciler's index as it stands: external_id -> state."""
    found = {}
    for state in ATTENTION_STATES:
        pages = api.dynamodb.get_paginator("query").paginate(
            TableName=api.stack.env["ORDERS_TABLE"], IndexName=ATTENTION_INDEX,
            KeyConditionExpression="attention = :s", ExpressionAttributeValues={":s": {"S": state.value}},
        )  # fmt: skip
        found |= {item["external_id"]["S"]: state.value for page in pages for item in page["Items"]}
    return found


def time_passes(api: Api, *external_ids: str) -> None:
    """The reconciler's next look at these rows is due now (as after its recheck delay or lease)."""
    for external_id in external_ids:
        api.dynamodb.update_item(TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
                                 UpdateExpression="SET attention_due = :past",
                                 ConditionExpression="attribute_exists(attention)",
                                 ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}})  # fmt: skip


def run(action: str = "reconcile") -> dict[str, Any]:
    """One run, as the schedule invokes the function."""
    result: dict[str, Any] = invoke(RECONCILER, {"action": action})
    return result


def lookups(api: Api) -> int:
    return api.minted.served("find_order") + api.minted.served("get_order")


def metrics_written(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


def unknown_order(api: Api, external_id: str, *, committed: bool) -> dict[str, Any]:
    """A buy whose answer was lost: Minted has it (after_commit) or never got it (before_commit)."""
    body = order(external_id, api.quote())
    api.minted.fault("buy", drop="after_commit" if committed else "before_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    assert api.ledger_item(external_id)["state"] == "UNKNOWN"  # type: ignore[index]
    return body


def new_id() -> str:
    return f"ord-{uuid.uuid4().hex[:20]}"


# ---------------------------------------------------------------- every kind of unsettled row
def test_an_unknown_outcome_minted_committed_ends_submitted_and_final_across_runs(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=0)  # Minted holds it Pending
    unknown_order(api, order_id, committed=True)
    assert indexed(api) == {order_id: "UNKNOWN"}
    run()  # not due yet: the caller's own retry or GET has a minute to settle it first
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    buys = api.minted.orders_created()

    time_passes(api, order_id)
    assert run()["changed"] == 1
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "SUBMITTED" and row["status"] == "Pending" and row["order_codes"]
    assert indexed(api) == {order_id: "SUBMITTED"}  # not final: refreshed on a later run

    api.minted.clock(completion_delay_seconds=0)
    time_passes(api, order_id)
    run()
    row = api.ledger_item(order_id)
    assert row is not None and row["status"] == "Completed" and indexed(api) == {}
    assert api.minted.orders_created() == buys  # settled by lookup only
    details = [e["detail"] for e in distinct(consumer.events_of(order_id, 3))]
    assert [(d["type"], d["state"]) for d in details] == [
        ("OrderNeedsAttention", "UNKNOWN"),
        ("OrderSubmitted", "SUBMITTED"),
        ("OrderCompleted", "SUBMITTED"),
    ]


def test_a_late_commit_after_the_claim_expired_ends_submitted_with_minteds_codes(api: Api, order_id: str) -> None:
    """The invocation died holding its claim; its buy reached Minted after the claim expired."""
    body = order(order_id, api.quote())
    request = OrderRequest.model_validate(body)
    runtime.order_ledger().claim(
        runtime.place_order()._new_record(request.purchase(), "a dead invocation's token", now())
    )
    assert indexed(api) == {order_id: "RECEIVED"}
    assert run()["looked_at"] == 0  # a live claim is its invocation's business
    expire_claim(api, order_id)
    time_passes(api, order_id)
    assert run()["looked_at"] == 1
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]  # its buy may still land
    result = runtime.minted().buy(request.to_minted())  # the late commit
    time_passes(api, order_id)
    run()
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "SUBMITTED" and row["order_codes"] == result.order_code
    assert "found at Minted by lookup" in row["history"][-1]["note"] or row["status"] == "Completed"
    assert api.minted.orders_created() == 1  # the late buy itself, nothing more


def test_an_unknown_outcome_minted_never_had_ends_not_placed_once_its_token_is_past(api: Api, order_id: str) -> None:
    unknown_order(api, order_id, committed=False)
    time_passes(api, order_id)
    run()
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]  # its token could still buy
    assert indexed(api) == {order_id: "UNKNOWN"}
    backdate_attempt(api, order_id, seconds=301)
    time_passes(api, order_id)
    run()
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "NOT_PLACED" and indexed(api) == {}
    assert api.minted.orders_created() == 0


def test_a_not_placed_order_is_looked_up_once_its_token_is_past(api: Api, order_id: str) -> None:
    """Refused with 429 (never at Minted), and another that got there after all."""
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert api.post("/orders", body).status_code == 429
    landed = new_id()
    landed_body = order(landed, api.quote())
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert api.post("/orders", landed_body).status_code == 429
    runtime.minted().buy(OrderRequest.model_validate(landed_body).to_minted())  # it got there after all
    assert indexed(api) == {order_id: "NOT_PLACED", landed: "NOT_PLACED"}
    assert run()["looked_at"] == 0  # due once the token is past

    for external_id in (order_id, landed):
        backdate_attempt(api, external_id, seconds=301)
        time_passes(api, external_id)
    before = lookups(api)
    assert run()["released"] == 1
    assert lookups(api) == before + 2
    assert api.ledger_item(order_id)["state"] == "NOT_PLACED"  # type: ignore[index]
    assert api.ledger_item(landed)["state"] == "SUBMITTED"  # type: ignore[index]
    assert order_id not in indexed(api)
    assert api.minted.orders_created() == 1  # the one that landed by itself


def test_a_strangers_order_stays_foreign_and_is_reported_on_every_run(
    api: Api, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger_buys(order_id)
    assert api.post("/orders", order(order_id, api.quote(), amount="5")).status_code == 409
    assert indexed(api) == {order_id: "FOREIGN"}
    version = api.ledger_item(order_id)["version"]  # type: ignore[index]
    capsys.readouterr()
    before = lookups(api)
    for _ in range(2):
        time_passes(api, order_id)
        assert run()["unsettled"] == 1
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "FOREIGN" and row["version"] == version  # never adopted, not rewritten
    assert indexed(api) == {order_id: "FOREIGN"}  # it needs a person: it stays on the list
    assert lookups(api) == before  # nothing to ask Minted
    # The reconciler's own (the pipe writes the same metrics for the change that made it FOREIGN).
    reported = [m for m in metrics_written(capsys) if "OrdersReconciled" in m]
    assert len(reported) == 2
    for metric in reported:  # as the alarm watches it: namespace MintedGateway, dimension service only
        directive = metric["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "MintedGateway" and directive["Dimensions"] == [["service"]]
        assert metric["service"] == "minted-gateway" and metric["ForeignOrdersSeen"] == [1.0]
        assert metric["OrderAttentionAgeSeconds"][0] >= 0
        assert metric["OrderAttentionOldestAgeSeconds"] == metric["OrderAttentionAgeSeconds"]
    assert api.minted.orders_created() == 1  # the stranger's only


def test_each_run_writes_the_oldest_wait_it_saw_and_nothing_while_a_waiting_row_is_unseen(
    api: Api, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def oldest() -> list[list[float]]:
        reported = [m for m in metrics_written(capsys) if "OrdersReconciled" in m]
        return [m["OrderAttentionOldestAgeSeconds"] for m in reported if "OrderAttentionOldestAgeSeconds" in m]

    capsys.readouterr()
    run()
    assert oldest() == [[0.0]]  # nothing waits: the age alarm may clear
    stranger_buys(order_id)
    assert api.post("/orders", order(order_id, api.quote(), amount="5")).status_code == 409
    time_passes(api, order_id)
    capsys.readouterr()
    assert run()["unsettled"] == 1
    ((age,),) = oldest()
    assert age >= 0
    assert run()["looked_at"] == 0  # the row is leased by the run before: this run does not see it
    assert oldest() == []  # nothing written: the alarm keeps its state rather than clearing


def test_an_unknown_outcome_minted_cannot_be_asked_about_is_reported_and_tried_again(
    api: Api, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown_order(api, order_id, committed=True)
    api.minted.fault("find_order", status=503)
    time_passes(api, order_id)
    capsys.readouterr()
    assert run()["unsettled"] == 1
    assert [m for m in metrics_written(capsys) if "OrdersReconciled" in m and "OrderAttentionAgeSeconds" in m]
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    api.minted.clear_faults()
    time_passes(api, order_id)  # its lease is over
    run()
    assert api.ledger_item(order_id)["state"] == "SUBMITTED"  # type: ignore[index]


class RefusingWrites:
    """The ledger as the GET use case sees it while DynamoDB refuses its updates (throttled, unavailable)."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise LedgerUnavailable("The order ledger is unavailable (ThrottlingException); try again.", retry_after=2)


@pytest.mark.parametrize("lookup_lists_every_order", [False, True], ids=["lookup shows one", "lookup lists all"])
@pytest.mark.parametrize("settled_by", ["reconciler", "GET"])
def test_a_split_buy_whose_answer_was_lost_settles_with_every_one_of_its_orders(
    api: Api, order_id: str, settled_by: str, lookup_lists_every_order: bool
) -> None:
    # One order per item; Get Order (Alternative) by external_id answers the first (as published) or all.
    api.minted.settings(split_orders=True, lookup_lists_every_order=lookup_lists_every_order)
    items = [{"sku": "GAU", "amount": Decimal("0.5")}, {"sku": "GAG", "amount": Decimal("2")}]
    quote = api.post("/quotes", {"currency": "TRY", "items": items})
    assert quote.status_code == 201, quote.text
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", order(order_id, quote.json()["price_token"], items=items)).status_code == 202
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    if settled_by == "reconciler":
        time_passes(api, order_id)
        assert run()["changed"] == 1
    shown = api.get(f"/orders/{order_id}")
    assert shown.status_code == 200, shown.text
    at_minted = [o for o in runtime.minted().list_orders(OrdersQuery(total=30)).data if o.external_id == order_id]
    assert len(at_minted) == 2
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "SUBMITTED"
    assert sorted(row["guids"]) == sorted(o["guid"] for o in row["orders"]) == sorted(o.guid for o in at_minted)
    assert sorted(o["guid"] for o in shown.json()["orders"]) == sorted(o.guid for o in at_minted)
    assert {line["sku"] for line in row["lines"]} == {"GAU", "GAG"}
    assert api.minted.orders_created() == 1  # found, never bought again
    if lookup_lists_every_order:  # the lookup said it all: no page of Get Orders was read for it
        assert api.minted.served("list_orders") == 1  # the test's own


def test_a_settling_write_the_ledger_refused_leaves_the_row_listed_for_the_next_run(api: Api, order_id: str) -> None:
    """The use case answers with what it could not store; the run must not take the row off the list for it."""
    api.minted.clock(completion_delay_seconds=0)  # found and final: nothing would be left to look at
    unknown_order(api, order_id, committed=True)
    time_passes(api, order_id)
    refused = GetOrder(RefusingWrites(runtime.order_ledger()), runtime.minted(), token_seconds=300)
    report = Reconcile(runtime.order_ledger(), refused, max_rows=10, time_budget_seconds=30, lease_seconds=120,
                       token_seconds=300)()  # fmt: skip
    assert report.looked_at == 1 and report.released == 0
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    assert indexed(api) == {order_id: "UNKNOWN"}  # still on the work list

    time_passes(api, order_id)  # its lease is over; the ledger takes writes again
    run()
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "SUBMITTED" and row["status"] == "Completed" and indexed(api) == {}
    assert api.minted.orders_created() == 1


# ---------------------------------------------------------------- bounds and concurrency
def reconciler(**bounds: Any) -> Reconcile:
    """The use case as the runtime builds it, with the bounds under test."""
    options = {"max_rows": 100, "time_budget_seconds": 30, "lease_seconds": 120, "token_seconds": 300, **bounds}
    return Reconcile(runtime.order_ledger(), runtime.get_order(), **options)


def test_a_bounded_run_leaves_the_rest_for_the_next(api: Api) -> None:
    ids = [new_id() for _ in range(5)]
    for external_id in ids:
        unknown_order(api, external_id, committed=True)
    time_passes(api, *ids)
    runs = [reconciler(max_rows=2)() for _ in range(3)]
    assert [(r.looked_at, r.more) for r in runs] == [(2, True), (2, True), (1, False)]
    assert {api.ledger_item(i)["state"] for i in ids} == {"SUBMITTED"}  # type: ignore[index]
    assert reconciler(time_budget_seconds=0)().more is False  # nothing left that is due
    assert api.minted.orders_created() == 5


def test_a_run_that_reaches_its_bound_on_the_last_due_row_says_nothing_more(api: Api) -> None:
    ids = [new_id() for _ in range(4)]
    for external_id in ids:
        unknown_order(api, external_id, committed=True)
    time_passes(api, *ids)
    runs = [reconciler(max_rows=2)() for _ in range(2)]
    assert [(r.looked_at, r.more) for r in runs] == [(2, True), (2, False)]
    assert {api.ledger_item(i)["state"] for i in ids} == {"SUBMITTED"}  # type: ignore[index]


def test_a_run_full_of_routine_refreshes_still_reports_a_strangers_order(api: Api, order_id: str) -> None:
    """Every fresh buy is a non-final SUBMITTED row for a while: refreshing them must not use up a run
    before the rows a person must see (the age alarm watches what a run reports)."""
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)  # each stays Created
    buys = [new_id() for _ in range(3)]
    for external_id in buys:
        assert api.post("/orders", order(external_id, api.quote())).status_code == 201
    stranger_buys(order_id)
    assert api.post("/orders", order(order_id, api.quote(), amount="5")).status_code == 409
    time_passes(api, order_id, *buys)
    report = reconciler(max_rows=2)()
    assert [record.external_id for record in report.unsettled] == [order_id]
    assert report.more is True  # the refreshes left wait for the next run


def test_a_run_out_of_time_stops_and_leaves_the_rows(api: Api, order_id: str) -> None:
    unknown_order(api, order_id, committed=True)
    time_passes(api, order_id)
    report = reconciler(time_budget_seconds=0)()
    assert report.more is True and report.looked_at == 0
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    assert indexed(api) == {order_id: "UNKNOWN"}


def test_two_concurrent_runs_change_nothing_more_than_one(api: Api, consumer: Consumer) -> None:
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)  # each stays Created
    ids = [new_id() for _ in range(4)]
    for external_id in ids:
        unknown_order(api, external_id, committed=True)
    versions = {i: api.ledger_item(i)["version"] for i in ids}  # type: ignore[index]
    time_passes(api, *ids)
    before, buys = lookups(api), api.minted.orders_created()
    start = threading.Barrier(2)
    reports: list[ReconcileReport] = []

    def one_run() -> None:
        start.wait()
        reports.append(reconciler()())

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    assert sum(r.looked_at for r in reports) == len(ids)  # each row taken by one run only
    assert lookups(api) - before == len(ids)  # what one run would have asked
    for external_id in ids:
        row = api.ledger_item(external_id)
        assert row is not None and row["state"] == "SUBMITTED" and row["version"] == versions[external_id] + 1
        assert sum("found at Minted by lookup" in (e.get("note") or "") for e in row["history"]) == 1
        events = consumer.events_of(external_id, 2)
        assert [e["detail"]["type"] for e in distinct(events)] == ["OrderNeedsAttention", "OrderSubmitted"]
        assert len({e["detail"]["event_id"] for e in events}) == len({e["detail"]["version"] for e in events}) == 2
    # A second run at once finds nothing due: the rows are settled or leased.
    after = lookups(api)
    assert reconciler()().looked_at == 0 and lookups(api) == after
    assert api.minted.orders_created() == buys


# ---------------------------------------------------------------- the daily comparison
def test_the_daily_comparison_reports_an_order_unknown_to_the_ledger_and_adopts_nothing(
    api: Api, order_id: str, consumer: Consumer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201  # ours: in the ledger
    stray = new_id()
    stranger_buys(stray)  # placed at Minted past the gateway
    capsys.readouterr()
    runtime.reset()  # a new container, as on Lambda: the reconciler reads the partner's secret itself
    summary = run("compare_with_minted")
    assert summary["orders_seen"] == 2 and summary["not_in_ledger"] == 1 and summary["complete"] is True
    assert api.ledger_item(stray) is None  # never adopted
    (event,) = one_of_each(consumer.events_of(stray, 1))
    assert event["detail-type"] == "OrderNotInLedger" and event["source"] == "minted-gateway.orders"
    detail = event["detail"]
    assert detail["external_id"] == stray and detail["order_code"] and detail["side"] == "buy"
    assert "customer" not in json.dumps(detail)
    written = [m for m in metrics_written(capsys) if "OrdersNotInLedger" in m]
    assert [(m["OrdersNotInLedger"], m["OrderComparisonsIncomplete"]) for m in written] == [([1.0], [0.0])]
    assert api.minted.orders_created() == 2  # ours and the stranger's: nothing bought by the comparison


def test_the_daily_comparison_reports_rows_that_disagree_with_minted_and_changes_none(
    api: Api, consumer: Consumer, capsys: pytest.CaptureFixture[str]
) -> None:
    agreeing, not_placed, other, foreign = new_id(), new_id(), new_id(), new_id()
    for external_id in (agreeing, not_placed, other):
        assert api.post("/orders", order(external_id, api.quote())).status_code == 201
    stranger_buys(foreign)  # Minted holds a stranger's order under this id: the row says FOREIGN
    assert api.post("/orders", order(foreign, api.quote(), amount="5")).status_code == 409
    table = api.stack.env["ORDERS_TABLE"]
    # Rows a fault wrote wrongly: "never reached Minted", and another order of Minted's than the one it holds.
    api.dynamodb.update_item(TableName=table, Key={"external_id": {"S": not_placed}},
                             UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                             ExpressionAttributeValues={":s": {"S": "NOT_PLACED"}})  # fmt: skip
    api.dynamodb.update_item(TableName=table, Key={"external_id": {"S": other}},
                             UpdateExpression="SET guids = :g, order_codes = :c, #o = :o",
                             ExpressionAttributeNames={"#o": "orders"},
                             ExpressionAttributeValues={":g": {"L": [{"S": "G-ELSE"}]}, ":c": {"L": [{"S": "C-ELSE"}]},
                                                        ":o": {"L": []}})  # fmt: skip
    rows = {external_id: api.ledger_item(external_id) for external_id in (not_placed, other, foreign)}
    buys = api.minted.orders_created()
    capsys.readouterr()
    summary = run("compare_with_minted")
    assert summary["orders_seen"] == 4 and summary["not_in_ledger"] == 3 and summary["complete"] is True
    reasons = {}
    for external_id in (not_placed, other, foreign):
        (event,) = comparison_events(consumer, external_id)
        reasons[external_id] = (event["detail"]["reason"], event["detail"]["ledger_state"])
        assert "customer" not in json.dumps(event["detail"])
    assert reasons == {not_placed: ("not_placed", "NOT_PLACED"), other: ("other_order", "SUBMITTED"),
                       foreign: ("foreign", "FOREIGN")}  # fmt: skip
    assert comparison_events(consumer, agreeing, wait=False) == []  # its row records the order Minted lists
    assert {external_id: api.ledger_item(external_id) for external_id in rows} == rows  # nothing adopted or changed
    assert [m["OrdersNotInLedger"] for m in metrics_written(capsys) if "OrdersNotInLedger" in m] == [[3.0]]
    assert api.minted.orders_created() == buys


def test_a_rejected_row_is_reported_and_a_row_still_settling_is_left_to_the_reconciler() -> None:
    listed = [Order(guid=f"G-{state.value}", order_code=f"C-{state.value}", external_id=f"ord-{state.value}",
                    status_name="Created") for state in State]  # fmt: skip
    ledger = Ledger(**{f"ord-{state.value}": LedgerEntry(state, frozenset()) for state in State})
    comparison = CompareWithMinted(ledger, SamePageForever(*listed, last_page=1), max_pages=5,
                                   time_budget_seconds=40)()  # fmt: skip
    reported = {stray.order.external_id: stray.reason for stray in comparison.not_in_ledger}
    # SUBMITTED without recorded ids (an older row) cannot be told apart: not reported.
    assert reported == {"ord-REJECTED": "rejected", "ord-NOT_PLACED": "not_placed", "ord-FOREIGN": "foreign"}


def comparison_events(consumer: Consumer, external_id: str, *, wait: bool = True) -> list[dict[str, Any]]:
    """The comparison's events of one order (the ledger's own events of it are left out)."""
    deadline = time.monotonic() + (ARRIVAL_SECONDS if wait else 0)
    while True:
        found = [e for e in consumer.events_of(external_id, 0) if e["detail-type"] == "OrderNotInLedger"]
        if found or time.monotonic() >= deadline:
            return one_of_each(found)
        time.sleep(0.1)


def one_of_each(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with the same detail once: PutEvents sent again after its answer timed out (botocore's
    retry on a slow machine) delivers one report twice, under two EventBridge ids."""
    kept: dict[str, dict[str, Any]] = {}
    for event in events:
        kept.setdefault(json.dumps(event["detail"], sort_keys=True), event)
    return list(kept.values())


class SamePageForever:
    """Minted's Get Orders answering every page number with the first page, and promising more."""

    def __init__(self, *orders: Order, last_page: int = 10**6) -> None:
        self._page = {"current_page": 1, "data": [o.model_dump() for o in orders], "last_page": last_page,
                      "per_page": 30, "total": 30 * last_page}  # fmt: skip
        self.pages = 0

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage:
        self.pages += 1
        return OrdersPage.model_validate(self._page)


class Ledger:
    """Rows by external_id; an id given alone is a SUBMITTED row recording no ids."""

    def __init__(self, *external_ids: str, **entries: LedgerEntry) -> None:
        self._rows = {key: LedgerEntry(State.SUBMITTED, frozenset()) for key in external_ids} | entries

    def known(self, external_ids: list[str]) -> dict[str, LedgerEntry]:
        return {key: entry for key, entry in self._rows.items() if key in external_ids}


def test_a_page_minted_repeats_reports_each_stray_order_once_and_stops_at_the_page_bound() -> None:
    ours = Order(guid="G-OURS", order_code="C-OURS", external_id="ord-ours", status_name="Completed")
    stray = Order(guid="G-STRAY", order_code="C-STRAY", external_id="ord-stray", status_name="Completed")
    minted = SamePageForever(ours, stray)
    comparison = CompareWithMinted(Ledger("ord-ours"), minted, max_pages=5, time_budget_seconds=40)()
    assert minted.pages == comparison.pages_read == 5 and comparison.complete is False
    assert comparison.orders_seen == 2
    assert [stray.order.guid for stray in comparison.not_in_ledger] == ["G-STRAY"]


def test_a_comparison_stopped_at_its_bound_writes_the_metric_its_alarm_watches(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = Order(guid="G-OURS", order_code="C-OURS", external_id="ord-ours", status_name="Completed")
    bounded = CompareWithMinted(Ledger("ord-ours"), SamePageForever(ours), max_pages=2, time_budget_seconds=40)
    monkeypatch.setattr(runtime, "compare_with_minted", lambda: bounded)
    capsys.readouterr()
    assert run("compare_with_minted")["complete"] is False
    (written,) = [m for m in metrics_written(capsys) if "OrderComparisonsIncomplete" in m]
    assert written["OrderComparisonsIncomplete"] == [1.0] and written["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service"]
    ]


class EmptyPagesEarly:
    """Get Orders promising 3 pages but answering page 2 empty (a list that changed while read)."""

    def __init__(self) -> None:
        self.pages = 0

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage:
        self.pages += 1
        page = query.page if query else 1
        data = [{"guid": "G-1", "external_id": "ord-1", "status_name": "Completed"}] if page == 1 else []
        return OrdersPage.model_validate({"current_page": page, "data": data, "last_page": 3, "per_page": 30,
                                          "total": 61})  # fmt: skip


def test_an_empty_page_before_the_last_is_not_a_complete_comparison() -> None:
    minted = EmptyPagesEarly()
    comparison = CompareWithMinted(Ledger(), minted, max_pages=10, time_budget_seconds=40)()
    assert comparison.complete is False and comparison.pages_read == minted.pages == 2
    assert [stray.order.guid for stray in comparison.not_in_ledger] == ["G-1"]


class SlowMinted:
    """Get Orders taking 15 s a page (on a clock of the test's own), one order on each of 100 pages."""

    def __init__(self) -> None:
        self.now = 0.0

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage:
        self.now += 15
        page = query.page if query else 1
        order = {"guid": f"G-{page}", "external_id": f"ord-{page}", "status_name": "Completed"}
        return OrdersPage.model_validate({"current_page": page, "data": [order], "last_page": 100, "per_page": 30,
                                          "total": 100})  # fmt: skip


def test_a_slow_minted_stops_the_comparison_at_its_time_budget_with_what_it_read_reported() -> None:
    minted = SlowMinted()
    comparison = CompareWithMinted(
        Ledger(), minted, max_pages=50, time_budget_seconds=40, monotonic=lambda: minted.now
    )()
    assert comparison.pages_read == 3 and comparison.complete is False  # started at 0, 15 and 30 s; not at 45
    assert [stray.order.guid for stray in comparison.not_in_ledger] == ["G-1", "G-2", "G-3"]


# ---------------------------------------------------------------- make reconcile
def test_make_reconcile_runs_once_on_the_recorded_stack_and_says_when_there_is_none(
    api: Api, order_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(stackfile.STACK_DIR_VARIABLE, str(tmp_path / "stacks"))
    assert reconcile_command.main([]) == reconcile_command.NO_STACK
    unknown_order(api, order_id, committed=True)
    time_passes(api, order_id)
    stackfile.write(stackfile.StackAddresses(gateway_url=api.url, sandbox_url=api.stack.sandbox.url,
                                             aws_url=api.stack.aws_url, workflow_arn="", pid=os.getpid()))  # fmt: skip
    saved = dict(os.environ)
    try:
        capsys.readouterr()
        assert reconcile_command.main(["reconcile"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.rindex("{\n") :])["changed"] == 1
    assert api.ledger_item(order_id)["state"] == "SUBMITTED"  # type: ignore[index]
