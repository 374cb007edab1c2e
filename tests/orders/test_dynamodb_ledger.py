"""The ledger's and the price cache's conditional writes, against two DynamoDB implementations:
moto in-process, and dynalite (an independent one, from npm) on a loopback port. Both get the
template's tables; a condition expression that only moto's leniency accepts fails on dynalite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.ledger import LedgerConflict
from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, State
from minted_gateway.prices.price_cache import DynamoDbPriceCache, PriceSnapshot, SkuPrice

ROOT = Path(__file__).resolve().parents[2]
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"


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


class RetriedPuts:
    """DynamoDB whose answer to a put times out after the write landed, so botocore sends the same put
    again (its standard retry of a read timeout): the second meets the row the first wrote."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def put_item(self, **kwargs: Any) -> Any:
        self._client.put_item(**kwargs)  # landed; its answer lost
        return self._client.put_item(**kwargs)  # the retry, byte for byte

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_claim_whose_put_was_sent_again_after_it_landed_is_still_this_callers(dynamodb: Any) -> None:
    """Before, the retry's condition failure handed back our own row, which the caller read as another
    attempt's live claim: 409 order_in_progress on a new order, until the claim expired."""
    ledger = DynamoDbOrderLedger(RetriedPuts(dynamodb), "OrdersTable")
    assert ledger.claim(record()) is None
    stored = ledger.claim(record())  # the same order from another caller: its own put, its own mark
    assert stored is not None and stored.claim_id is not None


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
    assert ledger.get("no-such-order") is None


def test_a_row_written_with_the_identity_numbers_end_and_hash_still_reads_and_updates(dynamodb: Any) -> None:
    """Rows from before the ledger stopped keeping them (docs/operations.md, "Personal data left on older
    rows") hold identity_last4 and identity_hash: read past, never part of the record."""
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    ledger.claim(record(mode="B2B2C", customer_external_id="cust-1"))
    dynamodb.update_item(TableName="OrdersTable", Key={"external_id": {"S": "ord-1"}},
                         UpdateExpression="SET identity_last4 = :last4, identity_hash = :hash",
                         ExpressionAttributeValues={":last4": {"S": "0146"}, ":hash": {"S": "a" * 64}})  # fmt: skip
    old = ledger.get("ord-1")
    assert old is not None and "identity" not in old.model_dump_json()
    assert ledger.update(old, {"state": State.SUBMITTED}, entry(State.SUBMITTED)).state is State.SUBMITTED


def test_a_note_lands_only_on_a_row_its_owner_created_and_leaves_the_version_alone(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    owned, other = record("ord-owned", workflow_owner="ord-owned"), record("ord-other")
    ledger.claim(owned)
    ledger.claim(other)
    note = {"workflow_error": "OrderNotFinal", "workflow_execution": "ord-owned"}
    assert ledger.annotate("ord-owned", "ord-owned", note, entry(State.RECEIVED)) is True
    noted = ledger.get("ord-owned")
    assert noted is not None and noted.workflow_error == "OrderNotFinal" and noted.version == 1
    assert [h.note for h in noted.history] == ["test"]
    # Another writer's conditional update still holds: the note did not move the version.
    assert ledger.update(owned, {"state": State.SUBMITTED}, entry(State.SUBMITTED)).workflow_error == "OrderNotFinal"
    assert ledger.annotate("ord-other", "ord-other", note, entry(State.RECEIVED)) is False
    assert ledger.annotate("no-such-order", "no-such-order", note, entry(State.RECEIVED)) is False
    unchanged = ledger.get("ord-other")
    assert unchanged is not None and unchanged.model_copy(update={"claim_id": None}) == other  # but the claim's mark
    assert ledger.get("no-such-order") is None


def test_the_price_cache_keeps_the_newest_leases_once_and_records_each_minute_once(dynamodb: Any) -> None:
    cache = DynamoDbPriceCache(dynamodb, "PricesTable")

    def snapshot(fetched: str) -> PriceSnapshot:
        price = SkuPrice(sku="GAU", product_id=3000001, buy_price=Decimal("2985.30"), sell_price=Decimal("2897.06"),
                         spot_price=Decimal("2941.18"))  # fmt: skip
        return PriceSnapshot(currency="TRY", as_of=datetime(2026, 1, 1, tzinfo=UTC), fetched_at=Decimal(fetched),
                             prices=[price])  # fmt: skip

    assert cache.latest("TRY") is None
    assert cache.store(snapshot("100.5")) is True
    assert cache.store(snapshot("99")) is False  # older: kept out
    assert cache.latest("TRY") == snapshot("100.5")
    assert cache.take_refresh_lease("TRY", now=200, seconds=10) is True
    assert cache.take_refresh_lease("TRY", now=205, seconds=10) is False
    assert cache.take_refresh_lease("TRY", now=211, seconds=10) is True
    assert cache.record_history(snapshot("100.5"), "2026-01-01T00:00Z", expires_at=999) is True
    assert cache.record_history(snapshot("100.6"), "2026-01-01T00:00Z", expires_at=999) is False


def test_an_unreachable_table_is_ledger_unavailable_not_a_crash() -> None:
    once = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1)
    client = boto3.client("dynamodb", region_name="eu-central-1", endpoint_url="http://127.0.0.1:9", config=once)
    ledger = DynamoDbOrderLedger(client, "OrdersTable")
    with pytest.raises(LedgerUnavailable) as down:
        ledger.get("ord-1")
    assert down.value.status == 503 and down.value.retry_after
    assert isinstance(down.value.__context__, EndpointConnectionError)
