"""GET /plans' cursor, read by the plans store on moto and on dynalite: a cursor this store did not
write is refused as a bad cursor (422), never sent to DynamoDB, which refuses an empty or mistyped
start key with a ValidationException (a 503 for the caller; moto takes it, dynalite shows it).

Here beside the ledger's adapters, whose two DynamoDBs it uses: moto's mock_aws beside the plans'
running stack (tests/plans) would reset that stack's tables."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from minted_gateway.errors import InvalidCursor
from minted_gateway.plans.calendar import Calendar
from minted_gateway.plans.dynamodb_plans import DynamoDbPlanStore
from minted_gateway.plans.plan import Plan

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def store_with_plans(client: Any, count: int) -> DynamoDbPlanStore:
    store = DynamoDbPlanStore(client, "PlansTable")
    calendar = Calendar(frequency="monthly", day_of_month=5)
    for n in range(count):
        made = NOW + timedelta(minutes=n)
        store.create(Plan(plan_id=f"p-{n}", customer_external_id="cust-a", sku="GAU", currency="TRY",
                          amount=Decimal(500), calendar=calendar, next_run_at=made + timedelta(days=4),
                          created_at=made, updated_at=made))  # fmt: skip
    return store


def forged(**changes: Any) -> str:
    plain = {"plan_id": "p-1", "item": "plan", "customer_external_id": "cust-a",
             "listed": "2026-12-01T09:01:00Z#p-1", **changes}  # fmt: skip
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def test_a_page_cursor_this_store_wrote_reads_the_next_page(dynamodb: Any) -> None:
    store = store_with_plans(dynamodb, 3)
    first = store.by_customer("cust-a", 2, None)
    assert [p.plan_id for p in first.plans] == ["p-2", "p-1"] and first.cursor
    second = store.by_customer("cust-a", 2, first.cursor)
    assert [p.plan_id for p in second.plans] == ["p-0"]


@pytest.mark.parametrize(
    "cursor",
    [forged(plan_id=""), forged(listed=""), forged(item=""), forged(item="run#2026-12"), forged(plan_id=7),
     forged(listed={"S": "x"}), forged(plan_id="p-1/../x"), forged(listed="#p-1"), forged(listed="x" * 500 + "#p-1"),
     forged(listed="\ud800#p-1"), forged(listed="\x00#p-1"),
     forged(customer_external_id="cust-b"), "not base64 !", base64.urlsafe_b64encode(b"[1]").decode()],
)  # fmt: skip
def test_a_cursor_this_store_did_not_write_is_a_bad_cursor_not_an_outage(dynamodb: Any, cursor: str) -> None:
    store = store_with_plans(dynamodb, 1)
    with pytest.raises(InvalidCursor):
        store.by_customer("cust-a", 2, cursor)
