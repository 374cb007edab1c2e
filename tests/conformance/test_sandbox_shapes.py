"""The sandbox answers each published call in the published shape: the same keys at every level,
values in the same formats (no status_id where the examples have none, customer null on the buy
answer, each endpoint's own date format). The calls are the examples' own, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from local.minted_sandbox.control import SandboxControl
from minted_gateway import jsonutil
from tests.conformance.examples import example, shape_diff
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER


class RawMinted:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.auth = HTTPDigestAuth(SANDBOX_USER, SANDBOX_PASSWORD)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"api-version": "3" if path.endswith("pricefix") else "2", "x-client-id": "web"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = jsonutil.dumps(body), "application/json"
        response = self.http.request(method, self.base_url + path, data=data, headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        return jsonutil.loads(response.content)


@pytest.fixture
def placed(sandbox: SandboxControl) -> tuple[RawMinted, Any]:
    """The published buy request (customer and all), with a price token of its currency."""
    minted = RawMinted(sandbox.base_url)
    request = example("buy-request.json")
    token = minted.call("POST", "/partner/pricefix", {"type": "digital", "currency": request["currency_code"]})
    answer = minted.call("POST", "/partner/order/digital/buy", {**request, "price_token": token["data"]["token"]})
    return minted, answer


def test_the_buy_answer_has_the_published_shape(placed: tuple[RawMinted, Any]) -> None:
    _, answer = placed
    assert shape_diff(example("buy-response-200.json"), answer) == []
    assert answer["data"]["orders"][0]["customer"] is None


def test_the_get_order_answer_has_the_published_shape(placed: tuple[RawMinted, Any]) -> None:
    minted, _ = placed
    answer = minted.call("GET", "/partner/order/" + example("buy-request.json")["external_id"])
    assert shape_diff(example("get-order-200.json"), answer) == []


def test_the_alternative_lookup_answer_has_the_published_shape(placed: tuple[RawMinted, Any]) -> None:
    minted, bought = placed
    lookup = {**example("find-order-request.json"), "guid": bought["data"]["guid"][0]}  # the published call, our order
    answer = minted.call("POST", "/partner/order", lookup)
    assert shape_diff(example("find-order-200.json"), answer) == []


def test_the_price_fix_answer_has_the_published_shape(sandbox: SandboxControl) -> None:
    """The published amount-mode request (a customer, no currency) answered like the published 200."""
    minted = RawMinted(sandbox.base_url)
    minted.call("POST", "/partner/customer", example("customer-request.json"))
    request = {
        **example("pricefix-amount-request.json"),
        "customer_external_id": example("customer-request.json")["external_id"],
    }
    answer = minted.call("POST", "/partner/pricefix", request)
    assert shape_diff(example("pricefix-amount-200.json"), answer) == []


@pytest.mark.parametrize("name", ["customer-request.json", "business-customer-request.json"])
def test_the_sandbox_registers_the_published_customers(sandbox: SandboxControl, name: str) -> None:
    minted = RawMinted(sandbox.base_url)
    published = example(name)
    minted.call("POST", "/partner/customer", published)
    answer = minted.call("GET", "/partner/customer/" + published["external_id"])
    assert answer["data"]["external_id"] == published["external_id"]


def test_the_card_get_order_answer_has_the_published_shape(sandbox: SandboxControl) -> None:
    """The published card buy (its card token is one the sandbox knows), then its Get Order: the shape of
    card-get-order-200.json, the CVV echoed in payment.details as Minted's own answer does."""
    minted = RawMinted(sandbox.base_url)
    request = example("card-buy-request.json")
    token = minted.call("POST", "/partner/pricefix", {"type": "digital", "currency": "TRY"})["data"]["token"]
    bought = minted.call("POST", "/partner/order/digital/buy", {**request, "price_token": token})
    assert bought["data"]["payment"]["state"] == "success"
    answer = minted.call("GET", "/partner/order/" + request["external_id"])
    assert shape_diff(example("card-get-order-200.json"), answer) == []
    assert answer["data"]["payment"]["details"]["card_cvv"] == request["payment"]["card_cvv"]


def test_a_delivery_of_the_published_request_answers_a_whole_order(sandbox: SandboxControl) -> None:
    """Delivery - Create's published request, for a customer holding the grams: the answer is the whole
    order the page describes (tx_type delivery, status Created, external_id null, items priced 0)."""
    minted = RawMinted(sandbox.base_url)
    request = example("delivery-create-request.json")
    minted.call("POST", "/partner/customer", {"external_id": request["customer"]["external_id"]})
    token = minted.call("POST", "/partner/pricefix", {"type": "digital", "currency": "TRY"})["data"]["token"]
    buy = {
        "price_token": token,
        "external_id": "held-" + request["external_id"][:20],
        "customer": {"external_id": request["customer"]["external_id"]},
        "items": [{"sku": "GAU", "amount": 5}],
    }
    minted.call("POST", "/partner/order/digital/buy", buy)
    answer = minted.call("POST", "/partner/delivery/create", request)["data"]
    assert (answer["tx_type"], answer["status_id"], answer["status_name"], answer["external_id"]) == (
        "delivery", 1, "Created", None,
    )  # fmt: skip
    assert [(i["sku"], i["amount"], i["price"]) for i in answer["items"]] == [("GAU", 3, 0)]
    balance = minted.call("GET", "/partner/balance/customer/" + request["customer"]["external_id"])["data"]
    assert {w["currency_code"]: w["balance"] for w in balance}["GAU"] == 2
