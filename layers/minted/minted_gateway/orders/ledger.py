"""The order ledger port: conditional writes that make each external_id's buy happen once."""

from __future__ import annotations

from typing import Any, Protocol

from minted_gateway.orders.record import HistoryEntry, OrderRecord


class LedgerConflict(Exception):
    """The row changed under us (another invocation claimed or updated it)."""


class OrderLedger(Protocol):
    def claim(self, record: OrderRecord) -> OrderRecord | None:
        """Write ``record`` if its external_id is new; otherwise return the stored row, unchanged."""

    def get(self, external_id: str) -> OrderRecord | None: ...

    def release_claim(self, record: OrderRecord) -> bool:
        """Remove a claim nothing was sent under, if it is still ``record`` (first version, RECEIVED)."""

    def update(self, record: OrderRecord, changes: dict[str, Any], entry: HistoryEntry) -> OrderRecord:
        """Apply ``changes`` if the row is still at ``record.version``; raise LedgerConflict if not."""

    def status_read(self, record: OrderRecord, at: str) -> bool:
        """Note that Minted's status was read at ``at`` and had not changed, if the row is still at
        ``record.version``; False if not. Version and history stay: a read is not a change."""

    def annotate(self, external_id: str, owner: str, changes: dict[str, Any], entry: HistoryEntry) -> bool:
        """Apply ``changes`` only if the row exists and ``owner`` created it; False if not.

        The version is left alone: a note beside the order must not make another writer's
        conditional update fail (and lose what it learned from Minted).
        """
