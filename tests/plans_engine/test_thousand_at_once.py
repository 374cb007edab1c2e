"""Done-when: 1,000 plans due at once run through the queue with maximum concurrency N: the sandbox
sees exactly 1,000 buys, and never more than N requests at once (its in-flight high-water mark)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from local.devstack import DevStack
from minted_gateway.plans import wiring
from minted_gateway.plans.calendar import Calendar
from minted_gateway.plans.plan import Plan
from tests.plans.helpers import drained, register, run_queue, tick
from tests.stack import Api, running_stack

N = 3  # PlansMaxConcurrency
PLANS = 1000


@pytest.fixture(scope="module")
def stack() -> Iterator[DevStack]:
    yield from running_stack(parameters={"PlansMaxConcurrency": str(N)})


def make_due_plans(count: int, due: datetime, customer: str) -> None:
    """Plans written straight to the plans table (the API makes them one by one; this is the setup)."""
    store = wiring.plan_store()
    now = datetime.now(UTC)
    calendar = Calendar(frequency="monthly", day_of_month=due.day, time=f"{due.hour:02d}:{due.minute:02d}")
    for index in range(count):
        store.create(Plan(plan_id=f"bulk-{index:04d}", customer_external_id=customer, sku="GAU", currency="TRY",
                          grams=Decimal("0.5"), calendar=calendar, next_run_at=due, created_at=now,
                          updated_at=now))  # fmt: skip


@pytest.mark.timeout(1800)
def test_a_thousand_plans_due_at_once_buy_once_each_never_more_than_n_at_once(api: Api) -> None:
    queue = run_queue(api.stack)
    assert queue.max_concurrency == N  # the template's ScalingConfig, from the parameter
    register(api, "cust-bulk")
    due = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    make_due_plans(PLANS, due, "cust-bulk")
    buys = api.minted.orders_created()
    started = time.monotonic()
    assert tick(api.stack, due)["dispatched"] == PLANS
    drained(api.stack, api, timeout=1500)
    elapsed = time.monotonic() - started
    assert api.minted.orders_created() - buys == PLANS
    # A run makes one Minted call at a time: N runs at once are at most N requests at once, of any kind.
    assert api.minted.most_at_once("*") <= N
    assert api.minted.most_at_once("buy") <= N
    assert queue.most_running <= N
    print(f"\n{PLANS} plan runs with MaximumConcurrency {N}: {elapsed:.1f} s")
