"""Order history (GET /orders): the ledger's orders, newest first, a page at a time.

Served from two indexes of the ledger (docs/decisions.md, "Order history"): by wallet when a
customer or the partner's wallet is asked for, else by time over the whole ledger. Side, state and
status filter what the index reads; the cursor is the position of the last order shown, so a
page cut short by a filter or by the read budget goes on exactly where it stopped.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime
from typing import Annotated, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import InvalidCursor
from minted_gateway.minted.models.base import EXTERNAL_ID_PATTERN
from minted_gateway.orders.record import EVERY_ORDER, PARTNER_WALLET_KEY, OrderRecord, State, listing_time
from minted_gateway.validation import ExternalId, Instant

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR_CHARS = 400


class Position(BaseModel):
    """Where a page ended: the last order shown, as the index sorts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listed_at: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    external_id: Annotated[str, StringConstraints(max_length=64, pattern=EXTERNAL_ID_PATTERN)]

    def cursor(self) -> str:
        text = json.dumps({"t": self.listed_at, "e": self.external_id}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def of_cursor(cls, cursor: str) -> "Position":
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            return cls(listed_at=data["t"], external_id=data["e"])
        except (binascii.Error, ValueError, TypeError, KeyError, ValidationError):
            raise InvalidCursor() from None


class HistoryQuery(BaseModel):
    """GET /orders' filters. ``wallet=partner`` asks for the partner's own wallet (orders with no customer).

    Every schema-valid combination is answered: one that no order can meet is an empty page, not a refusal.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_external_id: ExternalId | None = None
    wallet: Literal["partner"] | None = None
    side: Literal["buy", "sell"] | None = None
    state: State | None = None
    status: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: Annotated[str, StringConstraints(max_length=MAX_CURSOR_CHARS)] | None = None

    @field_validator("from_", "to")
    @classmethod
    def _with_offset(cls, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-01-01T00:00:00Z")
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # past 9999 or before year 1 in UTC: the calendar's end on that side, still a bound
            return (datetime.max if moment.year == MAXYEAR else datetime.min).replace(tzinfo=UTC)

    @property
    def matches_nothing(self) -> bool:
        """Filters no order meets: a customer's orders in the partner's wallet, or a range ending before it starts."""
        crossed = self.from_ is not None and self.to is not None and self.from_ > self.to
        return bool(self.customer_external_id and self.wallet) or crossed

    @property
    def wallet_key(self) -> str | None:
        """The by-wallet index's key, or None to read the whole ledger by time."""
        if self.customer_external_id:
            return self.customer_external_id
        return PARTNER_WALLET_KEY if self.wallet == "partner" else None


@dataclass(frozen=True)  # not a NamedTuple: its field "index" would hide tuple.index
class IndexRead:
    """One read of an index: which key, which time range, which filters; newest first."""

    index: Literal["by_wallet", "by_time"]
    key: str
    start: str | None  # listed_at bounds (inclusive)
    end: str | None
    filters: dict[str, str]
    limit: int
    after: Position | None


class HistoryPage(NamedTuple):
    orders: list[OrderRecord]
    next: Position | None


class OrderIndex(Protocol):
    def read(self, request: IndexRead) -> HistoryPage:
        """Up to ``limit`` matching orders after ``after``; ``next`` when more may follow."""


class ListOrders:
    def __init__(self, index: OrderIndex) -> None:
        self._index = index

    def __call__(self, query: HistoryQuery, caller: Caller = PARTNER) -> HistoryPage:
        """A caller bound to a customer reads that customer's orders only, whatever the query names."""
        if caller.customer is not None:
            query = query.model_copy(update={"customer_external_id": caller.customer, "wallet": None})
        wallet = query.wallet_key
        filters = {"side": query.side, "state": query.state.value if query.state else None, "status": query.status}
        after = Position.of_cursor(query.cursor) if query.cursor else None  # a bad cursor is refused before a read
        if query.matches_nothing:
            return HistoryPage([], None)
        start = listing_time(query.from_.isoformat()) if query.from_ else None
        # "~" sorts after the "#external_id" that follows the time: an order at ``to`` is in.
        end = listing_time(query.to.isoformat()) + "~" if query.to else None
        if after is not None:
            # A cursor reused with a narrower range may point outside it, where DynamoDB refuses the
            # start key (a ValidationException, not a page). Pages run newest first: a position older
            # than ``from`` has nothing after it; one newer than ``to`` has the whole range after it.
            if start is not None and after.listed_at < start:
                return HistoryPage([], None)
            if end is not None and after.listed_at > end:
                after = None
        return self._index.read(
            IndexRead(
                index="by_wallet" if wallet else "by_time",
                key=wallet or EVERY_ORDER,
                start=start,
                end=end,
                filters={name: value for name, value in filters.items() if value is not None},
                limit=query.limit,
                after=after,
            )
        )
