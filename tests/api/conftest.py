"""The whole local API (make dev's stack) on free loopback ports, and helpers to look inside it."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local.devstack import DevStack
from local.minted_sandbox.control import SandboxControl
from minted_gateway import jsonutil, runtime
from minted_gateway.orders.dynamodb_ledger import from_item
from tests.conftest import VALID_TCKN

EVENTS = Path(__file__).resolve().parents[2] / "events"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Api:
    """The partner API over real HTTP, plus what tests need to see behind it."""

    def __init__(self, stack: DevStack) -> None:
        assert stack.gateway is not None
        self.url = stack.gateway.url
        self.stack = stack
        self.http = requests.Session()
        self.minted = SandboxControl(stack.sandbox.url)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url, region_name="eu-central-1")

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        data = body if isinstance(body, (str, bytes)) else jsonutil.dumps(body)
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.http.post(self.url + path, data=data, headers=headers, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kw)

    def quote(self, sku: str = "GAU", amount: str = "1.5", currency: str = "TRY") -> str:
        response = self.post("/quotes", {"currency": currency, "items": [{"sku": sku, "amount": Decimal(amount)}]})
        assert response.status_code == 201, response.text
        token: str = response.json()["price_token"]
        return token

    def ledger_item(self, external_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def raw_ledger_item(self, external_id: str) -> str:
        item = self.dynamodb.get_item(TableName=self.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}})
        return json.dumps(item.get("Item", {}), ensure_ascii=False)


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    """Started once for these tests; the environment it gives the handlers is undone afterwards."""
    saved = dict(os.environ)
    stack = DevStack(moto_port=free_port(), sandbox_port=free_port(), gateway_port=free_port()).start()
    runtime.reset()
    yield stack
    stack.stop()
    runtime.reset()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def api(stack: DevStack) -> Api:
    api = Api(stack)
    api.minted.reset()
    runtime.minted().set_time_budget(None)
    return api


@pytest.fixture
def order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:20]}"


def customer(external_id: str = "cust-0001", **overrides: Any) -> dict[str, Any]:
    person = {
        "external_id": external_id,
        "identity_number": VALID_TCKN,
        "firstname": "Ayşe",
        "lastname": "Yılmaz",
        "email": "ayse.yilmaz@example.com",
        "phone": "+905322808035",
        "gender": "F",
        "birthdate": "1990-12-31",
    }
    person.update(overrides)
    return person


def order(
    external_id: str, token: str, *, amount: str = "1.5", with_customer: bool = True, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "price_token": token,
        "items": [{"sku": "GAU", "amount": Decimal(amount)}],
    }
    if with_customer:
        body["customer"] = customer()
    body.update(extra)
    return body


class DynamoCalls:
    """Counts the DynamoDB requests our handlers make, by operation (botocore event hooks)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls.append(model.name)

    def count(self, *operations: str) -> int:
        return sum(1 for call in self.calls if call in operations)

    @property
    def writes(self) -> int:
        return self.count("PutItem", "UpdateItem", "DeleteItem")

    @property
    def reads(self) -> int:
        return self.count("GetItem", "Query", "Scan")


@pytest.fixture
def dynamo_calls(api: Api) -> Iterator[DynamoCalls]:
    counter = DynamoCalls()
    events = runtime.dynamodb().meta.events
    events.register("before-call.dynamodb.*", counter)
    yield counter
    events.unregister("before-call.dynamodb.*", counter)


def load_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return event
