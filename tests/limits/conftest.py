from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from local.devstack import DevStack
from minted_gateway import runtime
from tests.stack import Api, running_stack

# Every limit off: each test turns on the ones it is about (as a partner sets template parameters).
LIMIT_VARIABLES = ("LIMIT_ORDER_GRAMS", "LIMIT_ORDER_AMOUNT", "LIMIT_CUSTOMER_DAY_AMOUNT", "LIMIT_PARTNER_DAY_AMOUNT")


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    yield from running_stack()


@pytest.fixture
def limits(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set limits by their environment variables (what the template's parameters become); the day's
    counters start empty for each test."""
    table = api.stack.env["LIMITS_TABLE"]
    for item in api.dynamodb.scan(TableName=table, ConsistentRead=True).get("Items", []):
        api.dynamodb.delete_item(TableName=table, Key={"counter": item["counter"]})

    def set_limits(**values: str) -> None:
        for name in LIMIT_VARIABLES:
            monkeypatch.setenv(name, "")
        for name, value in values.items():
            monkeypatch.setenv(f"LIMIT_{name.upper()}", value)
        runtime.reset()

    yield set_limits
    monkeypatch.undo()
    runtime.reset()


def counters(api: Api) -> dict[str, Decimal]:
    """The day's counters (not the holds beside them), by key: a sharded counter's shards (``<key>#<n>``
    beside ``<key>``) summed under its key."""
    items: list[dict[str, Any]] = api.dynamodb.scan(TableName=api.stack.env["LIMITS_TABLE"], ConsistentRead=True)[
        "Items"
    ]
    totals: dict[str, Decimal] = {}
    for item in items:
        if "total" in item:
            key = re.sub(r"#\d+$", "", item["counter"]["S"])  # a day's key ends with its date, a shard's with #n
            totals[key] = totals.get(key, Decimal(0)) + Decimal(item["total"]["N"])
    return totals
