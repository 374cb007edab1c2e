"""GET /orders over real HTTP: the ledger's orders, newest first, filtered and paged."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from local.gateway import invoke
from local.scheduler import schedules_of
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


def test_a_bound_past_the_calendars_ends_keeps_its_side(api: Api) -> None:
    """A time that is past 9999 or before year 1 in UTC has no UTC form: it was dropped as no bound, so a
    from after every order listed every order (found by review). It stands at the calendar's end instead."""
    customer_id = f"cust-{uuid.uuid4().hex[:12]}"
    buyer = order(f"b-{uuid.uuid4().hex[:12]}", api.quote())
    buyer["customer"]["external_id"] = customer_id
    assert api.post("/orders", buyer).status_code == 201
    late, early = "9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00%2B05:00"
    for bounds, found in ((f"from={late}", 0), (f"to={early}", 0), (f"from={early}", 1), (f"to={late}", 1),
                          (f"from={early}&to={late}", 1), (f"from={late}&to={early}", 0)):  # fmt: skip
        listed = api.get(f"/orders?customer_external_id={customer_id}&{bounds}")
        assert listed.status_code == 200 and len(listed.json()["orders"]) == found, (bounds, listed.text)


def test_bad_history_queries_are_422_naming_the_field(api: Api) -> None:
    # A query's problem is named as the router names it (query.from), whether the router or the use case finds it.
    for query, field in (("limit=101", "query.limit"), ("cursor=bm9wZQ", "query.cursor"), ("side=hold", "query.side"),
                         ("from=2026-01-01T00:00:00", "query.from"), ("state=DONE", "query.state"),
                         ("to=-1.2e-150", "query.to"), ("from=1767225600", "query.from")):  # fmt: skip
        response = api.get(f"/orders?{query}")
        assert response.status_code == 422, (query, response.text)
        assert [detail["field"] for detail in response.json()["error"]["details"]] == [field], (query, response.text)


def test_the_follow_schedule_keeps_the_history_fresh_and_each_row_says_when_minted_was_read(api: Api) -> None:
    """An order Completed at Minted shows Completed in GET /orders without anyone asking for it by id:
    the follow schedule refreshes the rows that are not final, and each row says when Minted was read."""
    customer_id = f"cust-{uuid.uuid4().hex[:12]}"
    order_id = f"f-{uuid.uuid4().hex[:12]}"
    api.minted.clock(completion_delay_seconds=None)  # Minted keeps it Pending until we say
    body = order(order_id, api.quote())
    body["customer"]["external_id"] = customer_id
    placed = api.post("/orders", body).json()
    (row,) = api.get(f"/orders?customer_external_id={customer_id}").json()["orders"]
    assert row["final"] is False and row["status_read_at"] is not None
    submitted_read = row["status_read_at"]

    # Nobody reads the order; Minted completes it; the schedule's next run is due.
    api.minted.clock(completion_delay_seconds=0)
    follow = next(s for s in schedules_of() if s.event.get("action") == "follow_orders")
    assert follow.every_seconds == 60  # the template's FollowOrdersRate, as make dev runs it
    _due_now(api, order_id)
    # Earlier tests' rows may be due by now too (the stack is shared): the run's counts include them, so
    # what is asserted is this order's own row.
    summary = invoke(follow.function, dict(follow.event))
    assert summary["looked_at"] >= 1 and summary["changed"] >= 1, summary

    (row,) = api.get(f"/orders?customer_external_id={customer_id}").json()["orders"]
    assert (row["status"], row["final"]) == ("Completed", True), row
    assert row["status_read_at"] > submitted_read and placed["status"] != "Completed"
    # Final: the schedule never looks at it again (its runs stay bounded by what can still change): the
    # row left the attention index, and a next run leaves it as it was (a look leases the row: a write).
    followed = api.ledger_item(order_id)
    assert followed is not None and "attention" not in followed, followed
    invoke(follow.function, dict(follow.event))
    assert api.ledger_item(order_id) == followed


def test_a_refresh_that_finds_nothing_new_still_says_when_minted_was_read(api: Api) -> None:
    order_id = f"r-{uuid.uuid4().hex[:12]}"
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)  # Created until the clock moves: a slow
    # machine took more than the default 0.5 s between the two reads, and Minted had something new to say
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    first = api.get(f"/orders/{order_id}").json()
    version = api.ledger_item(order_id)["version"]  # type: ignore[index]
    second = api.get(f"/orders/{order_id}").json()
    assert second["status"] == first["status"] and second["status_read_at"] > first["status_read_at"]
    stored = api.ledger_item(order_id)
    assert stored is not None and stored["version"] == version  # a read is not a change: no event, no history
    assert stored["status_read_at"][:23] == second["status_read_at"][:23]  # to the millisecond the API shows


def _due_now(api: Api, external_id: str) -> None:
    """The row's next look is due now (as after its recheck delay)."""
    api.dynamodb.update_item(TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}},
                             UpdateExpression="SET attention_due = :past",
                             ConditionExpression="attribute_exists(attention)",
                             ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}})  # fmt: skip
