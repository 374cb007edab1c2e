"""Regenerate events/: AWS's own shapes (`sam local generate-event`) filled in for our routes and tasks.

Run from the repository root with the project's venv: `.venv/bin/python scripts/generate-events.py`.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAM = str(ROOT / ".venv" / "bin" / "sam")
TOKEN = "QuoteTokenFromPostQuotes00000000"  # 32 characters; tests put a live token in its place
CUSTOMER = {
    "external_id": "cust-0001",
    "identity_number": "10000000146",
    "firstname": "Ayşe",
    "lastname": "Yılmaz",
    "email": "ayse@example.com",
    "phone": "+905322808035",
    "gender": "F",
    "birthdate": "1990-12-31",
}
ORDER = {
    "external_id": "order-0001",
    "price_token": TOKEN,
    "items": [{"sku": "GAU", "amount": 1.5}],
    "customer": CUSTOMER,
}

# What the workflow's FixPrice step locked, as it hands it to place_order (decimal strings): the
# limits value the order at it.
QUOTE = {
    "price_token": TOKEN,
    "total": "4466.25",
    "lines": [{"sku": "GAU", "amount": "1.5", "unit_price": "2977.50", "line_total": "4466.25"}],
    "expires_at": "2026-11-28T13:04:00+03:00",
}

# A sell names only whose metal it takes back: Minted needs no personal data for it.
SELL = {
    "external_id": "order-0002",
    "side": "sell",
    "price_token": TOKEN,
    "items": [{"sku": "GAU", "amount": 0.5}],
    "customer_external_id": "cust-0001",
}


def generate(*args: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"),
    }
    output = subprocess.run(
        [SAM, "local", "generate-event", *args], check=True, capture_output=True, text=True, env=env
    )
    event: dict[str, Any] = json.loads(output.stdout)
    return event


def http(
    base: dict[str, Any],
    method: str,
    route: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = copy.deepcopy(base)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["authorizer"]["jwt"] = {"claims": {"sub": "partner-backend"}, "scopes": None}
    event["requestContext"].pop("authentication", None)
    event["headers"] = {"content-type": "application/json", "accept": "application/json"}
    event["cookies"] = []
    event.pop("stageVariables", None)
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event["queryStringParameters"] = query or None
    event["pathParameters"] = params or None
    event["body"] = json.dumps(body, ensure_ascii=False) if body is not None else None
    event["isBase64Encoded"] = False
    return {k: v for k, v in event.items() if v is not None}


def main() -> None:
    base = generate("apigateway", "http-api-proxy")
    events = {
        # Verbatim: a request on a route no function serves (each must answer 404, never 500).
        "http_api_proxy.json": base,
        "buy/post_orders.json": http(base, "POST", "/orders", "/orders", body=ORDER),
        "buy/place_order_task.json": {"action": "place_order", "order": ORDER, "quote": QUOTE},
        "buy/post_orders_sell.json": http(base, "POST", "/orders", "/orders", body=SELL),
        "get_order/get_order.json": http(
            base, "GET", "/orders/{external_id}", "/orders/order-0001", params={"external_id": "order-0001"}
        ),
        "get_order/list_orders.json": http(
            base, "GET", "/orders", "/orders", query={"customer_external_id": "cust-0001", "side": "sell", "limit": "9"}
        ),
        "get_order/get_order_task.json": {"action": "get_order", "external_id": "order-0001"},
        "prices/get_prices.json": http(base, "GET", "/prices", "/prices", query={"currency": "TRY"}),
        "prices/post_quotes.json": http(
            base, "POST", "/quotes", "/quotes", body={"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]}
        ),
        "prices/post_quotes_sell.json": http(
            base, "POST", "/quotes", "/quotes", body={"side": "sell", "items": [{"sku": "GAU", "amount": 0.5}]}
        ),
        "prices/quote_task.json": {
            "action": "quote",
            "quote": {"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]},
        },
        "prices/scheduled_event.json": generate("cloudwatch", "scheduled-event"),
        "prices/scheduler_refresh.json": {"action": "refresh_prices", "currency": "TRY"},
        "customers/post_customers.json": http(base, "POST", "/customers", "/customers", body=CUSTOMER),
        "customers/patch_customer.json": http(
            base,
            "PATCH",
            "/customers/{external_id}",
            "/customers/cust-0001",
            body={"lastname": "Demir"},
            params={"external_id": "cust-0001"},
        ),
        "customers/get_customer.json": http(
            base, "GET", "/customers/{external_id}", "/customers/cust-0001", params={"external_id": "cust-0001"}
        ),
        "customers/get_balances.json": http(
            base,
            "GET",
            "/customers/{external_id}/balances",
            "/customers/cust-0001/balances",
            params={"external_id": "cust-0001"},
        ),
        "legal/list_documents.json": http(base, "GET", "/legal", "/legal"),
        "legal/get_document.json": http(
            base, "GET", "/legal/{document_type}", "/legal/kvkk_disclosure", params={"document_type": "kvkk_disclosure"}
        ),
    }
    for name, event in events.items():
        path = ROOT / "events" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
