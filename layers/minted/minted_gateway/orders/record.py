"""A ledger row: the single source of truth for what happened to one external_id.

States (design.md, "Exactly-once buys"):
- RECEIVED: claimed, not yet known to be sent; a claim past ``claim_expires_at`` belongs to a dead invocation.
- SUBMITTED: Minted accepted it; each of its orders follows Minted's status (a buy may make several).
- UNKNOWN: sent, answer lost; resolved by looking Minted up by external_id.
- REJECTED: Minted refused it (422/403); replays return the stored rejection.
- NOT_PLACED: it never reached Minted (refused connection, 429, credentials, a failed workflow before
  buying, or not at Minted once its price token could no longer buy); a retry may try again.
- FOREIGN: Minted holds an order under this external_id that is not the one asked for (another side,
  wallet, metal or amount): never adopted, never shown as ours.
"""

import math
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from minted_gateway.caller import Caller
from minted_gateway.errors import QuoteExpired
from minted_gateway.minted.models.base import TERMINAL_STATUS_NAMES

# Minted publishes a price token's lifetime only by example (expire_ttl 239 s); a minute more
# covers clock skew between us and Minted. After this long from an attempt's claim, its token
# can no longer buy, so an order Minted still does not have was not placed.
DEFAULT_TOKEN_SECONDS = 300
# A row that needs the reconciler is looked at no sooner than this after it was written: the caller's
# own retry or GET usually settles it first, and a run does not chase a row another run just wrote.
RECHECK_SECONDS = 60

PARTNER_WALLET_KEY = "#partner"  # the index key of the partner's own wallet: no customer id starts with "#"
QUOTE_EXPIRED = QuoteExpired.code  # the one refusal a new quote can retry (PlaceOrder)
EVERY_ORDER = "orders"  # the one key under which the by-time index lists the whole ledger


def listing_time(stamp: str) -> str:
    """A sortable UTC text of an ISO time: fixed width, so text order is time order."""
    return datetime.fromisoformat(stamp).astimezone(UTC).isoformat(timespec="microseconds")


class State(StrEnum):
    RECEIVED = "RECEIVED"
    SUBMITTED = "SUBMITTED"
    UNKNOWN = "UNKNOWN"
    REJECTED = "REJECTED"
    NOT_PLACED = "NOT_PLACED"
    FOREIGN = "FOREIGN"


class Line(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    amount: Decimal
    unit_price: Decimal | None = None
    total: Decimal | None = None


class PlacedOrder(BaseModel):
    """One of the orders Minted made for this buy, with its own status."""

    model_config = ConfigDict(frozen=True)

    guid: str | None = None  # Minted names an order by guid or order_code (read tolerantly)
    order_code: str | None = None
    status: str | None = None
    status_id: int | None = None

    @property
    def key(self) -> str:
        return self.guid or self.order_code or ""

    @property
    def is_final(self) -> bool:
        return self.status in TERMINAL_STATUS_NAMES


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    details: list[dict[str, Any]] = []
    upstream_message: str | None = None  # Minted's own words (a row written before it was kept has none)


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: str
    state: State
    status: str | None = None
    note: str | None = None


class OrderRecord(BaseModel):
    """What the ledger keeps: what operations need, no personal data (the customer by the partner's id only).
    Rows written before 2026-12 may hold ``identity_last4`` and ``identity_hash``: read past, never shown
    (docs/operations.md, "Personal data left on older rows")."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    state: State
    version: int
    request_hash: str  # what is bought, for whom: the price token is not part of it
    mode: str
    side: str = "buy"  # a row written before sells existed is a buy
    currency: str | None = None
    customer_external_id: str | None = None
    lines: list[Line]
    created_at: str
    updated_at: str
    claim_expires_at: int = 0
    claim_id: str | None = None  # the first claim's random mark (the ledger's: a retried put finds its own row)
    sent_at: int | None = None  # when the last attempt was claimed: its token cannot buy long after that
    token_hash: str | None = None  # the last attempt's price token, keyed hash: a new quote may retry
    status: str | None = None  # Minted's status of the buy: of its one order, or what its orders share
    status_id: int | None = None
    # When Minted's status was last read (its answer to the buy, a lookup, a refresh): what GET /orders shows.
    status_read_at: str | None = None
    orders: list[PlacedOrder] = []
    order_codes: list[str] = []
    guids: list[str] = []
    price: Decimal | None = None
    total: Decimal | None = None
    order_at: str | None = None
    rejection: Rejection | None = None
    caller: Caller | None = None  # who claimed the order first (JWT sub and client_id, or the IAM principal)
    payment_type: str | None = None  # "card" for a buy paid by the customer's card; absent: the partner's cash
    payment: dict[str, Any] | None = None  # a card order's payment as Minted reports it (cards.outcome)
    payment_cost: Decimal | None = None
    tracking: dict[str, Any] | None = None  # a delivery's cargo tracking number and URL, once Minted gives them
    workflow_owner: str | None = None  # the buy workflow execution that created the row, if one did
    workflow_execution: str | None = None  # the buy workflow that failed on this order, if one did
    workflow_error: str | None = None
    history: list[HistoryEntry] = []
    # The order history's index keys (docs/decisions.md), written once with the claim: the wallet
    # (a customer's external_id, or PARTNER_WALLET_KEY), the whole ledger's one key, and the time order.
    wallet: str | None = None
    listed: str | None = None
    listed_at: str | None = None

    @property
    def awaits_new_quote(self) -> bool:
        """Minted refused the price token (expired or used): the same order may be retried with a new quote."""
        return self.state is State.REJECTED and self.rejection is not None and self.rejection.code == QUOTE_EXPIRED

    @property
    def settles_a_retry(self) -> bool:
        """What a retry of the same order would only replay: at Minted, refused for good, a stranger's, or
        being placed right now. Not a lost answer (a retry looks it up, then buys), nothing placed, or a
        refused price token (a retry quotes again)."""
        return self.state not in (State.UNKNOWN, State.NOT_PLACED) and not self.awaits_new_quote

    @property
    def is_final(self) -> bool:
        """Nothing more will change it: refused for good, a stranger's order, or every order done at Minted.

        A refused price token is not final: a retry with a new quote places the order under the same id.
        """
        if self.state in (State.REJECTED, State.FOREIGN):
            return not self.awaits_new_quote
        if self.state is not State.SUBMITTED:
            return False
        return all_final(self.status, [order.status for order in self.orders])

    def claim_is_stale(self, now: datetime) -> bool:
        return self.state is State.RECEIVED and now.timestamp() >= self.claim_expires_at

    def token_window_over(self, now: datetime, token_seconds: int) -> bool:
        """Minted can no longer accept the last attempt's price token (or nothing was ever sent)."""
        return self.sent_at is None or now.timestamp() >= self.sent_at + token_seconds


def all_final(status: str | None, order_statuses: list[str | None]) -> bool:
    """A submitted buy is done when every one of its orders is (or its one status, before orders were kept)."""
    if order_statuses:
        return all(each in TERMINAL_STATUS_NAMES for each in order_statuses)
    return status in TERMINAL_STATUS_NAMES


def attention_due(
    state: State,
    *,
    final: bool,
    claim_expires_at: int,
    sent_at: int | None,
    written_at: float,
    token_seconds: int = DEFAULT_TOKEN_SECONDS,
) -> int | None:
    """When the reconciler should look at a row next (epoch seconds), or None when it never needs to.

    A claim is its invocation's business until it expires; an unknown outcome or a non-final order
    is looked at a little after it was written; a stranger's order is reported until a person acts;
    a NOT_PLACED attempt is looked up once its price token can no longer buy, when "not at Minted"
    is final. REJECTED rows and finished orders need nothing.
    """
    recheck = math.ceil(written_at) + RECHECK_SECONDS
    if state is State.RECEIVED:
        return claim_expires_at
    if state in (State.UNKNOWN, State.FOREIGN):
        return recheck
    if state is State.SUBMITTED:
        return None if final else recheck
    if state is State.NOT_PLACED and sent_at is not None and written_at < sent_at + token_seconds:
        return sent_at + token_seconds
    return None


def placed_orders(record: OrderRecord) -> list[PlacedOrder]:
    """The buy's orders; a row written before orders were kept one by one has only their guids."""
    if record.orders:
        return record.orders
    codes = [*record.order_codes, *[None] * len(record.guids)]
    return [PlacedOrder(guid=guid, order_code=code, status=record.status, status_id=record.status_id)
            for guid, code in zip(record.guids, codes, strict=False)]  # fmt: skip


def combined_status(statuses: list[str | None]) -> str | None:
    """One status for a buy of several orders: the shared one; else the first still moving; else the
    first that did not complete (so "Completed" means every order completed)."""
    known = [status for status in statuses if status]
    if not known:
        return None
    if len(set(known)) == 1:
        return known[0]
    moving = [status for status in known if status not in TERMINAL_STATUS_NAMES]
    if moving:
        return moving[0]
    return next(status for status in known if status != "Completed")
