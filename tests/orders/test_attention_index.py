"""The reconciler's sparse index, as the ledger's own writes keep it, on moto and on dynalite.

Only rows that need a look are listed (by state, with when to look); a write that settles a row
takes it out; a lease is taken by one reader only; nothing is read with a Scan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from minted_gateway.orders.dynamodb_ledger import ATTENTION_STATES, DynamoDbOrderLedger, LedgerEntry
from minted_gateway.orders.record import RECHECK_SECONDS, HistoryEntry, State
from tests.orders.test_dynamodb_ledger import record

WRITTEN_AT = "2026-01-01T00:00:01+00:00"
T = 1767225601  # WRITTEN_AT in epoch seconds


def entry(state: State) -> HistoryEntry:
    return HistoryEntry(at=WRITTEN_AT, state=state, note="test")


def listed(ledger: DynamoDbOrderLedger, now: int = 2**40) -> dict[str, tuple[str, int]]:
    """Every listed row due by ``now``: external_id -> (state, due)."""
    return {
        row.external_id: (row.state.value, row.due) for state in ATTENTION_STATES for row in ledger.due(state, now, 100)
    }


def test_each_write_lists_a_row_that_needs_a_look_and_takes_a_settled_one_out(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable", token_seconds=300)
    claimed = record("ord-1", claim_expires_at=T + 40, sent_at=T, updated_at=WRITTEN_AT)
    ledger.claim(claimed)
    assert listed(ledger) == {"ord-1": ("RECEIVED", T + 40)}  # a live claim: due when it expires
    assert listed(ledger, now=T + 39) == {}
    unknown = ledger.update(claimed, {"state": State.UNKNOWN, "claim_expires_at": 0}, entry(State.UNKNOWN))
    assert listed(ledger) == {"ord-1": ("UNKNOWN", T + RECHECK_SECONDS)}
    pending = ledger.update(unknown, {"state": State.SUBMITTED, "orders": [{"guid": "g1", "status": "Pending"}],
                                      "status": "Pending"}, entry(State.SUBMITTED))  # fmt: skip
    assert listed(ledger) == {"ord-1": ("SUBMITTED", T + RECHECK_SECONDS)}  # refreshed until final
    ledger.update(pending, {"orders": [{"guid": "g1", "status": "Completed"}], "status": "Completed"},
                  entry(State.SUBMITTED))  # fmt: skip
    assert listed(ledger) == {}
    assert "attention" not in dynamodb.get_item(TableName="OrdersTable", Key={"external_id": {"S": "ord-1"}})["Item"]


def test_not_placed_is_listed_until_its_token_is_past_and_rejected_never(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable", token_seconds=300)
    live, late, refused = (record(i, sent_at=T, claim_expires_at=T + 40) for i in ("ord-live", "ord-late", "ord-no"))
    for row in (live, late, refused):
        ledger.claim(row)
    ledger.update(live, {"state": State.NOT_PLACED, "claim_expires_at": 0}, entry(State.NOT_PLACED))
    past = HistoryEntry(at="2026-01-01T00:10:01+00:00", state=State.NOT_PLACED)  # 600 s after sent_at
    ledger.update(late, {"state": State.NOT_PLACED, "claim_expires_at": 0}, past)
    ledger.update(refused, {"state": State.REJECTED, "claim_expires_at": 0}, entry(State.REJECTED))
    assert listed(ledger) == {"ord-live": ("NOT_PLACED", T + 300)}
    foreign = record("ord-f", sent_at=T, claim_expires_at=T + 40)
    ledger.claim(foreign)
    ledger.update(foreign, {"state": State.FOREIGN, "claim_expires_at": 0}, past)  # a stranger's: a person must act
    assert listed(ledger)["ord-f"][0] == "FOREIGN"


def test_a_lease_is_taken_once_and_a_release_only_at_the_version_seen(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable", token_seconds=300)
    claimed = record("ord-1", claim_expires_at=T + 40, sent_at=T)
    ledger.claim(claimed)
    unknown = ledger.update(claimed, {"state": State.UNKNOWN, "claim_expires_at": 0}, entry(State.UNKNOWN))
    (row,) = ledger.due(State.UNKNOWN, 2**40, 10)
    assert ledger.lease(row, T + 500) == unknown.version  # the row's version when taken
    assert ledger.lease(row, T + 900) is None  # another run read the same row: it is taken
    assert listed(ledger) == {"ord-1": ("UNKNOWN", T + 500)}
    assert ledger.get("ord-1") == unknown  # a lease is no change of the order: same version, same history
    assert ledger.release(claimed) is False  # an older version: someone wrote since
    refused = unknown.model_copy(
        update={"state": State.SUBMITTED, "history": [*unknown.history, entry(State.SUBMITTED)]}
    )
    assert ledger.release(refused) is False  # a write the ledger refused: the same version, yet not what is stored
    assert ledger.release(unknown) is True and listed(ledger) == {}
    assert ledger.release(unknown) is False  # nothing left to take out


def test_which_orders_the_ledger_has_is_asked_in_batches(dynamodb: Any) -> None:
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable")
    for index in range(3):
        ledger.claim(record(f"ord-{index}", lines=[{"sku": "GAU", "amount": Decimal(1)}]))
    asked = [f"ord-{index}" for index in range(150)] + ["ord-1"]  # more than one batch, a repeat
    found = ledger.known(asked)
    assert set(found) == {"ord-0", "ord-1", "ord-2"} and found["ord-1"] == LedgerEntry(State.RECEIVED, frozenset())
    assert ledger.known([]) == {}
