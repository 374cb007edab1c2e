"""A trigger (a conditional order or a price alert), its states, and the ports its use cases need."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from minted_gateway.caller import Caller
from minted_gateway.validation import CONDITIONAL_ORDER_PREFIX

Kind = Literal["order", "alert"]
PriceSide = Literal["buy", "sell"]  # which of Minted's prices is watched: what a buy pays, or a sell gets
Direction = Literal["at_or_below", "at_or_above"]
DIRECTIONS: tuple[Direction, ...] = ("at_or_below", "at_or_above")
PRICE_SIDES: tuple[PriceSide, ...] = ("buy", "sell")
ORDER_ID_PREFIX = CONDITIONAL_ORDER_PREFIX  # the fired order's external_id: cond-<trigger id>, on every retry too


class TriggerState(StrEnum):
    WAITING = "WAITING"  # in the price index: the next refresh that crosses it fires it
    FIRED = "FIRED"  # crossed; an order is on the fired-orders queue, an alert's event on its way to the bus
    ORDERED = "ORDERED"  # the order is in the ledger under order_external_id (GET /orders/{id} follows it)
    FAILED = "FAILED"  # the order was refused (a limit, Minted, the customer): final, in failure
    TRIGGERED = "TRIGGERED"  # a price alert whose event the bus took (final)
    CANCELLED = "CANCELLED"  # cancelled while it waited (final)
    EXPIRED = "EXPIRED"  # shown for a WAITING row past its expiry (never fired; TTL removes it later)


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str
    message: str


class Trigger(BaseModel):
    """One trigger as the table holds it: ids, prices and amounts, never a customer's personal data
    (a buy for a customer names them by ``customer_external_id``; Minted's record fills the buy)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    trigger_id: str
    kind: Kind
    state: TriggerState
    sku: str
    currency: str
    price_side: PriceSide
    direction: Direction
    trigger_price: Decimal
    expires_at: int  # epoch seconds: a refresh after it never fires it
    created_at: str
    side: Literal["buy", "sell"] | None = None  # an order's; None for an alert
    amount: Decimal | None = None  # grams, an order's
    customer_external_id: str | None = None
    caller: Caller | None = None  # who created it (identifiers only): the fired order is placed as them
    fired_at: str | None = None
    fired_price: Decimal | None = None  # the refreshed price that crossed the trigger
    order_external_id: str | None = None
    order_state: str | None = None  # the ledger's state of the fired order when it was placed
    failure: Failure | None = None
    resend_at: int | None = None  # while FIRED: when its hand-off counts as lost and is sent again (epoch s)
    sends: int = 0  # how many times it was handed to the queue or the bus
    version: int = 1

    @property
    def index_key(self) -> str:
        return index_key(self.currency, self.sku, self.price_side, self.direction)

    def shown_state(self, now: float) -> TriggerState:
        if self.state is TriggerState.WAITING and self.expires_at <= now:
            return TriggerState.EXPIRED
        return self.state

    def crossed_by(self, price: Decimal) -> bool:
        return price <= self.trigger_price if self.direction == "at_or_below" else price >= self.trigger_price


def index_key(currency: str, sku: str, price_side: str, direction: str) -> str:
    """The price index's partition: one per currency, metal, price and direction (its sort key is the price)."""
    return f"{currency}#{sku}#{price_side}#{direction}"


def order_external_id(trigger_id: str) -> str:
    return f"{ORDER_ID_PREFIX}{trigger_id}"


class TriggerStore(Protocol):
    def create(self, trigger: Trigger, purge_at: int) -> None: ...

    def get(self, trigger_id: str) -> Trigger | None: ...

    def cancel(self, trigger: Trigger, now: str) -> Trigger | None:
        """CANCELLED if it still waits; None when it no longer does (fired, cancelled)."""

    def crossed(self, key: str, direction: Direction, price: Decimal, now: int, limit: int) -> list[Trigger]:
        """The waiting, unexpired triggers of ``key`` that ``price`` crosses: one query, by the price index."""

    def fire(self, trigger: Trigger, price: Decimal, fired_at: str, now: int, resend_at: int) -> Trigger | None:
        """WAITING -> FIRED, out of the price index and into the fired one until ``resend_at``; None when
        another refresh fired it first, it was cancelled, or it expired."""

    def unfire(self, trigger: Trigger) -> bool:
        """FIRED -> WAITING again (its hand-off to the queue failed): the next refresh fires it."""

    def settle(self, trigger: Trigger, changes: Mapping[str, Any]) -> Trigger | None:
        """FIRED -> its outcome (an order's, or an alert's TRIGGERED), out of the fired index; None when
        another delivery settled it first."""

    def overdue(self, now: int, limit: int) -> list[Trigger]:
        """FIRED ones whose ``resend_at`` has come: one query of the fired index, oldest first."""

    def reclaim(self, trigger: Trigger, resend_at: int) -> Trigger | None:
        """An overdue one taken to be sent again (``sends`` + 1, due again at ``resend_at``); None when
        it settled or another refresh took it first."""

    def stop_resending(self, trigger: Trigger) -> bool:
        """Out of the fired index, still FIRED: sent often enough (its dead letters and alarms take over)."""


class FiredOrders(Protocol):
    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        """Hand fired orders to their consumer; the ids that could not be handed over."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Mapping[str, Any]]) -> None: ...


class EventDelivery(EventPublisher, Protocol):
    def deliver(self, events: Sequence[Mapping[str, Any]]) -> list[int]:
        """Put each event, trying again those refused; the indexes of those still refused."""
