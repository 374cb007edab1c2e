"""Done-when: three plans (weekly, monthly on the 31st, by grams) over three simulated months on make
dev's stack and the sandbox clock buy exactly once per period each, counted at the sandbox, while
some runs meet faults at the sandbox (a drop after commit, a 5xx, latency past the client's timeout)
and every queue message is delivered twice.

The sandbox takes a repeated external_id as one more order here (``accept_repeated_external_id``), so
a second buy of a period would show up as a second order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from local.devstack import DevStack
from minted_gateway.plans.calendar import Calendar
from tests.plans.helpers import drained, register, run_queue, tick
from tests.stack import Api, running_stack

READ_TIMEOUT = "2"  # seconds: the latency fault below is longer
PLANS = [
    {"plan_id": "weekly", "customer_external_id": "cust-weekly", "sku": "GAU", "amount": 500, "currency": "TRY",
     "calendar": {"frequency": "weekly", "weekday": "monday", "time": "09:00"}},
    {"plan_id": "monthly-31", "customer_external_id": "cust-monthly", "sku": "GAU", "amount": 2000, "currency": "TRY",
     "calendar": {"frequency": "monthly", "day_of_month": 31, "time": "10:00"}},
    {"plan_id": "grams", "customer_external_id": "cust-grams", "sku": "GAG", "grams": 25, "currency": "TRY",
     "calendar": {"frequency": "biweekly", "weekday": "friday", "time": "09:30"}},
]  # fmt: skip
# Which run (in order of time) meets which fault at the sandbox's buy.
FAULTS = {1: {"drop": "after_commit"}, 3: {"status": 500}, 5: {"latency_ms": 3000}, 8: {"status": 503}}


@pytest.fixture(scope="module")
def stack() -> Iterator[DevStack]:
    yield from running_stack({"MINTED_READ_TIMEOUT_SECONDS": READ_TIMEOUT})


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.timeout(900)
def test_three_plans_buy_once_per_period_over_three_months_under_faults_and_double_delivery(api: Api) -> None:
    api.minted.settings(accept_repeated_external_id=True)
    queue = run_queue(api.stack)
    queue.duplicate = True
    queue.visibility_seconds = 5  # longer than READ_TIMEOUT and the latency fault (local/queues.py says why)
    try:
        made = []
        for body in PLANS:
            register(api, str(body["customer_external_id"]))
            response = api.post("/plans", body)
            assert response.status_code == 201, response.text
            made.append(response.json())
        start = min(_at(p["next_run_at"]) for p in made)
        end = start + timedelta(days=92)
        expected = {p["plan_id"]: _periods(p, end) for p in made}
        assert len(expected["monthly-31"]) == 3 and len(expected["weekly"]) >= 12 and len(expected["grams"]) >= 6

        simulated, runs = datetime.now(start.tzinfo), 0
        while True:
            due = min(_at(api.get(f"/plans/{p['plan_id']}").json()["next_run_at"]) for p in made)
            if due > end:
                break
            api.minted.clock(advance_seconds=max(0, int((due - simulated).total_seconds())))  # the sandbox's clock too
            simulated = due
            runs += 1
            if runs in FAULTS:
                api.minted.fault("buy", times=1, **FAULTS[runs])
            assert tick(api.stack, due)["dispatched"] >= 1
            drained(api.stack, api)
            api.minted.clear_faults()
    finally:
        queue.duplicate = False
        queue.visibility_seconds = 12
        api.minted.settings(accept_repeated_external_id=False)

    total = sum(len(periods) for periods in expected.values())
    assert api.minted.orders_created() == total  # exactly one buy per period, at the sandbox
    counters = api.minted.counters()
    assert counters["faults_applied"].get("buy", 0) == len(FAULTS)
    for plan in made:
        runs_shown = api.get(f"/plans/{plan['plan_id']}").json()["runs"]
        assert sorted(r["period"] for r in runs_shown) == sorted(expected[plan["plan_id"]])
        assert {r["state"] for r in runs_shown} == {"succeeded"}
        for run in runs_shown:
            order = api.get(f"/orders/{run['external_id']}").json()
            assert order["state"] == "SUBMITTED", order


def _periods(plan: dict[str, object], end: datetime) -> list[str]:
    calendar = Calendar.model_validate(plan["calendar"])
    at, periods = _at(str(plan["next_run_at"])), []
    while at <= end:
        periods.append(calendar.period(at, "Europe/Istanbul"))
        at = calendar.next_run(at, "Europe/Istanbul")
    return periods
