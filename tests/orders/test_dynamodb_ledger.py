"""The ledger adapter's conditional writes, against moto in-process with the template's table."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from local.template import create_tables
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.ledger import LedgerConflict
from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, State


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_tables(client)
        yield client


def record(external_id: str = "ord-1", **overrides: Any) -> OrderRecord:
    fields: dict[str, Any] = {
        "external_id": external_id, "state": State.RECEIVED, "version": 1, "request_hash": "h" * 64, "mode": "B2B",
        "lines": [Line(sku="GAU", amount=Decimal("0.125"))], "created_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-01T00:00:00+00:00", "claim_expires_at": 1,
    }  # fmt: skip
    fields.update(overrides)
    return OrderRecord(**fields)


def entry(state: State) -> HistoryEntry:
    return HistoryEntry(at="2026-01-01T00:00:01+00:00", state=state, note="test")


def test_a_claim_writes_once_and_hands_back_the_stored_row(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    assert ledger.claim(record()) is None
    stored = ledger.claim(record(request_hash="x" * 64))
    assert stored is not None and stored.request_hash == "h" * 64
    assert stored.lines[0].amount == Decimal("0.125")


def test_updates_are_conditional_on_the_version_and_append_history(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    first = record()
    ledger.claim(first)
    submitted = ledger.update(first, {"state": State.SUBMITTED, "total": Decimal("4475.72")}, entry(State.SUBMITTED))
    assert (submitted.version, submitted.state, submitted.total) == (2, State.SUBMITTED, Decimal("4475.72"))
    assert [h.state for h in submitted.history] == [State.SUBMITTED]
    with pytest.raises(LedgerConflict):
        ledger.update(first, {"state": State.UNKNOWN}, entry(State.UNKNOWN))  # version 1 is gone
    cleared = ledger.update(submitted, {"total": None}, entry(State.SUBMITTED))
    assert cleared.total is None and ledger.get("ord-1") == cleared


def test_an_unreachable_table_is_ledger_unavailable_not_a_crash() -> None:
    once = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1)
    client = boto3.client("dynamodb", region_name="eu-central-1", endpoint_url="http://127.0.0.1:9", config=once)
    ledger = DynamoDbOrderLedger(client, "OrdersTable")
    with pytest.raises(LedgerUnavailable) as down:
        ledger.get("ord-1")
    assert down.value.status == 503 and down.value.retry_after
    assert isinstance(down.value.__context__, EndpointConnectionError)
