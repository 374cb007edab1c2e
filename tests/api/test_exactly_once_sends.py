"""Exactly-once, counted by what the gateway SENDS: the buys and sells Minted is asked for.

The sandbox accepts a repeated external_id here (``accept_repeated_external_id``): Minted does not
publish that it refuses one, so only the gateway's own lookup-first may stand between a retry and a
second buy. Every retry of an order that may be at Minted (UNKNOWN, NOT_PLACED, a dead claim, a
refusal retried with a new quote) must look the order up before it sends anything; an order found
there is never sent again. ``served`` counts the calls Minted received (faulted ones included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from minted_gateway import runtime
from minted_gateway.orders.requests import OrderRequest
from tests.stack import Api, order

TWO_ITEMS = [{"sku": "GAU", "amount": Decimal("1.5")}, {"sku": "GAG", "amount": Decimal("2")}]
CUSTOMER = "cust-0001"  # tests.stack.customer()'s id: the wallet a sell takes from
LOOKUPS = ("find_order", "get_order", "list_orders")


@pytest.fixture(autouse=True)
def minted_accepts_a_repeated_id(api: Api) -> None:
    api.minted.settings(accept_repeated_external_id=True)


@dataclass(frozen=True)
class Side:
    name: str  # Minted's endpoint, and the kind of order the sandbox counts
    body: Callable[[Api, str], dict[str, Any]]
    quote: Callable[[Api], str]  # a new price token for the same order


def buy_body(api: Api, external_id: str) -> dict[str, Any]:
    return order(external_id, api.quote())


def sell_quote(api: Api) -> str:
    quoted = api.post("/quotes", {"side": "sell", "items": [{"sku": "GAU", "amount": Decimal("0.5")}]})
    assert quoted.status_code == 201, quoted.text
    token: str = quoted.json()["price_token"]
    return token


def sell_body(api: Api, external_id: str) -> dict[str, Any]:
    """A sell of part of what the customer bought first (one buy, outside what is counted here)."""
    held = api.post("/orders", order(f"{external_id}-h", api.quote(amount="4"), amount="4"))
    assert held.status_code == 201, held.text
    return {**order(external_id, sell_quote(api), amount="0.5", with_customer=False, side="sell"),
            "customer_external_id": CUSTOMER}  # fmt: skip


SIDES = [Side("buy", buy_body, lambda api: api.quote()), Side("sell", sell_body, sell_quote)]


class Sends:
    """What the gateway sent Minted since ``mark``: orders asked for, orders made, and lookups."""

    def __init__(self, api: Api, side: Side) -> None:
        self.api, self.side = api, side
        self.mark()

    def mark(self) -> None:
        self._sent, self._made = self.sent_total(), self.made_total()

    def sent_total(self) -> int:
        return self.api.minted.served(self.side.name)

    def made_total(self) -> int:
        return self.api.minted.orders_created(self.side.name)

    @property
    def sent(self) -> int:
        return self.sent_total() - self._sent

    @property
    def made(self) -> int:
        return self.made_total() - self._made

    def lookups(self) -> int:
        return sum(self.api.minted.served(endpoint) for endpoint in LOOKUPS)


def lands_at_minted(body: dict[str, Any], token: str) -> None:
    """The order reaches Minted outside the gateway's sight (a lost attempt that got there after all),
    with a token of its own: a second send of ``body`` would then make a second order, not a refusal."""
    request = OrderRequest.model_validate({**body, "price_token": token}).to_minted()
    minted = runtime.minted()
    minted.sell(request) if body.get("side") == "sell" else minted.buy(request)  # type: ignore[arg-type]


def dead_claim(api: Api, body: dict[str, Any]) -> None:
    """A claim whose invocation died after sending (RECEIVED, its claim past expiry)."""
    request = OrderRequest.model_validate(body)
    runtime.order_ledger().claim(
        runtime.place_order()._new_record(request.purchase(), "a dead invocation's token", datetime.now(UTC))
    )
    api.dynamodb.update_item(
        TableName=api.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": body["external_id"]}},
        UpdateExpression="SET claim_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )  # fmt: skip


def ids(sides: list[Side]) -> list[str]:
    return [side.name for side in sides]


@pytest.mark.parametrize("side", SIDES, ids=ids(SIDES))
def test_a_retry_after_an_answer_lost_after_commit_sends_nothing(api: Api, order_id: str, side: Side) -> None:
    body = side.body(api, order_id)
    sends = Sends(api, side)
    api.minted.fault(side.name, drop="after_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    assert (sends.sent, sends.made) == (1, 1)
    lookups = sends.lookups()
    retry = api.post("/orders", body)
    assert retry.status_code == 200 and retry.json()["state"] == "SUBMITTED", retry.text
    assert sends.sent == 1, f"the retry sent the {side.name} again instead of looking it up"
    assert sends.made == 1 and sends.lookups() > lookups
    assert api.post("/orders", body).status_code == 200 and sends.sent == 1  # a replay sends nothing


@pytest.mark.parametrize("side", SIDES, ids=ids(SIDES))
@pytest.mark.parametrize("fault", [{"drop": "before_commit"}, {"status": 502}], ids=["dropped before commit", "502"])
def test_a_retry_of_an_order_minted_never_made_looks_up_then_sends_once(
    api: Api, order_id: str, side: Side, fault: dict[str, Any]
) -> None:
    body = side.body(api, order_id)
    sends = Sends(api, side)
    api.minted.fault(side.name, times=1, **fault)
    assert api.post("/orders", body).status_code == 202
    assert (sends.sent, sends.made) == (1, 0)
    lookups = sends.lookups()
    retry = api.post("/orders", body)
    assert retry.status_code == 201, retry.text
    assert (sends.sent, sends.made) == (2, 1) and sends.lookups() > lookups
    assert api.post("/orders", body).status_code == 200 and sends.sent == 2


@pytest.mark.parametrize("side", SIDES, ids=ids(SIDES))
def test_a_retry_of_a_not_placed_order_that_landed_after_all_sends_nothing(api: Api, order_id: str, side: Side) -> None:
    """Refused with 429 (NOT_PLACED), yet the attempt got there: the retry finds it, and sends nothing."""
    body = side.body(api, order_id)
    sends = Sends(api, side)
    api.minted.fault(side.name, status=429, retry_after=1, times=1)
    assert api.post("/orders", body).status_code == 429
    assert api.ledger_item(order_id)["state"] == "NOT_PLACED"  # type: ignore[index]
    lands_at_minted(body, side.quote(api))
    sends.mark()
    retry = api.post("/orders", body)
    assert retry.status_code == 200 and retry.json()["state"] == "SUBMITTED", retry.text
    assert sends.sent == 0, f"the retry of a NOT_PLACED order sent the {side.name} without looking it up"
    assert sends.made_total() == 1


@pytest.mark.parametrize("side", SIDES, ids=ids(SIDES))
def test_a_retry_of_a_not_placed_order_minted_never_made_sends_once(api: Api, order_id: str, side: Side) -> None:
    body = side.body(api, order_id)
    sends = Sends(api, side)
    api.minted.fault(side.name, status=429, retry_after=1, times=1)
    assert api.post("/orders", body).status_code == 429
    assert api.post("/orders", body).status_code == 201
    assert (sends.sent, sends.made) == (2, 1)


@pytest.mark.parametrize("side", SIDES, ids=ids(SIDES))
def test_a_retry_of_a_dead_claim_whose_order_landed_sends_nothing(api: Api, order_id: str, side: Side) -> None:
    body = side.body(api, order_id)
    dead_claim(api, body)
    lands_at_minted(body, side.quote(api))  # the dead invocation's call did reach Minted
    sends = Sends(api, side)
    retry = api.post("/orders", body)
    assert retry.status_code == 200 and retry.json()["state"] == "SUBMITTED", retry.text
    assert sends.sent == 0, f"the retry of a dead claim sent the {side.name} without looking it up"
    assert sends.made_total() == 1 and sends.lookups() >= 1


def test_a_retry_of_a_dead_claim_minted_never_saw_sends_once(api: Api, order_id: str) -> None:
    body = buy_body(api, order_id)
    dead_claim(api, body)
    sends = Sends(api, SIDES[0])
    assert api.post("/orders", body).status_code == 201
    assert (sends.sent, sends.made) == (1, 1) and sends.lookups() >= 1


def test_a_split_buy_lost_after_commit_is_never_sent_again(api: Api, order_id: str) -> None:
    api.minted.settings(split_orders=True)
    body = order(order_id, api.quote(), items=TWO_ITEMS)
    sends = Sends(api, SIDES[0])
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    retry = api.post("/orders", body)
    assert retry.status_code == 200 and len(retry.json()["order_codes"]) == 2, retry.text
    assert (sends.sent, sends.made) == (1, 1)


def test_reads_and_replays_of_an_unknown_order_send_nothing(api: Api, order_id: str) -> None:
    """GET settles an UNKNOWN order by looking it up; it never buys, whatever it finds."""
    body = buy_body(api, order_id)
    sends = Sends(api, SIDES[0])
    api.minted.fault("buy", drop="before_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    for _ in range(3):
        assert api.get(f"/orders/{order_id}").json()["state"] == "UNKNOWN"
    assert (sends.sent, sends.made) == (1, 0)


def test_concurrent_retries_of_a_lost_buy_send_nothing(api: Api, order_id: str) -> None:
    import concurrent.futures

    body = buy_body(api, order_id)
    sends = Sends(api, SIDES[0])
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post("/orders", body), range(8)))
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    assert (sends.sent, sends.made) == (1, 1)


def test_a_refusal_retried_with_a_new_quote_looks_up_first(api: Api, order_id: str) -> None:
    """A quote Minted refused as expired may be retried with a new one; the retry still looks first."""
    body = buy_body(api, order_id)
    sends = Sends(api, SIDES[0])
    api.minted.clock(advance_seconds=241)
    assert api.post("/orders", body).json()["error"]["code"] == "quote_expired"
    lands_at_minted(body, api.quote())  # (stands for any attempt that got there)
    sends.mark()
    retry = api.post("/orders", {**body, "price_token": api.quote()})
    assert retry.status_code == 200 and retry.json()["state"] == "SUBMITTED", retry.text
    assert sends.sent == 0 and sends.made_total() == 1


def test_a_retry_while_the_first_attempt_is_in_flight_sends_nothing_and_waits_at_most_five_seconds(
    api: Api, order_id: str
) -> None:
    """A live claim (RECEIVED, not yet expired): the retry is told to wait, capped at 5 s however long
    the claim still runs, and nothing is looked up or sent meanwhile."""
    body = buy_body(api, order_id)
    request = OrderRequest.model_validate(body)
    runtime.order_ledger().claim(
        runtime.place_order()._new_record(request.purchase(), "a live invocation's token", datetime.now(UTC))
    )
    sends = Sends(api, SIDES[0])
    lookups = sends.lookups()
    busy = api.post("/orders", body)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "order_in_progress"
    assert busy.headers["Retry-After"] == "5"
    assert (sends.sent, sends.lookups()) == (0, lookups)


def test_the_workflows_buy_step_under_a_strangers_order_sends_nothing_and_fails_foreign(
    api: Api, order_id: str
) -> None:
    """Minted holds another order under the id (not this ledger's): the buy step's lookup finds it, never
    adopts it, sends nothing, and fails the step as ForeignOrder so the workflow stops."""
    from local.gateway import invoke
    from local.template import functions_of, load_template
    from minted_gateway.minted.models import BuyRequest, OrderLine

    buy_function = functions_of(load_template())["BuyFunction"]
    runtime.minted().buy(BuyRequest(price_token=api.quote(sku="GAG", amount="0.1"), external_id=order_id,
                                    items=[OrderLine(sku="GAG", amount=Decimal("0.1"))]))  # fmt: skip
    body = buy_body(api, order_id)
    dead_claim(api, body)  # the step's earlier attempt died: its retry looks up first
    sends = Sends(api, SIDES[0])
    with pytest.raises(Exception) as failed:
        invoke(buy_function, {"action": "place_order", "order": body, "execution": "wf-exec"})
    assert type(failed.value).__name__ == "ForeignOrder"
    assert sends.sent == 0 and api.ledger_item(order_id)["state"] == "FOREIGN"  # type: ignore[index]
