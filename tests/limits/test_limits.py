"""Limits on what can be bought and sold (issue 13, item 4), over real HTTP to the sandbox, moto for DynamoDB.

Each limit is off until set; an order that would pass one is refused with 422 limit_exceeded before
Minted is asked, naming the limit and what remains; a refused or not-placed order gives back what
it reserved, exactly once; a replay counts nothing again.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.gateway import invoke
from local.template import functions_of, load_template
from minted_gateway import jsonutil
from minted_gateway.dynamodb import from_item
from minted_gateway.orders.limits import line_total
from tests.api.test_orders import _stranger_buys
from tests.limits.conftest import counters
from tests.stack import Api, customer, order

JSON_BODY = {"Content-Type": "application/json"}


def unit_price(api: Api, sku: str = "GAU") -> Decimal:
    """The buy price the gateway values an order at: its current prices (GET /prices)."""
    prices = api.get("/prices?currency=TRY").json()["prices"]
    return Decimal(str(next(p["buy_price"] for p in prices if p["sku"] == sku)))


def new_id(prefix: str = "lim") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def hold_items(api: Api, external_id: str) -> list[dict[str, Any]]:
    """The order's hold beside the day's counters (none, or one)."""
    item = api.dynamodb.get_item(TableName=api.stack.env["LIMITS_TABLE"], Key={"counter": {"S": f"hold#{external_id}"}},
                                 ConsistentRead=True).get("Item")  # fmt: skip
    return [from_item(item)] if item else []


def held(api: Api, external_id: str) -> Decimal:
    """What an order holds of the day's totals now (its hold, unless given back)."""
    return sum((Decimal(h["amount"]) for h in hold_items(api, external_id) if h["state"] == "held"), Decimal(0))


def refusal(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "limit_exceeded"
    detail: dict[str, Any] = error["details"][0]
    return detail


def test_fifty_concurrent_buys_stop_at_the_customers_daily_limit(api: Api, limits: Callable[..., None]) -> None:
    """The Done-when line: together they exceed the day's limit; the accepted ones sum to at most it,
    the rest are 422 limit_exceeded, and Minted saw only the accepted ones."""
    value = line_total(Decimal("1.5"), unit_price(api))
    limit = (value * Decimal("10.5")).quantize(Decimal("0.01"))  # room for ten of the fifty
    limits(customer_day_amount=str(limit))
    buyer = customer(new_id("cust"))
    bodies = [order(new_id(), api.quote(), customer=buyer) for _ in range(50)]

    def place(body: dict[str, Any]) -> requests.Response:
        return requests.post(
            api.url + "/orders",
            data=jsonutil.dumps(body),
            headers={**JSON_BODY, "Authorization": f"Bearer {api.token}"},
            timeout=60,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(place, bodies))

    accepted = [body for body, r in zip(bodies, responses, strict=True) if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert accepted and refused
    for response in refused:
        detail = refusal(response)
        assert detail["limit"] == "customer_day_amount" and detail["limit_value"] == str(limit)
        assert Decimal(detail["remaining"]) >= 0
    holds = [held(api, body["external_id"]) for body in accepted]
    assert sum(holds) <= limit
    assert limit - sum(holds) < max(holds)  # each refusal was needed: no room for one more order was left
    assert api.minted.orders_created() == len(accepted)  # Minted saw the accepted ones only
    (total,) = [t for key, t in counters(api).items() if key.startswith(f"customer#{buyer['external_id']}#buy#")]
    assert total == sum(holds)
    refused_ids = [b["external_id"] for b, r in zip(bodies, responses, strict=True) if r.status_code != 201]
    assert {api.ledger_item(external_id)["state"] for external_id in refused_ids} == {"NOT_PLACED"}  # type: ignore[index]
    assert not any(hold_items(api, external_id) for external_id in refused_ids)  # nothing reserved for them


def test_grams_of_one_sku_in_one_order(api: Api, limits: Callable[..., None]) -> None:
    limits(order_grams="GAU:1,GAG:500")
    too_much = order(new_id(), api.quote(amount="1.5"), amount="1.5")
    detail = refusal(api.post("/orders", too_much))
    assert detail == {"field": "items.0.amount", "limit": "order_grams.GAU", "limit_value": "1", "remaining": "1",
                      "unit": "g", "message": detail["message"]}  # fmt: skip
    assert api.minted.served("buy") == 0
    assert api.ledger_item(too_much["external_id"])["state"] == "NOT_PLACED"  # type: ignore[index]
    assert api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1")).status_code == 201
    assert api.minted.orders_created() == 1


def test_money_in_one_order(api: Api, limits: Callable[..., None]) -> None:
    value = line_total(Decimal("2"), unit_price(api))
    limits(order_amount=str((value / 2).quantize(Decimal("0.01"))))
    detail = refusal(api.post("/orders", order(new_id(), api.quote(amount="2"), amount="2")))
    assert detail["limit"] == "order_amount" and detail["unit"] == "TRY"
    assert api.minted.served("buy") == 0
    assert api.post("/orders", order(new_id(), api.quote(amount="0.5"), amount="0.5")).status_code == 201


def test_an_order_in_another_currency_is_refused_while_money_limits_are_set(
    api: Api, limits: Callable[..., None]
) -> None:
    limits(order_amount="1000000")
    detail = refusal(api.post("/orders", order(new_id(), api.quote(currency="USD"), currency="USD")))
    assert detail["field"] == "currency" and detail["currency"] == "TRY"
    assert api.minted.served("buy") == 0
    limits(order_grams="GAU:1000")  # a grams limit needs no money: any currency
    assert api.post("/orders", order(new_id(), api.quote(currency="USD"), currency="USD")).status_code == 201


def test_the_partners_day_counts_every_wallet(api: Api, limits: Callable[..., None]) -> None:
    value = line_total(Decimal("1"), unit_price(api))
    limits(partner_day_amount=str((value * Decimal("2.5")).quantize(Decimal("0.01"))))
    answers = [
        api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1", with_customer=False)),
        api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1", customer=customer(new_id("c")))),
        api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1", with_customer=False)),
    ]
    assert [a.status_code for a in answers] == [201, 201, 422]
    assert refusal(answers[2])["limit"] == "partner_day_amount"
    assert api.minted.orders_created() == 2


def test_sells_have_totals_of_their_own(api: Api, limits: Callable[..., None]) -> None:
    value = line_total(Decimal("1"), unit_price(api))
    limits(customer_day_amount=str((value * Decimal("1.5")).quantize(Decimal("0.01"))))
    seller = customer(new_id("c"))
    assert api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1", customer=seller)).status_code == 201
    sell_quote = api.post("/quotes", {"side": "sell", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]})
    sell = {"external_id": new_id(), "side": "sell", "price_token": sell_quote.json()["price_token"],
            "items": [{"sku": "GAU", "amount": Decimal("0.5")}],
            "customer_external_id": seller["external_id"]}  # fmt: skip
    assert api.post("/orders", sell).status_code == 201, "a sell does not use up the day's buying"
    sides = {key.split("#")[2] for key in counters(api) if key.startswith(f"customer#{seller['external_id']}#")}
    assert sides == {"buy", "sell"}


def test_a_refused_order_gives_its_amount_back_once(api: Api, limits: Callable[..., None]) -> None:
    limits(customer_day_amount="100000000")
    buyer = customer(new_id("c"))
    api.minted.fault("buy", status=403, times=1)
    body = order(new_id(), api.quote(), customer=buyer)
    assert api.post("/orders", body).status_code == 403
    row = api.ledger_item(body["external_id"])
    assert row is not None and row["state"] == "REJECTED"
    assert [h["state"] for h in hold_items(api, body["external_id"])] == ["given_back"]
    assert set(counters(api).values()) == {Decimal(0)}
    assert api.post("/orders", body).status_code == 403  # the stored rejection, replayed
    assert api.get(f"/orders/{body['external_id']}").status_code == 200
    assert set(counters(api).values()) == {Decimal(0)}, "given back once, not once per replay or read"


def test_a_not_placed_order_gives_back_and_its_retry_reserves_once(api: Api, limits: Callable[..., None]) -> None:
    limits(customer_day_amount="100000000")
    buyer = customer(new_id("c"))
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    body = order(new_id(), api.quote(), customer=buyer)
    assert api.post("/orders", body).status_code == 429
    assert api.ledger_item(body["external_id"])["state"] == "NOT_PLACED"  # type: ignore[index]
    assert set(counters(api).values()) == {Decimal(0)}
    retried = api.post("/orders", {**body, "price_token": api.quote()})
    assert retried.status_code == 201, retried.text
    assert [(h["state"], h["attempt"]) for h in hold_items(api, body["external_id"])] == [("held", 2)]
    hold = held(api, body["external_id"])
    assert list(counters(api).values()) == [hold]
    assert api.post("/orders", {**body, "price_token": api.quote()}).status_code == 200  # a replay
    assert list(counters(api).values()) == [hold], "a replay of an accepted order counts nothing again"
    assert api.minted.orders_created() == 1


def test_limits_are_off_until_set(api: Api, limits: Callable[..., None]) -> None:
    limits()  # the template's defaults: every limit empty
    body = order(new_id(), api.quote(amount="5000"), amount="5000")
    assert api.post("/orders", body).status_code == 201
    assert counters(api) == {} and hold_items(api, body["external_id"]) == []


def test_the_workflow_buys_within_the_limits_valued_at_its_own_quote(api: Api, limits: Callable[..., None]) -> None:
    value = line_total(Decimal("1"), unit_price(api))
    limits(customer_day_amount=str((value * Decimal("1.5")).quantize(Decimal("0.01"))))
    buyer = customer(new_id("c"))
    first, second = new_id(), new_id()
    for external_id in (first, second):
        body = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("1")}], "customer": buyer,
                "poll_interval_seconds": 1, "max_polls": 2}  # fmt: skip
        started = api.post("/orders/workflow", body)
        assert started.status_code == 202, started.text
        api.wait_for_execution(started.json()["execution_arn"])
    bought = api.ledger_item(first)
    assert bought is not None and bought["state"] == "SUBMITTED"
    assert held(api, first) == Decimal(str(bought["total"]))  # the price FixPrice locked, which Minted charged
    refused = api.ledger_item(second)
    assert refused is not None and refused["state"] == "NOT_PLACED" and refused["workflow_error"] == "LimitExceeded"
    assert api.minted.orders_created() == 1 and held(api, second) == 0


RECONCILER = functions_of(load_template())["ReconcileFunction"]


def settle_by_get(api: Api, external_id: str) -> None:
    api.get(f"/orders/{external_id}")


def settle_by_the_reconciler(api: Api, external_id: str) -> None:
    api.dynamodb.update_item(  # its next look is due now
        TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
        UpdateExpression="SET attention_due = :past", ExpressionAttributeValues={":past": {"N": "1"}},
    )  # fmt: skip
    invoke(RECONCILER, {"action": "reconcile"})


@pytest.mark.parametrize("settle", [settle_by_get, settle_by_the_reconciler], ids=["GET", "reconciler"])
def test_an_order_settled_as_not_placed_gives_back_once(
    api: Api, limits: Callable[..., None], settle: Callable[[Api, str], None]
) -> None:
    """The answer was lost and Minted never got the buy: the amount stays counted while the order may
    still land, and comes back once the row is settled NOT_PLACED, by a GET or by the reconciler."""
    limits(customer_day_amount="100000000")
    api.minted.fault("buy", drop="before_commit", times=1)
    body = order(new_id(), api.quote(), customer=customer(new_id("c")))
    assert api.post("/orders", body).status_code == 202
    assert api.ledger_item(body["external_id"])["state"] == "UNKNOWN"  # type: ignore[index]
    assert held(api, body["external_id"]) > 0 and list(counters(api).values()) == [held(api, body["external_id"])]
    api.dynamodb.update_item(  # its price token's lifetime has passed since the attempt was sent
        TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": body["external_id"]}},
        UpdateExpression="SET sent_at = :long_ago", ExpressionAttributeValues={":long_ago": {"N": "1000"}},
    )  # fmt: skip
    settle(api, body["external_id"])
    assert api.ledger_item(body["external_id"])["state"] == "NOT_PLACED"  # type: ignore[index]
    assert held(api, body["external_id"]) == 0 and set(counters(api).values()) == {Decimal(0)}
    assert api.get(f"/orders/{body['external_id']}").status_code == 200
    assert set(counters(api).values()) == {Decimal(0)}, "given back once"
    assert api.minted.orders_created() == 0


@pytest.mark.parametrize("settle", [settle_by_get, settle_by_the_reconciler], ids=["GET", "reconciler"])
def test_a_given_back_order_found_at_minted_after_all_counts_again_once(
    api: Api, limits: Callable[..., None], settle: Callable[[Api, str], None]
) -> None:
    """Refused with 429 (given back), then it landed at Minted after all: once a lookup finds it, the
    day's totals say what was bought, counted once however often the row is looked at."""
    from minted_gateway import runtime
    from minted_gateway.orders.requests import OrderRequest

    limits(customer_day_amount="100000000")
    body = order(new_id(), api.quote(), customer=customer(new_id("c")))
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert api.post("/orders", body).status_code == 429
    assert set(counters(api).values()) == {Decimal(0)}  # given back
    runtime.minted().buy(OrderRequest.model_validate(body).to_minted())  # it got there after all
    api.dynamodb.update_item(  # its price token's lifetime has passed since the attempt was sent
        TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": body["external_id"]}},
        UpdateExpression="SET sent_at = :long_ago", ExpressionAttributeValues={":long_ago": {"N": "1000"}},
    )  # fmt: skip
    settle(api, body["external_id"])
    assert api.ledger_item(body["external_id"])["state"] == "SUBMITTED"  # type: ignore[index]
    amount = held(api, body["external_id"])
    assert amount > 0 and list(counters(api).values()) == [amount]
    assert [h["state"] for h in hold_items(api, body["external_id"])] == ["held"]
    settle_by_get(api, body["external_id"])
    assert list(counters(api).values()) == [amount], "counted again once"
    assert api.minted.orders_created() == 1


def test_a_retry_refused_by_a_limit_gives_back_what_the_lost_attempt_held(
    api: Api, limits: Callable[..., None]
) -> None:
    """The first attempt's answer was lost, so its amount stays counted; the partner then lowers the
    per-order limit and the retry (a new quote, Minted has no such order) is refused before Minted.
    The row is NOT_PLACED, so the first attempt's hold comes back (it used to stay counted all day)."""
    limits(customer_day_amount="100000000")
    api.minted.fault("buy", drop="before_commit", times=1)
    body = order(new_id(), api.quote(), customer=customer(new_id("c")))
    assert api.post("/orders", body).status_code == 202
    assert held(api, body["external_id"]) > 0
    limits(customer_day_amount="100000000", order_amount="1")
    assert refusal(api.post("/orders", {**body, "price_token": api.quote()}))["limit"] == "order_amount"
    row = api.ledger_item(body["external_id"])
    assert row is not None and row["state"] == "NOT_PLACED"
    assert row["attention"] == "NOT_PLACED", "the lost attempt may still land: the reconciler looks once more"
    assert held(api, body["external_id"]) == 0 and set(counters(api).values()) == {Decimal(0)}
    assert api.post("/orders", {**body, "price_token": api.quote()}).status_code == 422
    assert set(counters(api).values()) == {Decimal(0)}, "given back once"
    assert api.minted.orders_created() == 0


@pytest.mark.parametrize("found", ["answering the buy", "settling a lost answer"])
def test_an_order_that_turns_out_to_be_a_strangers_gives_back_what_it_held(
    api: Api, limits: Callable[..., None], found: str
) -> None:
    """Found by a code review: Minted holds someone else's order under our id, so nothing of ours was bought
    (Minted's external_id is unique), yet the row's hold stayed counted all day and refused real orders."""
    limits(customer_day_amount="100000000")
    body = order(new_id(), api.quote(), customer=customer(new_id("c")))
    if found == "settling a lost answer":
        api.minted.fault("buy", drop="before_commit", times=1)
        assert api.post("/orders", body).status_code == 202
        assert held(api, body["external_id"]) > 0  # the lost attempt may have landed: still counted
        _stranger_buys(body["external_id"])
        answer = api.get(f"/orders/{body['external_id']}")
    else:
        _stranger_buys(body["external_id"])
        answer = api.post("/orders", body)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "foreign_order", answer.text
    assert [h["state"] for h in hold_items(api, body["external_id"])] == ["given_back"]
    assert set(counters(api).values()) == {Decimal(0)}
    assert api.post("/orders", body).status_code == 409  # replayed
    assert set(counters(api).values()) == {Decimal(0)}, "given back once"


def test_a_limit_of_zero_refuses_every_order_it_counts(api: Api, limits: Callable[..., None]) -> None:
    """The template's parameters take 0 (the most is nothing: a stop for the day); it used to fail the
    settings at cold start, so every order and every read of the ledger answered 500."""
    limits(partner_day_amount="0", order_grams="GAG:0")
    body = order(new_id(), api.quote())
    detail = refusal(api.post("/orders", body))
    assert (detail["limit"], detail["limit_value"], detail["remaining"]) == ("partner_day_amount", "0", "0")
    assert api.get(f"/orders/{body['external_id']}").json()["state"] == "NOT_PLACED"
    silver = order(new_id(), api.quote(sku="GAG", amount="1"), items=[{"sku": "GAG", "amount": Decimal(1)}])
    assert refusal(api.post("/orders", silver))["limit"] == "order_grams.GAG"
    assert api.minted.orders_created() == 0 and set(counters(api).values()) <= {Decimal(0)}


def test_a_first_attempt_refused_by_a_limit_is_not_left_for_the_reconciler(
    api: Api, limits: Callable[..., None]
) -> None:
    """Nothing was sent, so there is nothing to look up: each refusal used to cost a Minted lookup by
    the reconciler once its token was past, ahead of the refresh of submitted orders in a bounded run."""
    limits(order_grams="GAU:1")
    body = order(new_id(), api.quote(amount="1.5"), amount="1.5")
    assert refusal(api.post("/orders", body))["limit"] == "order_grams.GAU"
    row = api.ledger_item(body["external_id"])
    assert row is not None and row["state"] == "NOT_PLACED"
    assert "attention" not in row and "attention_due" not in row  # not on the reconciler's work list


MONEY_LIMITS = ("order_amount", "customer_day_amount", "partner_day_amount")
CENT = Decimal("0.01")


@pytest.mark.parametrize("over", [Decimal(0), CENT], ids=["filled exactly", "one cent over"])
@pytest.mark.parametrize("binding", MONEY_LIMITS)
def test_with_every_money_limit_set_each_binds_in_turn_to_the_cent(
    api: Api, limits: Callable[..., None], binding: str, over: Decimal
) -> None:
    """The order, customer-day and partner-day limits all set, one of them tight: a second order of one
    gram fills the tight one to exactly its limit (201) or to one cent past it (422 naming that limit and
    what remains, nothing reserved, nothing sent). The partner's day binds on customers' orders, where
    its counter shares the transaction with the customer's."""
    value = line_total(Decimal(1), unit_price(api))  # one gram, as the gateway values it
    loose = str(value * 100)
    tight = (value if binding == "order_amount" else 2 * value) - over
    limits(**{name: str(tight) if name == binding else loose for name in MONEY_LIMITS})
    buyer = customer(new_id("c"))
    if binding != "order_amount":
        first = api.post("/orders", order(new_id(), api.quote(amount="1"), amount="1", customer=buyer))
        assert first.status_code == 201, first.text
        assert held(api, first.json()["external_id"]) == value, "the price moved during the test"
    sent = api.minted.served("buy")
    body = order(new_id(), api.quote(amount="1"), amount="1", customer=buyer)
    answer = api.post("/orders", body)
    day = [total for key, total in counters(api).items() if not key.startswith("hold#")]
    if not over:
        assert answer.status_code == 201, answer.text
        if binding != "order_amount":
            assert sorted(day) == [tight, tight], "each day counter holds exactly its limit's worth"
        return
    detail = refusal(answer)
    assert (detail["limit"], Decimal(detail["limit_value"])) == (binding, tight)
    assert Decimal(detail["remaining"]) == (tight if binding == "order_amount" else tight - value)
    assert api.minted.served("buy") == sent and not hold_items(api, body["external_id"])
    assert sorted(day) == ([value, value] if binding != "order_amount" else []), "the refusal reserved nothing"
