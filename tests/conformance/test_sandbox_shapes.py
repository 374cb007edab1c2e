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
