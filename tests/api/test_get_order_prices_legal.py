"""GET /orders/{id}, GET /prices, POST /quotes and the legal routes over real HTTP."""

from __future__ import annotations

import concurrent.futures
from decimal import Decimal

import pytest

from local.gateway import routes_from_template
from minted_gateway import runtime
from minted_gateway.minted.models import BuyRequest, OrderLine, PriceFixRequest
from tests.stack import Api, order


# ---------------------------------------------------------------- GET /orders/{external_id}
def test_an_order_is_refreshed_until_final_then_read_from_the_ledger_alone(api: Api, order_id: str) -> None:
    api.minted.clock(pending_after_seconds=0, completion_delay_seconds=30)
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    pending = api.get(f"/orders/{order_id}").json()
    assert pending["status"] == "Pending" and not pending["final"] and pending["refreshed"]
    api.minted.clock(advance_seconds=31)
    done = api.get(f"/orders/{order_id}").json()
    assert done["status"] == "Completed" and done["final"]
    assert api.ledger_item(order_id)["status"] == "Completed"  # type: ignore[index]
    reads_at_minted = api.minted.served("get_order")
    again = api.get(f"/orders/{order_id}").json()
    assert again["status"] == "Completed" and not again["refreshed"]
    assert api.minted.served("get_order") == reads_at_minted


def test_an_order_known_only_to_minted_is_shown_from_minted(api: Api, order_id: str) -> None:
    client = runtime.minted()
    token = client.price_fix(PriceFixRequest()).token
    client.buy(BuyRequest(price_token=token, external_id=order_id, items=[OrderLine(sku="GAG", amount=Decimal(2))]))
    shown = api.get(f"/orders/{order_id}")
    assert shown.status_code == 200 and shown.json()["source"] == "minted" and shown.json()["state"] is None
    assert api.ledger_item(order_id) is None


def test_an_order_nobody_knows_is_404(api: Api) -> None:
    response = api.get("/orders/no-such-order-123")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("hostile", ["a%2Fb", "..%2Fcustomer", "%2E%2E", "%2E", "x" * 65, "a%20b"])
def test_a_path_value_that_is_not_an_order_id_never_reaches_minted(api: Api, hostile: str) -> None:
    response = api.get(f"/orders/{hostile}")
    assert response.status_code in (404, 422)
    assert api.minted.served("get_order") == 0 and api.minted.served("get_customer") == 0


def test_minted_down_shows_the_ledger_marked_stale(api: Api, order_id: str) -> None:
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    api.minted.fault("get_order", status=503)
    response = api.get(f"/orders/{order_id}")
    assert response.status_code == 200 and response.json()["stale"] and response.json()["state"] == "SUBMITTED"


# ---------------------------------------------------------------- GET /prices
def _clear_price_cache(api: Api) -> None:
    api.dynamodb.delete_item(TableName=api.stack.env["PRICES_TABLE"], Key={"pk": {"S": "LATEST"}, "sk": {"S": "TRY"}})


def test_prices_come_from_minted_once_then_from_the_cache(api: Api) -> None:
    _clear_price_cache(api)
    first = api.get("/prices")
    assert first.status_code == 200 and first.json()["source"] == "minted" and first.json()["refreshed"]
    second = api.get("/prices").json()
    assert second["source"] == "cache" and second["age_seconds"] >= 0 and not second["stale"]
    assert api.minted.served("prices") == 1
    gold = next(p for p in second["prices"] if p["sku"] == "GAU")
    assert gold["sell_price"] < gold["spot_price"] < gold["buy_price"] and second["as_of"]


def test_a_stale_cache_is_refreshed_by_one_caller_under_load(api: Api) -> None:
    api.get("/prices")
    api.age_price_cache(3600)
    api.minted.fault("prices", latency_ms=300, times=1)
    before = api.minted.served("prices")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = [r.json() for r in pool.map(lambda _: api.get("/prices"), range(8))]
    assert api.minted.served("prices") - before == 1
    assert sum(1 for a in answers if a["source"] == "minted") == 1
    assert all(a["stale"] for a in answers if a["source"] == "cache")
    assert api.get("/prices").json()["age_seconds"] < 60


def test_prices_in_another_currency_and_an_unknown_one(api: Api) -> None:
    assert api.get("/prices", params={"currency": "USD"}).json()["currency"] == "USD"
    bad = api.get("/prices", params={"currency": "JPY"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"].endswith("currency")


def test_minted_down_with_no_cache_is_503(api: Api) -> None:
    api.dynamodb.delete_item(TableName=api.stack.env["PRICES_TABLE"], Key={"pk": {"S": "LATEST"}, "sk": {"S": "GBP"}})
    api.minted.fault("prices", status=503)
    response = api.get("/prices", params={"currency": "GBP"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "upstream_unavailable"
    assert "Retry-After" in response.headers


# ---------------------------------------------------------------- POST /quotes
def test_an_amount_quote_has_exact_line_totals(api: Api) -> None:
    response = api.post("/quotes", {"currency": "TRY", "items": [{"sku": "GAU", "amount": Decimal("0.123")},
                                                                 {"sku": "GAG", "amount": Decimal(10)}]})  # fmt: skip
    assert response.status_code == 201
    quote = response.json(parse_float=Decimal)
    assert len(quote["price_token"]) == 32 and 200 <= quote["expires_in_seconds"] <= 240 and quote["mode"] == "amount"
    for line in quote["lines"]:
        assert line["line_total"] == (line["amount"] * line["unit_price"]).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert quote["total"] == sum(line["line_total"] for line in quote["lines"])


def test_a_total_quote_says_how_many_grams_the_money_buys(api: Api) -> None:
    body = {"currency": "TRY", "total": Decimal("10000.00"), "sku": "GAU", "customer_external_id": "cust-0001"}
    quote = api.post("/quotes", body).json(parse_float=Decimal)
    (line,) = quote["lines"]
    assert quote["mode"] == "total" and line["line_total"] <= Decimal(10000)
    assert line["amount"] == (Decimal(10000) / line["unit_price"]).quantize(Decimal("0.001"), "ROUND_DOWN")


@pytest.mark.parametrize(
    "body",
    [{"currency": "TRY"}, {"items": [{"sku": "GAU", "amount": 1}], "total": 5}, {"total": 5, "sku": "GAU"},
     {"items": [{"sku": "GAU", "amount": 0}]}, {"items": []}],
)  # fmt: skip
def test_a_quote_needs_exactly_one_valid_mode(api: Api, body: dict[str, object]) -> None:
    response = api.post("/quotes", body)
    assert response.status_code == 422 and response.json()["error"]["details"]
    assert api.minted.served("pricefix") == 0


# ---------------------------------------------------------------- legal
def test_legal_documents_are_listed_served_and_cached(api: Api) -> None:
    listed = api.get("/legal").json()["documents"]
    assert {d["type"] for d in listed} == {"user_agreement", "kvkk_disclosure", "pre_information", "distance_sales"}
    document = api.get("/legal/kvkk_disclosure").json()
    assert document["title"] == "KVKK Aydınlatma Metni" and document["content"].startswith("<h1>")
    calls = api.minted.served("legal")
    api.get("/legal/kvkk_disclosure")
    api.get("/legal")
    assert api.minted.served("legal") == calls


def test_an_unknown_legal_document_is_404(api: Api) -> None:
    assert api.get("/legal/no_such_document").status_code == 404
    assert api.get("/legal/BAD-TYPE").status_code == 422


def test_unknown_routes_are_404_and_other_methods_405_like_api_gateway(api: Api) -> None:
    assert api.get("/nowhere").status_code == 404
    other = api.http.delete(api.url + "/orders/x123", timeout=5)  # the path's ANY route: its function answers
    assert other.status_code == 405 and other.headers["Allow"] == "GET"


# ---------------------------------------------------------------- credentials, OpenAPI
def test_refused_partner_credentials_are_a_502_that_names_no_secret(api: Api) -> None:
    api.minted.rotate_credentials("partner", "rotated-elsewhere")  # Minted changed, our secret did not
    response = api.post("/quotes", {"items": [{"sku": "GAU", "amount": 1}]})
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_misconfigured"
    assert "rotated-elsewhere" not in response.text and "sandbox-password" not in response.text


def test_the_local_stage_serves_one_openapi_document_and_swagger(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert set(document["paths"]) == {route.path for route in routes_from_template()}  # the template's routes
    assert "OrderRequest" in document["components"]["schemas"]
    swagger = api.get("/swagger")
    assert swagger.status_code == 200 and "/openapi.json" in swagger.text
