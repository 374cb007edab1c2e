"""The partner API in front of a Minted that answers only with its published examples.

The local gateway (real handlers, moto) is pointed at the stand-in in tests/conformance/standin.py:
no sandbox rules, no Digest, only Minted's own answers. A quote, the published buy request with its
customer, and the order read back must all work; so must a buy and a read under the published
50-character order id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from minted_gateway import jsonutil, runtime
from minted_gateway.minted.models import PriceFixRequest
from tests.conformance.examples import example
from tests.conformance.standin import StandinMinted
from tests.stack import Api, order


@pytest.fixture
def published_minted(api: Api) -> Iterator[StandinMinted]:
    """The stack's partner secret pointed at the stand-in for one test, then back at the sandbox."""
    secrets, secret_id = api.secrets(), api.stack.env["PARTNER_SECRET_ID"]
    original = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    with StandinMinted() as standin:
        pointed = {**json.loads(original), "base_url": standin.url}
        secrets.put_secret_value(SecretId=secret_id, SecretString=json.dumps(pointed))
        runtime.reset()
        try:
            yield standin
        finally:
            secrets.put_secret_value(SecretId=secret_id, SecretString=original)
            runtime.reset()


def quote(api: Api, amount: str) -> str:
    answer = api.post("/quotes", {"currency": "TRY", "items": [{"sku": "GAU", "amount": Decimal(amount)}]})
    assert answer.status_code == 201, answer.text
    assert jsonutil.loads(answer.content)["lines"][0]["unit_price"] == Decimal("2889.71")  # the contract's example
    token: str = answer.json()["price_token"]
    return token


def test_quote_then_the_published_buy_then_get(api: Api, published_minted: StandinMinted) -> None:
    before = api.get("/orders/HYAQA01373")  # not in the ledger yet: Minted's published Get Order answer
    assert before.status_code == 200, before.text
    assert (before.json()["source"], before.json()["status"], before.json()["order_codes"]) == (
        "minted", "Created", ["FE9HURU6"],
    )  # fmt: skip
    assert before.json()["items"][0]["sku"] == "GAU" and before.json()["order_at"] is None
    # Minted's published Buy names GBP and its published Price Fix is TRY: with the gateway's own quote,
    # that is an order in another currency than its quote, refused before Minted (docs/decisions.md).
    refused = api.post("/orders", {**example("buy-request.json"), "price_token": quote(api, "10")})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "currency_mismatch", refused.text
    assert published_minted.asked["buy"] == 0 and api.ledger_item("HYAQA01373") is None
    # A price fixed at Minted past the gateway is Minted's to judge: the published request buys as it is.
    token = runtime.minted().price_fix(PriceFixRequest()).token
    request = {**example("buy-request.json"), "price_token": token}
    bought = api.post("/orders", request)
    assert bought.status_code == 201, bought.text
    order = jsonutil.loads(bought.content)
    assert (order["state"], order["status"], order["order_codes"]) == ("SUBMITTED", "Pending", ["9YMEK5RB"])
    assert order["guids"] == ["71E174B7-C7AD-47FB-836E-3895FF41D4F5"] and order["total"] == Decimal("559.4")
    assert published_minted.asked["buy"] == 1

    read = api.get("/orders/HYAQA01373")
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["refreshed"], body["stale"], body["state"]) == (True, False, "SUBMITTED")
    assert body["status"] == "Created"  # the published Get Order answer says "New"
    assert api.ledger_item("HYAQA01373")["order_codes"] == ["9YMEK5RB"]  # type: ignore[index]

    again = api.post("/orders", request)  # a retry is answered from the ledger, never bought again
    assert again.status_code == 200 and again.json()["order_codes"] == ["9YMEK5RB"]
    assert published_minted.asked["buy"] == 1


def test_a_buy_and_a_read_under_the_published_50_character_id(api: Api, published_minted: StandinMinted) -> None:
    held = example("find-order-200.json")["data"]
    external_id = held["external_id"]
    assert len(external_id) == 50
    request = {
        "external_id": external_id,
        "price_token": quote(api, "0.1"),
        "currency": "TRY",
        "items": [{"product_id": 3000001, "amount": Decimal("0.1")}],
        "customer": held["customer"],
    }
    bought = api.post("/orders", request)
    assert bought.status_code == 201, bought.text
    assert bought.json()["state"] == "SUBMITTED" and bought.json()["external_id"] == external_id

    read = api.get(f"/orders/{external_id}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["external_id"], body["status"], body["final"], body["stale"]) == (
        external_id, "Completed", True, False,
    )  # fmt: skip
    assert published_minted.asked["buy"] == 1


@pytest.mark.parametrize("external_id", ["v1.2_order-x", "a" * 64])
def test_every_route_takes_an_order_id_of_up_to_64_characters_with_dots(api: Api, external_id: str) -> None:
    """Against the sandbox: the body, the path and Minted's own rule all take the same ids."""
    assert api.post("/orders", order(external_id, api.quote())).status_code == 201
    read = api.get(f"/orders/{external_id}")
    assert read.status_code == 200 and read.json()["external_id"] == external_id and not read.json()["stale"]
    assert api.minted.orders_created() == 1
    too_long = api.get(f"/orders/{'a' * 65}")
    assert too_long.status_code == 422 and api.minted.served("get_order") == 1


def test_the_published_buy_request_buys_at_the_sandbox_with_default_settings(api: Api) -> None:
    """The sandbox's defaults enforce only what Minted publishes: its own example customer is accepted."""
    published = example("buy-request.json")
    # A quote in the published request's own currency (GBP): the gateway checks its quotes' currencies.
    token = api.quote(amount="10", currency=published["currency_code"])
    request = {**published, "external_id": "published-at-sandbox", "price_token": token}
    bought = api.post("/orders", request)
    assert bought.status_code == 201, bought.text
    assert api.minted.orders_created() == 1
    at_minted = runtime.minted().get_order("published-at-sandbox")
    assert at_minted.customer is not None and at_minted.customer.external_id == published["customer"]["external_id"]
    assert at_minted.customer.birthdate is not None and at_minted.customer.birthdate.isoformat() == "1970-01-31"
    assert [(item.sku, item.amount) for item in at_minted.items] == [("GAU", Decimal(10))]


def test_the_published_card_get_order_shows_the_payment_and_no_card_secret(
    api: Api, published_minted: StandinMinted
) -> None:
    """Fed Minted's published card Get Order answer, before and after the published card buy: the state,
    amount and masked card are shown; the CVV ("000"), expiry and holder are in no answer or row."""
    before = api.get("/orders/HYAQA01714rqz")  # no ledger row yet: Minted's answer as it is
    assert before.status_code == 200, before.text
    assert (
        before.json()["payment"]["state"] == "success" and before.json()["payment"]["card_number"] == "404809******7528"
    )
    bought = api.post("/orders", {**example("card-buy-request.json"), "price_token": quote(api, "1")})
    assert bought.status_code == 201, bought.text
    assert published_minted.bodies["buy"][0]["payment"]["card_cvv"] == "000"  # the CVV went to Minted, once
    read = api.get("/orders/HYAQA01714rqz")
    body = jsonutil.loads(read.content)
    assert (body["state"], body["status"], body["payment_type"]) == ("SUBMITTED", "Pending", "card")
    assert body["payment"] == {"state": "success", "amount": Decimal("1731.3"), "commission": Decimal(0),
                               "card_number": "404809******7528", "card_association": "Visa"}  # fmt: skip
    assert body["payment_cost"] == Decimal(10)
    row = api.raw_ledger_item("HYAQA01714rqz")
    for secret in ('"000"', "John Due", "05/28", "card_cvv", "mLPKxKnNbj0AYMcE"):
        assert secret not in before.text and secret not in bought.text and secret not in read.text
        assert secret not in row
