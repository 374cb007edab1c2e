"""The fired-orders queue's consumer: place a fired conditional order once, through the ledger.

The order is an ordinary one under ``cond-<trigger id>``: a fresh quote (Price Fix) for its grams,
then ``PlaceOrder``, which claims the ledger row before Minted is called, checks and holds the
day's limits, and replays on every retry or redelivery. ORDERED means Minted has the order. A
refusal (a limit, Minted, the customer, a stranger's order or another request under the id) is
final and reported as FAILED; an order not settled yet (its answer lost, or placed right now by
another delivery) and a failure that may pass (Minted or AWS unavailable) raise, so the queue
delivers the message again, and the dead-letter queue keeps it after the last try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.conditional.events import TriggerEvent, trigger_event
from minted_gateway.conditional.triggers import EventPublisher, Trigger, TriggerState, TriggerStore, order_external_id
from minted_gateway.deliveries.create import MintedCustomerRecords
from minted_gateway.errors import (
    REJECTIONS,
    CustomerDetailsRequired,
    GatewayError,
    InvalidInput,
    LimitExceeded,
    OrderConflict,
    QuoteExpired,
    UpstreamUnavailable,
    from_minted,
)
from minted_gateway.minted import errors as minted_errors
from minted_gateway.orders.get_order import KnownOrders
from minted_gateway.orders.place_order import OrderOutcome
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.orders.requests import CustomerIn, ItemIn, OrderRequest
from minted_gateway.prices.quotes import Quote, QuoteRequest

logger = logging.getLogger(__name__)
# Refusals that are final for a fired order: placing it again would be refused the same way (an
# expired quote is not: the next delivery quotes again).
FINAL_REFUSALS: tuple[type[GatewayError], ...] = (
    LimitExceeded,
    CustomerDetailsRequired,
    OrderConflict,  # the id's row holds another request, none of it at Minted: placing again cannot help
    InvalidInput,  # the stored order is not one an order can take (an amount kept before a bound narrowed)
    *(e for e in REJECTIONS.values() if e is not QuoteExpired),
)


def _made_for(record: OrderRecord, trigger: Trigger) -> bool:
    """The row is this trigger's order, not one of an earlier trigger under the same id (a trigger's id is
    free again once it is purged, but the ledger keeps its order)."""
    return datetime.fromisoformat(record.created_at) >= datetime.fromisoformat(trigger.created_at)


class Quoting(Protocol):
    def __call__(self, request: QuoteRequest) -> Quote: ...


class Placing(Protocol):
    def __call__(self, request: OrderRequest, *, caller: Caller = PARTNER) -> OrderOutcome: ...


class PlaceFiredOrder:
    def __init__(
        self,
        store: TriggerStore,
        quote: Quoting,
        place: Placing,
        customers: MintedCustomerRecords,
        events: EventPublisher,
        *,
        orders: KnownOrders,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._quote = quote
        self._place = place
        self._customers = customers
        self._orders = orders
        self._events = events
        self._now = now

    def __call__(self, trigger_id: str) -> Trigger | None:
        """The trigger as settled; None for one that is not a fired order (nothing to do)."""
        trigger = self._store.get(trigger_id)
        if trigger is None or trigger.kind != "order" or trigger.state is not TriggerState.FIRED:
            return trigger  # settled by an earlier delivery (its event went then), or never fired
        external_id = order_external_id(trigger.trigger_id)
        # An earlier delivery's order settles from the ledger: a new request (a new quote, Minted's record
        # of the customer read again) could fail, or differ from the one that bought, where nothing went wrong.
        known = self._orders.known(external_id)
        if known is not None and not _made_for(known, trigger):
            failure = {"code": OrderConflict.code, "message": "This external_id holds an earlier trigger's order."}
            return self._settle(trigger, TriggerEvent.FAILED, {"state": TriggerState.FAILED.value,
                                "order_external_id": external_id, "failure": failure})  # fmt: skip
        if known is not None and known.settles_a_retry:
            return self._settle_by(trigger, external_id, known)
        try:
            outcome = self._place_once(trigger, external_id)
        except FINAL_REFUSALS as exc:
            if isinstance(exc, OrderConflict) and known is not None and known.state is State.UNKNOWN:
                # Asked again differently (the customer changed) while the first answer is lost: that order may
                # still land, so not final until a lookup finds it or its price token's lifetime is over.
                raise UpstreamUnavailable("The order's answer is lost and it was asked again differently; "
                                          "the next delivery looks it up.") from None  # fmt: skip
            failure = {"code": exc.code, "message": exc.message}
            return self._settle(trigger, TriggerEvent.FAILED, {"state": TriggerState.FAILED.value,
                                "order_external_id": external_id, "failure": failure})  # fmt: skip
        return self._settle_by(trigger, external_id, outcome.record)

    def _settle_by(self, trigger: Trigger, external_id: str, record: OrderRecord) -> Trigger:
        """ORDERED once Minted has the order; FAILED when it is refused for good or a stranger's; otherwise
        (a lost answer, an expired quote, another delivery placing it now) the queue delivers it again."""
        if record.state is State.REJECTED and record.rejection is not None and not record.awaits_new_quote:
            failure = {"code": record.rejection.code, "message": record.rejection.message}
            return self._settle(trigger, TriggerEvent.FAILED, {"state": TriggerState.FAILED.value,
                                "order_external_id": external_id, "order_state": record.state.value,
                                "failure": failure})  # fmt: skip
        if record.state is State.FOREIGN:
            failure = {"code": "foreign_order", "message": "Minted holds a different order under this external_id."}
            return self._settle(trigger, TriggerEvent.FAILED, {"state": TriggerState.FAILED.value,
                                "order_external_id": external_id, "order_state": record.state.value,
                                "failure": failure})  # fmt: skip
        if record.awaits_new_quote:
            raise UpstreamUnavailable("The quote expired before the order was placed; the next delivery quotes again.")
        if record.state is not State.SUBMITTED:
            raise UpstreamUnavailable(f"The order is {record.state.value} (its answer lost, or being placed now); "
                                      "the next delivery looks it up.")  # fmt: skip
        return self._settle(trigger, TriggerEvent.PLACED, {"state": TriggerState.ORDERED.value,
                            "order_external_id": external_id, "order_state": record.state.value})  # fmt: skip

    def _place_once(self, trigger: Trigger, external_id: str) -> OrderOutcome:
        assert trigger.side is not None and trigger.amount is not None  # noqa: S101 - an order's, by kind
        try:
            items = [ItemIn.model_validate({"sku": trigger.sku, "amount": trigger.amount})]
        except ValidationError:
            # Kept under an earlier, looser bound (29-38 digits were once taken): refused for good, not retried
            # until the dead-letter queue with the whole batch.
            raise InvalidInput("This conditional order's amount is not one an order can take; nothing was sent.",
                               details=[{"field": "amount", "message": "not a valid amount"}]) from None  # fmt: skip
        customer = None
        if trigger.side == "buy" and trigger.customer_external_id is not None:
            customer = self._customer(trigger.customer_external_id)
        quoted: dict[str, Any] = {"currency": trigger.currency, "side": trigger.side, "items": items}
        if trigger.side == "sell" and trigger.customer_external_id is not None:
            quoted["customer_external_id"] = trigger.customer_external_id  # Minted's Sell body has no customer
        quote = self._quote(QuoteRequest.model_validate(quoted))
        order = OrderRequest.model_validate({
            "external_id": external_id, "side": trigger.side, "price_token": quote.price_token,
            "currency": trigger.currency, "items": items, "customer": customer,
            "customer_external_id": trigger.customer_external_id if trigger.side == "sell" else None,
        })  # fmt: skip
        return self._place(order, caller=trigger.caller or PARTNER)

    def _customer(self, external_id: str) -> CustomerIn:
        """A buy's customer block, from Minted's own record (read, sent on, kept nowhere)."""
        try:
            held = self._customers.get_customer(external_id)
        except minted_errors.MintedNotFoundError:
            raise CustomerDetailsRequired("Minted has no customer with this customer_external_id.") from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        block = {"external_id": external_id, "identity_number": held.identity_number, "firstname": held.firstname,
                 "middlename": held.middlename or None, "lastname": held.lastname, "email": held.email,
                 "phone": held.phone, "gender": held.gender if held.gender in ("M", "F") else None,
                 "birthdate": held.birthdate}  # fmt: skip
        try:
            return CustomerIn.model_validate(block)
        except ValidationError:
            raise CustomerDetailsRequired(
                "Minted's record of this customer lacks what a buy needs (identity number, names, email, phone)."
            ) from None

    def _settle(self, trigger: Trigger, event: TriggerEvent, changes: dict[str, Any]) -> Trigger:
        settled_at = self._now().isoformat()
        settled = self._store.settle(trigger, {**changes, "settled_at": settled_at})
        if settled is None:  # another delivery settled it first, and published its event
            return self._store.get(trigger.trigger_id) or trigger
        try:
            self._events.publish([trigger_event(event, settled, settled_at)])
        except GatewayError as exc:  # the row says what happened; the event is best effort
            logger.warning("conditional order event not published", extra={"error": exc.code})
        return settled
