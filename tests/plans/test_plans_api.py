"""POST, GET, PATCH and DELETE /plans over real HTTP, and one run of a plan through the queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from minted_gateway.validation import GATEWAY_ORDER_ID_RULE
from tests.conditional.test_conditional_orders import API_TIME
from tests.deliveries.test_deliveries import delivery
from tests.plans.helpers import drained, register, tick
from tests.stack import Api, customer, order

MONTHLY = {"frequency": "monthly", "day_of_month": 5, "time": "09:00"}


def plan(plan_id: str, customer: str = "cust-plans", **extra: object) -> dict[str, object]:
    return {"plan_id": plan_id, "customer_external_id": customer, "sku": "GAU", "amount": 500, "currency": "TRY",
            "calendar": MONTHLY, **extra}  # fmt: skip


def test_a_plan_is_made_once_read_listed_paused_resumed_and_cancelled(api: Api) -> None:
    made = api.post("/plans", plan("plan-api-1"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "active" and body["next_run_at"] and body["runs"] == []
    assert body["calendar"]["starts_on"]  # the day it was made, kept
    for name in ("next_run_at", "created_at", "updated_at"):  # the API's one form of a time (docs/api.md)
        assert API_TIME.fullmatch(body[name]), (name, body[name])
    again = api.post("/plans", plan("plan-api-1"))
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    other = api.post("/plans", plan("plan-api-1", amount=600))
    assert other.status_code == 409 and other.json()["error"]["code"] == "plan_conflict"

    assert api.get("/plans/plan-api-1").json()["plan_id"] == "plan-api-1"
    listed = api.get("/plans", params={"customer_external_id": "cust-plans"}).json()
    assert "plan-api-1" in [p["plan_id"] for p in listed["plans"]]

    paused = api.http.patch(api.url + "/plans/plan-api-1", json={"paused": True}, timeout=30)
    assert paused.status_code == 200 and paused.json()["status"] == "paused" and paused.json()["next_run_at"] is None
    resumed = api.http.patch(api.url + "/plans/plan-api-1", json={"paused": False, "amount": 750}, timeout=30)
    assert resumed.json()["status"] == "active" and resumed.json()["next_run_at"] and resumed.json()["amount"] == 750
    cancelled = api.http.delete(api.url + "/plans/plan-api-1", timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.http.delete(api.url + "/plans/plan-api-1", timeout=30).status_code == 200
    refused = api.http.patch(api.url + "/plans/plan-api-1", json={"paused": False}, timeout=30)
    assert refused.status_code == 409


def test_a_plan_names_amount_or_grams_and_a_whole_calendar(api: Api) -> None:
    both = api.post("/plans", plan("plan-api-2", grams=1))
    assert both.status_code == 422
    no_day = api.post("/plans", plan("plan-api-3", calendar={"frequency": "monthly"}))
    assert no_day.status_code == 422 and "calendar" in no_day.text
    assert api.get("/plans/no-such-plan").status_code == 404
    forged = api.get("/plans", params={"customer_external_id": "cust-plans", "cursor": "bm9wZQ"})
    assert forged.status_code == 422 and forged.json()["error"]["details"][0]["field"] == "query.cursor", forged.text


def test_a_day_or_a_flag_written_as_text_or_another_type_is_refused_naming_it(api: Api) -> None:
    """pydantic's lax int and bool took ``true`` as day 1, ``"5"`` as 5 and ``1`` as paused."""
    for day in (True, "5", "5.0", Decimal("5.5")):
        refused = api.post("/plans", plan("plan-api-types", calendar={**MONTHLY, "day_of_month": day}))
        assert refused.status_code == 422 and "day_of_month" in refused.text, (day, refused.text)
    assert api.get("/plans/plan-api-types").status_code == 404
    assert (
        api.post("/plans", plan("plan-api-types", calendar={**MONTHLY, "day_of_month": Decimal("5.0")})).status_code
        == 201
    )
    for start in (1798761600, "1798761600", 0):  # pydantic's lax date read these as Unix seconds
        refused = api.post("/plans", plan("plan-api-types", calendar={**MONTHLY, "starts_on": start}))
        assert refused.status_code == 422 and "starts_on" in refused.text, (start, refused.text)
    for flag in (1, "true", "yes"):
        refused = api.http.patch(api.url + "/plans/plan-api-types", json={"paused": flag}, timeout=30)
        assert refused.status_code == 422 and "paused" in refused.text, (flag, refused.text)
    assert api.get("/plans/plan-api-types").json()["status"] == "active"


def test_a_start_at_the_end_of_the_calendar_or_a_time_in_other_digits_is_refused_naming_it(api: Api) -> None:
    """A run searched for past 9999-12-31 overflowed into a 500; ``\\d`` took "1０:00" (a fullwidth digit)."""
    assert api.post("/plans", plan("plan-api-bounds")).status_code == 201
    before = api.get("/plans/plan-api-bounds").json()
    refusals = [
        ({**MONTHLY, "starts_on": "9999-12-31"}, "calendar.starts_on"),
        ({"frequency": "weekly", "weekday": "monday", "starts_on": "9001-01-01"}, "calendar.starts_on"),
        ({**MONTHLY, "time": "1\uff10:00"}, "calendar.time"),
        ({**MONTHLY, "time": "\u0661\u0660:00"}, "calendar.time"),
    ]
    for calendar, field in refusals:
        made = api.post("/plans", plan("plan-api-bounds-2", calendar=calendar))
        changed = api.http.patch(api.url + "/plans/plan-api-bounds", json={"calendar": calendar}, timeout=30)
        for refused in (made, changed):
            assert refused.status_code == 422, (calendar, refused.status_code, refused.text)
            assert [d["field"] for d in refused.json()["error"]["details"]] == [field], refused.text
    assert api.get("/plans/plan-api-bounds-2").status_code == 404
    assert api.get("/plans/plan-api-bounds").json() == before  # nothing half-written
    last = api.post("/plans", plan("plan-api-bounds-3", calendar={**MONTHLY, "starts_on": "9000-12-31"}))
    assert last.status_code == 201 and last.json()["next_run_at"].startswith("9001-01-05"), last.text


def test_a_plan_an_earlier_version_stored_under_looser_rules_stays_readable_and_runs(api: Api) -> None:
    """Before the two rules above a time in other digits and a start past 9000-12-31 were stored. They bind what
    a caller asks; a stored row is read as it was written, or its GET, its customer's list and every plan due
    beside it in the dispatcher's run would fail (found by review)."""
    register(api, "cust-legacy")
    made = [api.post("/plans", plan(plan_id, customer="cust-legacy")).json()
            for plan_id in ("plan-legacy-digits", "plan-legacy-late", "plan-legacy-ok")]  # fmt: skip
    table, names = api.stack.env["PLANS_TABLE"], {"#time": "time"}
    for plan_id, expression, value in (("plan-legacy-digits", "SET calendar.#time = :v", "0\uff19:00"),
                                       ("plan-legacy-late", "SET calendar.starts_on = :v", "9500-01-05")):  # fmt: skip
        api.dynamodb.update_item(
            TableName=table, Key={"plan_id": {"S": plan_id}, "item": {"S": "plan"}}, UpdateExpression=expression,
            ExpressionAttributeValues={":v": {"S": value}},
            **({"ExpressionAttributeNames": names} if "#time" in expression else {}),
        )  # fmt: skip
    assert api.get("/plans/plan-legacy-digits").json()["calendar"]["time"] == "0\uff19:00"
    assert api.get("/plans/plan-legacy-late").json()["calendar"]["starts_on"] == "9500-01-05"
    listed = api.get("/plans", params={"customer_external_id": "cust-legacy"})
    assert listed.status_code == 200 and len(listed.json()["plans"]) == 3, listed.text
    due = datetime.fromisoformat(made[0]["next_run_at"].replace("Z", "+00:00"))
    assert tick(api.stack, due)["dispatched"] >= 3  # the stored rows are sent with the rest, none stops the run
    drained(api.stack, api)
    for plan_id in ("plan-legacy-digits", "plan-legacy-ok"):
        assert [run["state"] for run in api.get(f"/plans/{plan_id}").json()["runs"]] == ["succeeded"], plan_id
    paused = api.http.patch(api.url + "/plans/plan-legacy-digits", json={"paused": True}, timeout=30)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"


def test_a_customer_bound_token_manages_only_its_customers_plans(api: Api) -> None:
    assert api.post("/plans", plan("plan-api-4", customer="cust-other")).status_code == 201
    bound = api.as_caller(customer="cust-mine")
    refused = bound.post("/plans", plan("plan-api-5", customer="cust-other"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "customer_mismatch"
    assert bound.get("/plans/plan-api-4").status_code == 404
    assert bound.http.delete(bound.url + "/plans/plan-api-4", timeout=30).status_code == 404
    assert api.get("/plans/plan-api-4").json()["status"] == "active"
    taken = bound.post("/plans", plan("plan-api-4", customer="cust-mine"))  # another customer's plan_id
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "plan_conflict", taken.text
    assert "cust-other" not in taken.text
    assert bound.get("/plans", params={"customer_external_id": "cust-other"}).status_code == 403
    assert bound.post("/plans", plan("plan-api-6", customer="cust-mine")).status_code == 201
    assert bound.get("/plans").status_code == 422  # the customer is named, even by its own token
    mine = bound.get("/plans", params={"customer_external_id": "cust-mine"}).json()["plans"]
    assert [p["plan_id"] for p in mine] == ["plan-api-6"]


def test_a_due_plan_runs_once_through_the_queue_and_shows_its_run(api: Api) -> None:
    register(api, "cust-run")
    body = api.post("/plans", plan("plan-run-1", customer="cust-run")).json()
    due = datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00"))
    buys = api.minted.orders_created()
    assert tick(api.stack, due)["dispatched"] >= 1  # (other tests' plans may be due by then too)
    assert tick(api.stack, due)["dispatched"] == 0  # moved on: the same minute again sends nothing
    drained(api.stack, api)
    shown = api.get("/plans/plan-run-1").json()
    assert api.minted.orders_created() == buys + 1
    (run,) = shown["runs"]
    assert run["state"] == "succeeded" and run["external_id"] == f"plan-plan-run-1-{due:%Y-%m}"
    assert run["order_codes"] and run["grams"] > 0
    assert api.get(f"/orders/{run['external_id']}").status_code == 200  # an ordinary order in the ledger
    assert shown["next_run_at"] > body["next_run_at"]


def test_a_change_made_while_the_dispatcher_moves_the_plan_on_keeps_the_next_run(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a code review: a PATCH that read the plan just before a dispatch wrote its old next_run_at
    back (moving the plan on did not change its version), so the period it had dispatched was due again."""
    from minted_gateway.plans.dynamodb_plans import DynamoDbPlanStore

    register(api, "cust-race")
    due = datetime.fromisoformat(api.post("/plans", plan("plan-race", customer="cust-race")).json()["next_run_at"])
    read = DynamoDbPlanStore.get
    dispatched: list[int] = []

    def read_then_dispatch(store: DynamoDbPlanStore, plan_id: str) -> object:
        found = read(store, plan_id)
        if plan_id == "plan-race" and not dispatched:  # between the PATCH's read and its write
            dispatched.append(tick(api.stack, due)["dispatched"])
        return found

    monkeypatch.setattr(DynamoDbPlanStore, "get", read_then_dispatch)
    changed = api.http.patch(f"{api.url}/plans/plan-race", json={"amount": 600}, timeout=30)
    monkeypatch.undo()
    assert changed.status_code == 200 and dispatched and dispatched[0] >= 1, changed.text
    shown = api.get("/plans/plan-race").json()
    assert shown["amount"] == 600 and datetime.fromisoformat(shown["next_run_at"]) > due, shown
    assert tick(api.stack, due)["dispatched"] == 0  # the dispatched period is not due again
    drained(api.stack, api)


def test_nobody_can_take_a_plan_runs_or_a_conditional_orders_name_first(api: Api) -> None:
    """A customer-bound token bought under the next run's name (plan-<plan_id>-<period>) and so made
    another customer's plan run fail as an order_conflict (found by a hostile-input review); cond-<id>
    likewise. POST /orders, /deliveries and /orders/workflow refuse those names, and the run then buys."""
    register(api, "cust-victim")
    body = api.post("/plans", plan("plan-victim-1", customer="cust-victim")).json()
    due = datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00"))
    squatter = api.as_caller(customer="cust-squatter", subject="app-user-of-cust-squatter")
    buys = api.minted.orders_created()
    for name in (f"plan-plan-victim-1-{due:%Y-%m}", "cond-someones-target"):
        taken = order(name, api.quote(), with_customer=True)
        taken["customer"] = customer("cust-squatter")
        workflow = {k: v for k, v in taken.items() if k != "price_token"}
        for route, request in (("/orders", taken), ("/orders/workflow", workflow),
                               ("/deliveries", delivery(name, "cust-squatter"))):  # fmt: skip
            refused = squatter.post(route, request)
            assert refused.status_code == 422, (route, refused.text)
            assert {"field": "external_id", "message": GATEWAY_ORDER_ID_RULE} in refused.json()["error"]["details"]
        assert api.ledger_item(name) is None
    assert api.minted.orders_created() == buys
    tick(api.stack, due)
    drained(api.stack, api)
    (run,) = api.get("/plans/plan-victim-1").json()["runs"]
    assert run["state"] == "succeeded", run


def test_a_plan_id_of_dots_alone_is_refused_naming_it(api: Api) -> None:
    """Found by a hostile-input review: a plan named ".." was made, and as a path segment ".." names another
    path, so no ordinary client could read, change or stop a plan that bought every month."""
    for plan_id in (".", "..", "...", "x" * 41, ""):
        refused = api.post("/plans", plan(plan_id))
        assert refused.status_code == 422, (plan_id, refused.text)
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["plan_id"], refused.text
    assert api.post("/plans", plan("..a.")).status_code == 201  # dots beside another character: one segment
    assert api.get("/plans/..a.").json()["plan_id"] == "..a."


def test_a_change_of_nulls_alone_is_refused_as_an_empty_one(api: Api) -> None:
    """Found by a hostile-input review: {"amount": null, "paused": null, ...} answered 200 and moved updated_at."""
    assert api.post("/plans", plan("plan-api-nulls")).status_code == 201
    before = api.get("/plans/plan-api-nulls").json()
    for changes in ({}, {"paused": None}, {"amount": None, "grams": None, "calendar": None, "paused": None}):
        refused = api.http.patch(api.url + "/plans/plan-api-nulls", json=changes, timeout=30)
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "body", refused.text
    assert api.get("/plans/plan-api-nulls").json() == before
    assert api.http.patch(api.url + "/plans/plan-api-nulls", json={"amount": None, "paused": True}, timeout=30).ok


def test_the_document_refuses_exactly_the_plan_changes_the_model_refuses() -> None:
    import jsonschema
    from pydantic import ValidationError

    from minted_gateway.plans.requests import PlanChanges

    schema = PlanChanges.model_json_schema()
    for changes in ({}, {"paused": None}, {"amount": None, "grams": None}, {"amount": 5, "grams": 1},
                    {"amount": 5}, {"amount": None, "paused": True}, {"grams": 1, "amount": None}):  # fmt: skip
        try:
            PlanChanges.model_validate(changes)
            refused = False
        except ValidationError:
            refused = True
        document_refuses = not jsonschema.Draft202012Validator({"not": schema["not"], "minProperties": 1}).is_valid(
            changes
        )
        assert refused == document_refuses, changes
