"""A token bound to one customer (claim ``minted_customer``) acts for that customer only; a partner's
server token (no such claim) acts for any. And every order names who placed it, never with a token."""

from __future__ import annotations

import json
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.jwt_issuer import sign
from minted_gateway.caller import Scope
from tests.api.test_sell import sell, sell_quote
from tests.stack import Api, customer, order


def new_id(prefix: str = "ord") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def people() -> tuple[str, str]:
    return new_id("cust-a"), new_id("cust-b")


def bound(api: Api, who: str) -> Api:
    return api.as_caller(customer=who, subject=f"app-user-of-{who}")


def buy_for(api: Api, who: str | None, external_id: str | None = None, amount: str = "1.5") -> requests.Response:
    body = order(external_id or new_id(), api.quote(amount=amount), amount=amount, with_customer=who is not None)
    if who is not None:
        body["customer"] = customer(who)
    return api.post("/orders", body)


def assert_mismatch(response: requests.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "customer_mismatch"


def test_a_customer_bound_token_buys_for_its_customer_only(api: Api, people: tuple[str, str]) -> None:
    a, b = people
    as_a = bound(api, a)
    buys_before = api.minted.orders_created()
    other, b2b = new_id(), new_id()
    assert_mismatch(buy_for(as_a, b, other))
    assert_mismatch(buy_for(as_a, None, b2b))
    assert api.ledger_item(other) is None and api.ledger_item(b2b) is None  # refused before the claim
    assert api.minted.orders_created() == buys_before
    assert buy_for(as_a, a).status_code == 201
    assert api.minted.orders_created() == buys_before + 1
    # The partner's server token may do what the customer's may not.
    assert buy_for(api, b).status_code == 201 and buy_for(api, None).status_code == 201


def test_a_customer_bound_token_sells_quotes_and_starts_workflows_for_its_customer_only(
    api: Api, people: tuple[str, str]
) -> None:
    a, b = people
    as_a = bound(api, a)
    assert buy_for(api, b, amount="2").status_code == 201
    assert_mismatch(as_a.post("/orders", sell(new_id(), sell_quote(api)["price_token"], customer_external_id=b)))
    total_mode = {"currency": "TRY", "total": 1000, "sku": "GAU", "customer_external_id": b}
    assert_mismatch(as_a.post("/quotes", total_mode))
    assert as_a.post("/quotes", {**total_mode, "customer_external_id": a}).status_code == 201
    workflow = {"external_id": new_id(), "items": [{"sku": "GAU", "amount": Decimal("0.5")}]}
    assert_mismatch(as_a.post("/orders/workflow", workflow))  # the partner's wallet
    assert_mismatch(as_a.post("/orders/workflow", {**workflow, "customer": customer(b)}))


def test_a_customer_bound_token_reads_only_its_customers_orders_and_balances(api: Api, people: tuple[str, str]) -> None:
    a, b = people
    as_a = bound(api, a)
    mine, theirs, partners = new_id(), new_id(), new_id()
    assert buy_for(api, a, mine).status_code == 201
    assert buy_for(api, b, theirs).status_code == 201
    assert buy_for(api, None, partners).status_code == 201

    assert as_a.get(f"/orders/{mine}").status_code == 200
    for hidden in (theirs, partners, "no-such-order"):  # as if it did not exist: 404, never 403
        answer = as_a.get(f"/orders/{hidden}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", answer.text
    assert api.get(f"/orders/{theirs}").status_code == 200  # the partner reads any

    assert as_a.get(f"/customers/{a}/balances").status_code == 200
    assert_mismatch(as_a.get(f"/customers/{b}/balances"))
    assert_mismatch(as_a.get(f"/customers/{b}"))
    assert api.get(f"/customers/{b}/balances").status_code == 200


def signed(api: Api, **claims: Any) -> str:
    """A valid token of the stack's issuer with every scope and exactly ``claims`` beside the standard ones."""
    now = int(time.time())
    issuer = api.stack.issuer
    payload = {"iss": issuer.issuer, "aud": issuer.audience, "iat": now, "nbf": now, "exp": now + 600,
               "scope": " ".join(scope.value for scope in Scope), **claims}  # fmt: skip
    return sign(payload, issuer.key)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "app-user", "minted_customer": ""},  # a customer attribute copied in before it was set
        {"sub": "app-user", "minted_customer": " "},
        {"sub": "app-user", "minted_customer": "c" * 257},
        {"scope_note": "no sub, client_id or azp"},  # its orders would record no one
        {"minted_customer": "cust-x"},  # bound, but naming no caller either
    ],
    ids=["empty customer", "blank customer", "overlong customer", "no caller", "bound, no caller"],
)
def test_a_token_that_binds_to_no_one_or_names_no_caller_is_refused_before_anything_is_read_or_written(
    api: Api, people: tuple[str, str], claims: dict[str, str]
) -> None:
    """Before, an empty minted_customer was read as no claim: the partner's token, acting for every customer."""
    _, b = people
    theirs = new_id()
    assert buy_for(api, b, theirs).status_code == 201
    caller = api.as_caller(signed(api, **claims))
    attempted = new_id()
    body = order(attempted, api.quote(), with_customer=True)
    body["customer"] = customer(b)
    buys_before = api.minted.orders_created()
    answers = [caller.get(f"/orders/{theirs}"), caller.get(f"/orders?customer_external_id={b}"),
               caller.get(f"/customers/{b}"), caller.post("/orders", body)]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden", answer.text
        assert theirs not in answer.text
    assert api.ledger_item(attempted) is None and api.minted.orders_created() == buys_before
    # The same claims with a caller and a customer of their own are served.
    assert bound(api, b).get(f"/orders/{theirs}").status_code == 200


def test_a_customer_bound_tokens_history_shows_its_customers_orders_whatever_the_query_says(
    api: Api, people: tuple[str, str]
) -> None:
    a, b = people
    as_a = bound(api, a)
    mine = [new_id() for _ in range(2)]
    for external_id in mine:
        assert buy_for(api, a, external_id).status_code == 201
    assert buy_for(api, b).status_code == 201
    for query in ("", f"?customer_external_id={b}", "?wallet=partner", f"?customer_external_id={a}"):
        page = as_a.get(f"/orders{query}&limit=100" if query else "/orders?limit=100")
        assert page.status_code == 200, page.text
        shown = page.json()["orders"]
        assert {o["customer_external_id"] for o in shown} == {a}, query
        assert {o["external_id"] for o in shown} == set(mine), query
    partner_view = api.get(f"/orders?customer_external_id={b}").json()["orders"]
    assert [o["customer_external_id"] for o in partner_view] == [b]


def test_the_caller_of_a_buy_is_on_its_row_its_get_and_its_access_log_line_and_no_token_is(
    api: Api, people: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = people
    token = api.mint(customer=a, subject="user-4711", client_id="mobile-app")
    external_id = new_id()
    with caplog.at_level(logging.INFO, logger="local.gateway"):
        assert buy_for(api.as_caller(token), a, external_id).status_code == 201
    row = api.ledger_item(external_id)
    assert row is not None and row["caller"] == {"sub": "user-4711", "client_id": "mobile-app", "customer": a}
    shown = api.get(f"/orders/{external_id}").json()
    assert shown["caller"] == {"sub": "user-4711", "client_id": "mobile-app", "customer": a}
    assert "caller" not in api.as_caller(token).get(f"/orders/{external_id}").json()  # the customer's own view
    (line,) = [r.getMessage() for r in caplog.records if r.name == "local.gateway" and "POST /orders" in r.getMessage()]
    assert "sub=user-4711" in line and "client=mobile-app" in line
    assert token not in api.raw_ledger_item(external_id)
    signature = token.rsplit(".", 1)[1]
    assert not [
        r for r in caplog.records if signature in r.getMessage() or signature in json.dumps(vars(r), default=str)
    ]


def test_a_workflow_buy_records_who_started_it(api: Api) -> None:
    token = api.mint(subject="back-office-scheduler", client_id="scheduler")
    external_id = new_id()
    body: dict[str, Any] = {"external_id": external_id, "items": [{"sku": "GAU", "amount": Decimal("0.5")}],
                            "poll_interval_seconds": 1}  # fmt: skip
    started = api.as_caller(token).post("/orders/workflow", body)
    assert started.status_code == 202, started.text
    execution = api.wait_for_execution(started.json()["execution_arn"])
    assert execution["status"] == "SUCCEEDED", execution
    row = api.ledger_item(external_id)
    assert row is not None and row["caller"] == {"sub": "back-office-scheduler", "client_id": "scheduler"}
    # The same order started again by another caller is the same order, not a conflict.
    assert api.post("/orders/workflow", body).status_code == 202
