"""A plan's run takes the order path a POST /orders takes, inside the plans function: the day's limits
(a run counts against the customer's and the partner's day, a run past them is final and buys nothing,
a run Minted refuses gives its part of the day back), the partner's Minted credentials read again from
Secrets Manager after they rotate, and a plan checked against the per-order limit at Minted's price
when the cached one is stale, and a run whose quote cannot be checked releases its claim and buys once
when its message comes again.

Each run here is the dispatcher's own message for one plan, put on the real run queue and consumed by
its event source (the plans function, as Lambda invokes it): other tests' plans due at the same
minute do not run with it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3

from minted_gateway.dynamodb import from_item
from minted_gateway.minted import MintedClient, StaticCredentials
from minted_gateway.plans import wiring
from minted_gateway.plans.sqs_queue import SqsRunQueue
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, partner_credentials
from tests.dynamodb_faults import quote_book_unreadable
from tests.limits.conftest import counters
from tests.plans.helpers import drained, register, run_queue
from tests.stack import Api
from tests.waiting import wait_until

ROTATED_PASSWORD = "rotated-elsewhere"  # tests/security's log scan looks for it too
CENTS = Decimal("0.01")


def grams_plan(plan_id: str, customer: str, grams: str = "1") -> dict[str, Any]:
    return {"plan_id": plan_id, "customer_external_id": customer, "sku": "GAU", "grams": Decimal(grams),
            "currency": "TRY", "calendar": {"frequency": "monthly", "day_of_month": 5, "time": "09:00"}}  # fmt: skip


def make_plan(api: Api, plan_id: str, customer: str) -> None:
    response = api.post("/plans", grams_plan(plan_id, customer))
    assert response.status_code == 201, response.text


def due_message(plan_id: str) -> tuple[dict[str, Any], str]:
    """The plan's due period as the dispatcher queues it (not sent yet), and the order id its run buys under."""
    plan = wiring.plan_store().get(plan_id)
    assert plan is not None and plan.next_run_at is not None
    message = wiring.dispatch_due_plans().message(plan)
    return message, plan.run_external_id(message["period"])


def send(api: Api, message: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    SqsRunQueue(sqs, api.stack.env["PLANS_QUEUE_URL"]).send([message])


def run_of(api: Api, plan_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The message's run, as GET /plans/{plan_id} shows it."""
    (run,) = [r for r in api.get(f"/plans/{plan_id}").json()["runs"] if r["period"] == message["period"]]
    return dict(run)


def run_once(api: Api, plan_id: str) -> dict[str, Any]:
    """The plan's due period, as the dispatcher queues it, run through the queue; the run as GET /plans shows it."""
    message, _ = due_message(plan_id)
    send(api, message)
    drained(api.stack, api, timeout=60)  # a run that never settles keeps its message coming back
    return run_of(api, plan_id, message)


def buy_price(api: Api) -> Decimal:
    """Gold's buy price as the gateway values orders (GET /prices, which also fills the price cache)."""
    prices = api.get("/prices?currency=TRY").json()["prices"]
    return Decimal(str(next(p["buy_price"] for p in prices if p["sku"] == "GAU")))


def hold(api: Api, external_id: str) -> dict[str, Any]:
    """What the order reserved of the day, beside the counters."""
    item = api.dynamodb.get_item(TableName=api.stack.env["LIMITS_TABLE"], Key={"counter": {"S": f"hold#{external_id}"}},
                                 ConsistentRead=True).get("Item")  # fmt: skip
    assert item is not None, external_id
    return from_item(item)


def day_totals(api: Api) -> tuple[Decimal, Decimal]:
    """The customer's and the partner's day counters for buys in TRY (only one customer buys while limits are on)."""
    totals = counters(api)
    customer = sum((v for k, v in totals.items() if k.startswith("customer#")), Decimal(0))
    partner = sum((v for k, v in totals.items() if k.startswith("partner#")), Decimal(0))
    return customer, partner


def test_plan_runs_count_against_the_day_and_a_run_past_the_customers_limit_is_final_and_buys_nothing(
    api: Api, limits: Callable[..., None]
) -> None:
    api.minted.market(frozen=True)
    price = buy_price(api)
    # Room for one 1 g run of the customer's day, and for many of the partner's (its counter is sharded).
    limits(customer_day_amount=str((price * Decimal("1.5")).quantize(CENTS)), partner_day_amount=str(price * 100))
    register(api, "cust-day")
    make_plan(api, "day-first", "cust-day")
    make_plan(api, "day-second", "cust-day")
    buys = api.minted.orders_created()

    first = run_once(api, "day-first")
    assert first["state"] == "succeeded", first
    second = run_once(api, "day-second")
    assert second["state"] == "failed" and second["reason"] == "limit_exceeded", second
    assert api.minted.orders_created() == buys + 1  # the refused run never reached Minted
    row = api.ledger_item(second["external_id"])
    assert row is not None and row["state"] == "NOT_PLACED"
    counted = Decimal(str(hold(api, first["external_id"])["amount"]))
    assert counted > 0 and day_totals(api) == (counted, counted)  # the first run only, on both counters

    again = run_once(api, "day-second")  # its message delivered again: the refusal is final for the period
    assert again["state"] == "failed" and api.minted.orders_created() == buys + 1
    assert day_totals(api) == (counted, counted)


def test_a_run_minted_refuses_gives_its_part_of_the_day_back(api: Api, limits: Callable[..., None]) -> None:
    api.minted.market(frozen=True)
    day = str((buy_price(api) * Decimal("1.5")).quantize(CENTS))  # room for one 1 g run, not two
    limits(customer_day_amount=day, partner_day_amount=day)
    register(api, "cust-back")
    make_plan(api, "back-refused", "cust-back")
    make_plan(api, "back-after", "cust-back")
    buys = api.minted.orders_created()

    api.minted.fault("buy", status=422, times=1)
    refused = run_once(api, "back-refused")
    assert refused["state"] == "failed", refused
    row = api.ledger_item(refused["external_id"])
    assert row is not None and row["state"] == "REJECTED"
    assert hold(api, refused["external_id"])["state"] == "given_back"
    assert day_totals(api) == (Decimal(0), Decimal(0))
    # The day is whole again: the next run fits only because the refused one gave its part back.
    after = run_once(api, "back-after")
    assert after["state"] == "succeeded", after
    assert api.minted.orders_created() == buys + 1


def test_a_run_after_the_partners_password_rotated_reads_the_secret_again_and_buys_once(api: Api) -> None:
    register(api, "cust-rotated")  # a Minted call: the secret is read, and cached, with the old password
    make_plan(api, "rotated-run", "cust-rotated")
    buys = api.minted.orders_created()
    # The password changes at Minted and in the secret; the functions still hold the old one.
    api.minted.rotate_credentials(SANDBOX_USER, ROTATED_PASSWORD)
    api.put_partner_secret(api.secrets(), ROTATED_PASSWORD)
    try:
        run = run_once(api, "rotated-run")
    finally:
        api.minted.rotate_credentials(SANDBOX_USER, SANDBOX_PASSWORD)
        api.put_partner_secret(api.secrets(), SANDBOX_PASSWORD)
    assert run["state"] == "succeeded" and run["order_codes"], run
    assert api.minted.orders_created() == buys + 1
    row = api.ledger_item(run["external_id"])
    assert row is not None and row["state"] == "SUBMITTED"


def test_a_plan_is_checked_against_the_per_order_limit_at_minteds_price_when_the_cache_is_stale(
    api: Api, limits: Callable[..., None]
) -> None:
    api.minted.market(frozen=True)
    cached = buy_price(api)  # the cache now holds this price
    spot = Decimal(str(api.minted.market()["spot"]["GAU"]))
    api.minted.market(GAU=str(spot * 2))
    minted = MintedClient(StaticCredentials(partner_credentials(api.minted.base_url)))
    now = next(p.buy_price for p in minted.product_prices("TRY") if p.sku == "GAU")
    limit = (cached * Decimal("1.5")).quantize(CENTS)  # 1 g passes at the cached price, not at Minted's
    assert cached < limit < now
    limits(order_amount=str(limit))
    api.age_price_cache(3600)

    refused = api.post("/plans", grams_plan("stale-priced", "cust-stale"))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "limit_exceeded" and error["details"][0]["field"] == "grams"
    assert api.get("/plans/stale-priced").status_code == 404  # nothing half-written
    latest = {"pk": {"S": "LATEST"}, "sk": {"S": "TRY"}}
    item = api.dynamodb.get_item(TableName=api.stack.env["PRICES_TABLE"], Key=latest, ConsistentRead=True)["Item"]
    snapshot = from_item(item)["snapshot"]
    assert next(Decimal(str(p["buy_price"])) for p in snapshot["prices"] if p["sku"] == "GAU") == now  # refreshed


def test_a_run_whose_quote_cannot_be_checked_releases_its_claim_and_buys_once_when_its_message_comes_again(
    api: Api,
) -> None:
    """The quote's currency is checked after the claim; a check that cannot be made (the quote book
    unreadable) is a 503 for the run: the claim is released (nothing was sent), and the message's next
    delivery places the order once."""
    register(api, "cust-quote-book")
    make_plan(api, "quote-unread", "cust-quote-book")
    message, external_id = due_message("quote-unread")
    buys = api.minted.orders_created()
    with quote_book_unreadable() as refused:
        send(api, message)
        wait_until(lambda: refused[0] > 0 and run_queue(api.stack).running == 0, timeout=60,
                   what="the run's first delivery")  # fmt: skip
        assert api.ledger_item(external_id) is None, "the claim of a run refused before sending stays"  # released
        assert api.minted.orders_created() == buys
    drained(api.stack, api, timeout=60)  # its message comes again (after the local visibility timeout)
    run = run_of(api, "quote-unread", message)
    assert run["state"] == "succeeded", run
    assert api.minted.orders_created() == buys + 1
    row = api.ledger_item(external_id)
    assert row is not None and row["state"] == "SUBMITTED"


def test_a_run_whose_answer_was_lost_succeeds_when_it_comes_again_though_the_customer_changed_meanwhile(
    api: Api,
) -> None:
    """Minted buys, the answer is lost, and the customer changes a detail before the message comes again:
    the order is looked up from its ledger row, not asked again with another customer block (which would
    be another order under the same id), so the run succeeds, with the one buy."""
    register(api, "cust-changes")
    make_plan(api, "lost-answer", "cust-changes")
    message, _ = due_message("lost-answer")
    buys = api.minted.orders_created()
    api.minted.fault("buy", drop="after_commit", times=1)
    send(api, message)
    wait_until(lambda: api.minted.orders_created() == buys + 1 and run_queue(api.stack).running == 0, timeout=60,
               what="the run's first delivery")  # fmt: skip
    changed = api.http.patch(f"{api.url}/customers/cust-changes", json={"phone": "+905322808099"}, timeout=30)
    assert changed.status_code == 200, changed.text
    drained(api.stack, api, timeout=60)  # its message comes again (after the local visibility timeout)
    run = run_of(api, "lost-answer", message)
    assert run["state"] == "succeeded", run
    assert run["order_codes"] and api.minted.orders_created() == buys + 1


def test_a_run_whose_answer_was_lost_is_not_failed_when_asked_again_differently(api: Api) -> None:
    """The buy's answer is lost and Minted has nothing yet, then the customer changes a detail: the next
    delivery's request differs from the first (409), but the first may still land, so the run is not
    settled (its message comes again) and nothing more is bought."""
    register(api, "cust-changes-2")
    make_plan(api, "lost-unknown", "cust-changes-2")
    message, external_id = due_message("lost-unknown")
    buys = api.minted.orders_created()
    api.minted.fault("buy", drop="before_commit", times=1)
    try:
        send(api, message)
        wait_until(lambda: (api.ledger_item(external_id) or {}).get("state") == "UNKNOWN"
                   and run_queue(api.stack).running == 0, timeout=60, what="the run's first delivery")  # fmt: skip
        changed = api.http.patch(f"{api.url}/customers/cust-changes-2", json={"phone": "+905322808099"}, timeout=30)
        assert changed.status_code == 200, changed.text
        lookups = api.minted.served("get_order") + api.minted.served("find_order")
        wait_until(lambda: api.minted.served("get_order") + api.minted.served("find_order") > lookups
                   and run_queue(api.stack).running == 0, timeout=60, what="the run's next delivery")  # fmt: skip
        run = run_of(api, "lost-unknown", message)
        assert run["state"] == "started", run
        assert api.minted.orders_created() == buys
    finally:  # the message would come back until the token's lifetime is over
        sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
        sqs.purge_queue(QueueUrl=api.stack.env["PLANS_QUEUE_URL"])


def test_a_run_another_delivery_started_is_carried_through_not_skipped(api: Api, monkeypatch: Any) -> None:
    """Found by a code review: a delivery that read the period's run as absent, then found the plan cancelled,
    wrote its skip over the run another delivery had started meanwhile (and over the grams it fixed), so the
    plan said skipped while that delivery's order reached Minted."""
    from datetime import UTC, datetime

    from minted_gateway.plans.dynamodb_plans import DynamoDbPlanStore
    from minted_gateway.plans.plan import PlanRun

    register(api, "cust-skip-race")
    make_plan(api, "plan-skip-race", "cust-skip-race")
    message, external_id = due_message("plan-skip-race")
    store = wiring.plan_store()
    # Delivery A starts the period and fixes its grams, and is still buying when ...
    period, run_at = message["period"], datetime.fromisoformat(message["run_at"])
    store.start_run(PlanRun(plan_id="plan-skip-race", period=period, state="started", external_id=external_id,
                            run_at=run_at, updated_at=datetime.now(UTC)))  # fmt: skip
    store.fix_grams("plan-skip-race", period, Decimal("0.5"))
    cancelled = api.http.delete(f"{api.url}/plans/plan-skip-race", timeout=30)  # ... the plan is cancelled
    assert cancelled.status_code == 200, cancelled.text
    read = DynamoDbPlanStore.run
    before: list[str] = []

    def absent_before_a_started(self: DynamoDbPlanStore, plan_id: str, period: str) -> Any:  # delivery B's read
        if plan_id == "plan-skip-race" and not before:
            before.append(period)
            return None
        return read(self, plan_id, period)

    monkeypatch.setattr(DynamoDbPlanStore, "run", absent_before_a_started)
    buys = api.minted.orders_created()
    send(api, message)
    drained(api.stack, api, timeout=60)
    monkeypatch.undo()
    run = run_of(api, "plan-skip-race", message)
    assert before and run["state"] == "succeeded", run
    assert Decimal(str(run["grams"])) == Decimal("0.5"), "the grams the first delivery fixed"
    assert api.minted.orders_created() == buys + 1
