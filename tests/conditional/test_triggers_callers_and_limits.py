"""Who may manage a conditional order or an alert, and the per-order limits at creation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from minted_gateway import runtime
from tests.conditional.conftest import conditional_buy, expires_in, refresh, settled
from tests.stack import Api, customer


def bound(api: Api, who: str) -> Api:
    return api.as_caller(customer=who, subject=f"app-user-of-{who}")


def test_a_customer_bound_token_manages_its_own_customers_conditional_orders_and_alerts_only(market: Api) -> None:
    api = market
    as_a, as_b = bound(api, "cust-a1"), bound(api, "cust-b1")
    mine = as_a.post("/orders/conditional", conditional_buy("target-a", customer_external_id="cust-a1"))
    assert mine.status_code == 201, mine.text
    for body in (conditional_buy("target-a-for-b", customer_external_id="cust-b1"), conditional_buy("target-b2b")):
        refused = as_a.post("/orders/conditional", body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "customer_mismatch"
    alert = {"external_id": "alert-b", "sku": "GAU", "direction": "at_or_below", "trigger_price": Decimal(2800),
             "expires_at": expires_in(3600), "customer_external_id": "cust-b1"}  # fmt: skip
    assert as_a.post("/alerts", alert).status_code == 403
    assert as_b.post("/alerts", alert).status_code == 201

    # Another customer's is not found (never a 403 that says it exists), and cannot be cancelled.
    assert as_b.get("/orders/conditional/target-a").status_code == 404
    assert as_b.http.delete(as_b.url + "/orders/conditional/target-a", timeout=30).status_code == 404
    assert as_a.get("/alerts/alert-b").status_code == 404
    assert as_a.get("/orders/conditional/target-a").json()["customer_external_id"] == "cust-a1"
    assert api.get("/orders/conditional/target-a").status_code == 200  # the partner's server sees every one
    # The same id retried by another customer's token is not theirs to read back.
    taken = as_b.post("/orders/conditional", conditional_buy("target-a", customer_external_id="cust-b1"))
    assert taken.status_code == 409

    assert api.post("/customers", customer("cust-a1")).status_code == 201
    api.minted.market(GAU=2700)
    refresh()
    assert settled(api, "/orders/conditional/target-a")["state"] == "ORDERED"
    caller = api.ledger_item("cond-target-a")["caller"]  # type: ignore[index]
    assert caller["sub"] == "app-user-of-cust-a1"  # placed as who made it
    assert as_a.get("/orders/cond-target-a").status_code == 200
    assert as_b.get("/orders/cond-target-a").status_code == 404


@pytest.fixture
def order_limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """At most 10 g of gold and 20,000 TRY in one order (the template's OrderMaxGramsPerSku, OrderMaxAmount)."""
    monkeypatch.setenv("LIMIT_ORDER_GRAMS", "GAU:10")
    monkeypatch.setenv("LIMIT_ORDER_AMOUNT", "20000")
    runtime.reset()
    yield
    monkeypatch.undo()
    runtime.reset()


def test_an_order_past_a_per_order_limit_is_refused_at_creation_and_one_within_is_placed(
    market: Api, order_limit: None
) -> None:
    api = market
    grams = api.post("/orders/conditional", conditional_buy("target-grams", amount="11"))
    assert grams.status_code == 422 and grams.json()["error"]["code"] == "limit_exceeded"
    assert grams.json()["error"]["details"][0]["limit"] == "order_grams.GAU"
    money = api.post("/orders/conditional", conditional_buy("target-money", "2800", amount="8"))  # 22,400 TRY
    assert money.status_code == 422 and money.json()["error"]["details"][0]["limit"] == "order_amount"
    # Each named by this request's own field (it has no items: found by a hostile-input review).
    assert [d["field"] for r in (grams, money) for d in r.json()["error"]["details"]] == ["amount", "amount"]
    assert api.get("/orders/conditional/target-grams").status_code == 404  # nothing was written

    fits = api.post("/orders/conditional", conditional_buy("target-fits", "2800", amount="5"))
    assert fits.status_code == 201, fits.text
    api.minted.market(GAU=2700)
    refresh()
    assert settled(api, "/orders/conditional/target-fits")["state"] == "ORDERED"
    assert api.minted.orders_created("buy") == 1


@pytest.fixture
def partner_day_limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """At most 5,000 TRY a day for the partner (PartnerDailyMaxAmount); the day's counters start empty."""
    table = api.stack.env["LIMITS_TABLE"]
    for item in api.dynamodb.scan(TableName=table, ConsistentRead=True).get("Items", []):
        api.dynamodb.delete_item(TableName=table, Key={"counter": item["counter"]})
    for name in ("LIMIT_ORDER_GRAMS", "LIMIT_ORDER_AMOUNT", "LIMIT_CUSTOMER_DAY_AMOUNT"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("LIMIT_PARTNER_DAY_AMOUNT", "5000")
    # Every function reads the partner's secret itself (make dev's functions share one process and its
    # cache): the run's record of AWS calls then shows the consumer's own read (test_least_privilege).
    monkeypatch.setenv("SECRET_MAX_AGE_SECONDS", "0")
    runtime.reset()
    yield
    monkeypatch.undo()
    runtime.reset()


def test_the_days_limits_apply_when_it_is_placed_and_a_refusal_fails_it_for_good(
    market: Api, partner_day_limit: None
) -> None:
    api = market
    first = api.post("/orders/conditional", conditional_buy("target-day-1", "2800", amount="1"))
    second = api.post("/orders/conditional", conditional_buy("target-day-2", "2790", amount="1"))
    assert first.status_code == second.status_code == 201
    api.minted.market(GAU=2700)  # about 2,740 TRY each: the second passes the day's 5,000
    refresh()
    outcomes = sorted(settled(api, f"/orders/conditional/target-day-{n}")["state"] for n in (1, 2))
    assert outcomes == ["FAILED", "ORDERED"]
    failed = next(api.get(f"/orders/conditional/target-day-{n}").json() for n in (1, 2)
                  if api.get(f"/orders/conditional/target-day-{n}").json()["state"] == "FAILED")  # fmt: skip
    assert failed["failure"]["code"] == "limit_exceeded"
    assert api.minted.orders_created("buy") == 1
    refresh()  # final: no later refresh tries it again
    assert api.minted.orders_created("buy") == 1


def test_an_expiry_without_an_offset_is_refused_naming_expires_at(market: Api) -> None:
    """A time with no offset is no moment: the 422 names the field, not the body (found by a new-user trial)."""
    alert = {k: v for k, v in conditional_buy("no-offset-alert").items() if k not in ("side", "amount")}
    for route, body in (("/orders/conditional", conditional_buy("no-offset-order")),
                        ("/alerts", {**alert, "direction": "at_or_below"})):  # fmt: skip
        refused = market.post(route, {**body, "expires_at": "2035-12-31T23:59:59"})
        assert refused.status_code == 422, refused.text
        assert {"field": "expires_at", "message": "needs an offset (e.g. +03:00 or Z)"} in refused.json()["error"][
            "details"
        ], refused.text
