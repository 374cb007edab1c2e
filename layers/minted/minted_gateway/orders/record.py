"""A ledger row: the single source of truth for what happened to one external_id.

States (design.md, "Exactly-once buys"):
- RECEIVED: claimed, not yet known to be sent; a claim past ``claim_expires_at`` belongs to a dead invocation.
- SUBMITTED: Minted accepted it; ``status`` follows Minted's order status.
- UNKNOWN: sent, answer lost; resolved by looking Minted up by external_id.
- REJECTED: Minted refused it (422/403); replays return the stored rejection.
- NOT_PLACED: it never reached Minted (refused connection, 429, credentials); a retry may try again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from minted_gateway.minted.models import TERMINAL_STATUS_NAMES


class State(StrEnum):
    RECEIVED = "RECEIVED"
    SUBMITTED = "SUBMITTED"
    UNKNOWN = "UNKNOWN"
    REJECTED = "REJECTED"
    NOT_PLACED = "NOT_PLACED"


class Line(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    amount: Decimal
    unit_price: Decimal | None = None
    total: Decimal | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    details: list[dict[str, Any]] = []


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: str
    state: State
    status: str | None = None
    note: str | None = None


class OrderRecord(BaseModel):
    """What the ledger keeps: what operations need, no personal data (identity number only hashed)."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    state: State
    version: int
    request_hash: str
    mode: str
    currency: str | None = None
    customer_external_id: str | None = None
    identity_last4: str | None = None
    identity_hash: str | None = None
    lines: list[Line]
    created_at: str
    updated_at: str
    claim_expires_at: int = 0
    status: str | None = None  # Minted's order status once submitted
    status_id: int | None = None
    order_codes: list[str] = []
    guids: list[str] = []
    price: Decimal | None = None
    total: Decimal | None = None
    order_at: str | None = None
    rejection: Rejection | None = None
    workflow_execution: str | None = None  # the buy workflow that failed on this order, if one did
    workflow_error: str | None = None
    history: list[HistoryEntry] = []

    @property
    def is_final(self) -> bool:
        """Nothing more will change it: refused, or Minted says it is done."""
        return self.state is State.REJECTED or (self.state is State.SUBMITTED and self.status in TERMINAL_STATUS_NAMES)

    def claim_is_stale(self, now: datetime) -> bool:
        return self.state is State.RECEIVED and now.timestamp() >= self.claim_expires_at
