"""The whole local API (make dev's stack) on free loopback ports, and helpers to look inside it.

The fixtures that start it are in tests/conftest.py (one stack per test package).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import requests

from local.devstack import DevStack
from local.minted_sandbox.control import SandboxControl
from minted_gateway import jsonutil, runtime
from minted_gateway.caller import Scope
from minted_gateway.dynamodb import from_item
from tests.conftest import VALID_TCKN

EVENTS = Path(__file__).resolve().parents[1] / "events"
EVERY_SCOPE = tuple(scope.value for scope in Scope)
PARTNER_TOKEN = "partner"
TEST_TOKEN_SECONDS = 6 * 3600  # longer than any run: a test never meets an expiry it did not ask for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Api:
    """The partner API over real HTTP, plus what tests need to see behind it.

    Its requests carry a partner's server token with every scope (no customer claim), as a partner's
    back end would send; ``as_caller`` gives the same API with another token, or none.
    """

    def __init__(self, stack: DevStack, token: str | None = PARTNER_TOKEN) -> None:
        assert stack.gateway is not None
        self.url = stack.gateway.url
        self.stack = stack
        self.http = requests.Session()
        self.token = self.mint() if token == PARTNER_TOKEN else token
        if self.token is not None:
            self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.minted = SandboxControl(stack.sandbox.url)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url, region_name="eu-central-1")

    def mint(self, scopes: tuple[str, ...] | list[str] = EVERY_SCOPE, *, customer: str | None = None,
             ttl: int = TEST_TOKEN_SECONDS, **claims: Any) -> str:  # fmt: skip
        """A token from the stack's local issuer (make token's), with these scopes and claims."""
        return self.stack.issuer.mint(scopes, customer=customer, ttl=ttl, **claims)

    def as_caller(self, token: str | None = None, **mint: Any) -> Api:
        """The same API with ``token`` (or one minted with ``mint``'s arguments); no argument: no token at all."""
        return Api(self.stack, token if token is not None or not mint else self.mint(**mint))

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

    def secrets(self) -> Any:
        return boto3.client("secretsmanager", endpoint_url=self.stack.aws_url, region_name="eu-central-1")

    def put_partner_secret(self, client: Any, password: str) -> None:
        value = {"username": "partner", "password": password, "base_url": self.stack.sandbox.url, "client_id": "web"}
        client.put_secret_value(SecretId=self.stack.env["PARTNER_SECRET_ID"], SecretString=json.dumps(value))

    def age_price_cache(self, seconds: int, currency: str = "TRY") -> None:
        self.dynamodb.update_item(
            TableName=self.stack.env["PRICES_TABLE"],
            Key={"pk": {"S": "LATEST"}, "sk": {"S": currency}},
            UpdateExpression="SET fetched_at = :old, #snapshot.fetched_at = :old REMOVE lease_until",
            ExpressionAttributeNames={"#snapshot": "snapshot"},
            ExpressionAttributeValues={":old": {"N": str(int(time.time()) - seconds)}},
        )

    def wait_for_execution(self, arn: str, timeout: float = 90) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions", endpoint_url=self.stack.aws_url, region_name="eu-central-1")
        deadline = time.monotonic() + timeout
        while True:
            execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution
            assert time.monotonic() < deadline, "the workflow did not end in time"
            time.sleep(0.3)

    def raw_ledger_item(self, external_id: str) -> str:
        item = self.dynamodb.get_item(TableName=self.stack.env["ORDERS_TABLE"], Key={"external_id": {"S": external_id}})
        return json.dumps(item.get("Item", {}), ensure_ascii=False)


def running_stack(extra_env: dict[str, str] | None = None, *, order_events: bool = False,
                  parameters: dict[str, str] | None = None) -> Iterator[DevStack]:  # fmt: skip
    """make dev's stack on free ports; the environment it gives the handlers is undone afterwards."""
    saved = dict(os.environ)
    stack = DevStack(moto_port=free_port(), sandbox_port=free_port(), gateway_port=free_port(), extra_env=extra_env,
                     order_events=order_events, parameters=parameters)  # fmt: skip
    stack.start()
    runtime.reset()
    try:
        yield stack
    finally:
        stack.stop()
        runtime.reset()
        os.environ.clear()
        os.environ.update(saved)


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


def load_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return event
