"""GET /orders over real HTTP: the ledger's orders, newest first, filtered and paged."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.stack import Api, order


def test_the_history_lists_a_customers_buy_and_sell_newest_first(api: Api) -> None:
    customer_id = f"cust-{uuid.uuid4().hex[:12]}"
    buy_id, sell_id = f"b-{uuid.uuid4().hex[:12]}", f"s-{uuid.uuid4().hex[:12]}"
    buyer = order(buy_id, api.quote(amount="2"), amount="2")
    buyer["customer"]["external_id"] = customer_id
    assert api.post("/orders", buyer).status_code == 201
    quote = api.post("/quotes", {"side": "sell", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}).json()
    seller = order(sell_id, quote["price_token"], amount="0.5", with_customer=False, side="sell",
                   customer_external_id=customer_id)  # fmt: skip
    assert api.post("/orders", seller).status_code == 201

    listed = api.get(f"/orders?customer_external_id={customer_id}")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(o["external_id"], o["side"]) for o in body["orders"]] == [(sell_id, "sell"), (buy_id, "buy")]
    assert body["next_cursor"] is None and body["limit"] == 20

    first = api.get(f"/orders?customer_external_id={customer_id}&limit=1").json()
    assert [o["external_id"] for o in first["orders"]] == [sell_id] and first["next_cursor"]
    second = api.get(f"/orders?customer_external_id={customer_id}&limit=1&cursor={first['next_cursor']}").json()
    assert [o["external_id"] for o in second["orders"]] == [buy_id] and second["next_cursor"] is None
    sells = api.get(f"/orders?customer_external_id={customer_id}&side=sell").json()["orders"]
    assert [o["external_id"] for o in sells] == [sell_id]
    # Without a wallet, the whole ledger by time: the newest orders are these two.
    newest = api.get("/orders?limit=2").json()["orders"]
    assert [o["external_id"] for o in newest] == [sell_id, buy_id]


def test_bad_history_queries_are_422_naming_the_field(api: Api) -> None:
    for query, field in (("limit=101", "limit"), ("cursor=bm9wZQ", "cursor"), ("side=hold", "side"),
                         ("from=2026-01-01T00:00:00", "from"), ("state=DONE", "state"),
                         ("to=-1.2e-150", "to"), ("from=1767225600", "from")):  # fmt: skip
        response = api.get(f"/orders?{query}")
        assert response.status_code == 422, (query, response.text)
        fields = [detail["field"] for detail in response.json()["error"]["details"]]
        assert any(field in f for f in fields), (query, fields)
