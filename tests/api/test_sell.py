"""POST /quotes and POST /orders with side "sell": Minted's sell price, the same exactly-once ledger.

Sells at Minted are counted by the sandbox, which also keeps every wallet's holdings.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from decimal import Decimal
from typing import Any

from tests.stack import Api, customer, order

CUSTOMER = "cust-0001"


def sell_quote(api: Api, amount: str = "0.5", sku: str = "GAU") -> dict[str, Any]:
    response = api.post("/quotes", {"side": "sell", "items": [{"sku": sku, "amount": Decimal(amount)}]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sell(external_id: str, token: str, amount: str = "0.5", **extra: Any) -> dict[str, Any]:
    body = order(external_id, token, amount=amount, with_customer=False, side="sell")
    return {**body, "customer_external_id": CUSTOMER, **extra}


def hold(api: Api, grams: str = "2") -> None:
    """The customer buys ``grams`` of gold first: a sell takes back what is held."""
    bought = api.post("/orders", order(f"hold-{uuid.uuid4().hex[:16]}", api.quote(amount=grams), amount=grams))
    assert bought.status_code == 201, bought.text


def test_a_sell_quote_locks_minteds_sell_price(api: Api, order_id: str) -> None:
    hold(api)
    quote = sell_quote(api)
    assert quote["side"] == "sell"
    (line,) = quote["lines"]
    placed = api.post("/orders", sell(order_id, quote["price_token"]))
    assert placed.status_code == 201, placed.text
    (sold,) = placed.json()["items"]
    assert sold["unit_price"] == line["unit_price"]  # what Minted paid per gram is what the quote said
    bought = api.post("/quotes", {"items": [{"sku": "GAU", "amount": 2}]}).json()
    assert bought["side"] == "buy" and bought["lines"][0]["unit_price"] > line["unit_price"]  # the spread


def test_a_sell_quote_in_total_mode_is_refused_naming_the_field(api: Api) -> None:
    body = {"side": "sell", "total": 100, "sku": "GAU", "customer_external_id": CUSTOMER}
    response = api.post("/quotes", body)
    assert response.status_code == 422 and "total mode prices a buy" in response.text


def test_a_sell_reaches_minted_once_and_replays(api: Api, order_id: str) -> None:
    hold(api)
    body = sell(order_id, sell_quote(api)["price_token"])
    first = api.post("/orders", body)
    assert first.status_code == 201, first.text
    shown = first.json()
    assert shown["side"] == "sell" and shown["state"] == "SUBMITTED" and shown["customer_external_id"] == CUSTOMER
    again = api.post("/orders", body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert api.minted.orders_created("sell") == 1
    row = api.ledger_item(order_id)
    assert row is not None and row["side"] == "sell" and row["mode"] == "B2B2C" and "identity_hash" not in row
    assert api.get(f"/orders/{order_id}").json()["side"] == "sell"


def test_a_sell_may_name_its_customer_in_full_and_keeps_none_of_it(api: Api, order_id: str) -> None:
    hold(api)
    body = order(order_id, sell_quote(api)["price_token"], amount="0.5", side="sell")
    response = api.post("/orders", body)
    assert response.status_code == 201, response.text
    assert response.json()["customer_external_id"] == CUSTOMER
    stored = api.raw_ledger_item(order_id)
    assert "ayse.yilmaz@example.com" not in stored and "identity" not in stored
    # The same sell named by customer_external_id is the same order: a replay, not a conflict.
    replay = api.post("/orders", sell(order_id, body["price_token"]))
    assert replay.status_code == 200 and api.minted.orders_created("sell") == 1


def test_selling_more_than_the_customer_holds_is_minteds_refusal_as_a_422(api: Api, order_id: str) -> None:
    hold(api, "1")
    response = api.post("/orders", sell(order_id, sell_quote(api, "5")["price_token"], amount="5"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "order_rejected" and error["order"]["state"] == "REJECTED"
    assert error["details"], error
    assert api.minted.orders_created("sell") == 0
    assert api.ledger_item(order_id)["state"] == "REJECTED"  # type: ignore[index]


def test_buys_and_sells_share_one_external_id_namespace(api: Api, order_id: str) -> None:
    hold(api)
    assert api.post("/orders", order(order_id, api.quote(amount="0.5"), amount="0.5")).status_code == 201
    response = api.post("/orders", sell(order_id, sell_quote(api)["price_token"]))
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_conflict"
    assert api.minted.orders_created("sell") == 0


def test_a_buys_customer_external_id_alone_is_refused_naming_the_field(api: Api, order_id: str) -> None:
    body = {**order(order_id, api.quote(), with_customer=False), "customer_external_id": CUSTOMER}
    response = api.post("/orders", body)
    assert response.status_code == 422 and "customer_external_id names a sell" in response.text


def test_a_sell_naming_its_customer_twice_is_refused(api: Api, order_id: str) -> None:
    body = {**order(order_id, api.quote(), side="sell", customer=customer()), "customer_external_id": CUSTOMER}
    response = api.post("/orders", body)
    assert response.status_code == 422 and "not both" in response.text


def test_a_storm_of_fifty_identical_sells_sells_once(api: Api, order_id: str) -> None:
    hold(api)
    body = sell(order_id, sell_quote(api)["price_token"])
    api.minted.fault("sell", latency_ms=400, times=1)  # the first sell is slow: the others arrive during it
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: api.post("/orders", body), range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    assert api.minted.orders_created("sell") == 1
    assert api.minted.served("sell") == 1
    assert api.ledger_item(order_id)["state"] == "SUBMITTED"  # type: ignore[index]
