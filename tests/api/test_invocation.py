"""The same functions invoked directly with the events in events/ (as `sam local invoke -e` would):
API Gateway payload v2, Step Functions task payloads, and the price schedule."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from local.gateway import invoke as invoke_function
from local.template import functions_of
from minted_gateway.errors import InvalidInput, QuoteCurrencyMismatch, QuoteExpired
from tests.stack import Api, load_event

ROOT = Path(__file__).resolve().parents[2]


FUNCTIONS = {spec.code_uri.strip("/").split("/")[-1]: spec for spec in functions_of().values()}


def invoke(function: str, module: str, event: dict[str, Any]) -> Any:
    assert FUNCTIONS[function].handler.startswith(module)
    return invoke_function(FUNCTIONS[function], event)


def fresh_token(api: Api) -> str:
    quote = invoke("prices", "prices_function", load_event("prices/quote_task.json"))
    token: str = quote["price_token"]
    return token


def test_the_http_events_are_served(api: Api) -> None:
    event = load_event("buy/post_orders.json")
    body = json.loads(event["body"])
    body.update(external_id=f"evt-{uuid.uuid4().hex[:12]}", price_token=fresh_token(api))
    event["body"] = json.dumps(body)
    placed = invoke("buy", "buy_function", event)
    assert placed["statusCode"] == 201 and json.loads(placed["body"])["state"] == "SUBMITTED"
    read = load_event("get_order/get_order.json")
    read["rawPath"] = f"/orders/{body['external_id']}"
    read["pathParameters"] = {"external_id": body["external_id"]}
    assert json.loads(invoke("get_order", "get_order_function", read)["body"])["external_id"] == body["external_id"]
    assert invoke("prices", "prices_function", load_event("prices/get_prices.json"))["statusCode"] == 200
    assert invoke("prices", "prices_function", load_event("prices/post_quotes.json"))["statusCode"] == 201
    assert invoke("legal", "legal_function", load_event("legal/list_documents.json"))["statusCode"] == 200
    assert invoke("legal", "legal_function", load_event("legal/get_document.json"))["statusCode"] == 200


def test_step_functions_tasks_share_the_use_cases_and_return_money_as_strings(api: Api) -> None:
    task = load_event("buy/place_order_task.json")
    task["order"].update(external_id=f"sfn-{uuid.uuid4().hex[:12]}", price_token=fresh_token(api))
    result = invoke("buy", "buy_function", task)
    assert result["state"] == "SUBMITTED" and result["items"][0]["amount"] == "1.5"
    json.dumps(result)  # what the Lambda runtime does with it
    again = invoke("buy", "buy_function", task)
    assert again["replayed"] is True and api.minted.orders_created() == 1
    read = invoke(
        "get_order", "get_order_function", {"action": "get_order", "external_id": task["order"]["external_id"]}
    )
    assert read["guids"] == result["guids"]


def test_a_refused_task_raises_its_step_functions_error_name(api: Api) -> None:
    task = load_event("buy/place_order_task.json")
    task["order"].update(external_id=f"sfn-{uuid.uuid4().hex[:12]}", price_token="X" * 32)
    with pytest.raises(QuoteExpired):
        invoke("buy", "buy_function", task)
    with pytest.raises(InvalidInput) as bad:
        invoke("buy", "buy_function", {"action": "place_order", "order": {"external_id": "x"}})
    assert {d["field"] for d in bad.value.details} >= {"order.external_id", "order.items"} or bad.value.details
    with pytest.raises(InvalidInput):
        invoke("buy", "buy_function", {"action": "no_such_action"})


def test_a_workflow_task_in_another_currency_than_its_quote_raises_before_minted(api: Api, order_id: str) -> None:
    task = load_event("buy/place_order_task.json")
    task["order"].update(external_id=order_id, price_token=api.quote(currency="USD"), currency="EUR")
    with pytest.raises(QuoteCurrencyMismatch) as refused:
        invoke("buy", "buy_function", task)
    assert refused.value.details == [{"field": "currency", "message": "the quote's currency is USD"}]
    assert api.ledger_item(order_id) is None and api.minted.served("buy") == 0


@pytest.mark.parametrize("event_file", ["prices/scheduled_event.json", "prices/scheduler_refresh.json"])
def test_the_scheduled_refresh_stores_prices_and_one_history_item_a_minute(api: Api, event_file: str) -> None:
    first = invoke("prices", "prices_function", load_event(event_file))
    assert first["stored"] is True and set(first["skus"]) >= {"GAU", "GAG", "GPT"}
    second = invoke("prices", "prices_function", load_event(event_file))
    assert second["history_minute"] != first["history_minute"] or second["history_recorded"] is False
    latest = api.dynamodb.get_item(
        TableName=api.stack.env["PRICES_TABLE"], Key={"pk": {"S": "LATEST"}, "sk": {"S": "TRY"}}
    )
    assert "snapshot" in latest["Item"]
