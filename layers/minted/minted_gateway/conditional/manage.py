"""Create, read and cancel a trigger (a conditional order or a price alert): one use case each."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.conditional.requests import ConditionalOrderIn, PriceAlertIn
from minted_gateway.conditional.triggers import Kind, Trigger, TriggerState, TriggerStore
from minted_gateway.errors import LimitExceeded, NotFound, OrderConflict, TriggerNotWaiting
from minted_gateway.orders.limits import LimitRules, PricedLine, PricedOrder, check_order, line_total, own_field

# A row outlives its expiry (or its firing) this long, for GET and the partner's records; then TTL removes it.
KEPT_SECONDS = 30 * 86400
# What a retried POST must repeat to be the same trigger (its id aside).
_SAME = ("kind", "sku", "currency", "price_side", "direction", "trigger_price", "expires_at", "side", "amount",
         "customer_external_id")  # fmt: skip


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CreateTrigger:
    def __init__(
        self, store: TriggerStore, rules: Callable[[], LimitRules | None], *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        self._store = store
        self._rules = rules
        self._now = now

    def __call__(self, request: ConditionalOrderIn | PriceAlertIn, caller: Caller = PARTNER) -> tuple[Trigger, bool]:
        """The trigger, and whether it was made now (False: a retry of the same one, answered as it stands)."""
        caller.act_for(request.customer_external_id)
        request.check_expiry(self._now())
        trigger = self._trigger(request, caller)
        if trigger.kind == "order":
            self._check_order_limits(trigger)
        stored = self._store.get(trigger.trigger_id)
        if stored is None:
            self._store.create(trigger, purge_at=trigger.expires_at + KEPT_SECONDS)
            # A concurrent create of the same id loses the conditional put: it reads the winner's row.
            stored = self._store.get(trigger.trigger_id)
            if stored is not None and stored.created_at == trigger.created_at:
                return stored, True
        if stored is None or any(getattr(stored, name) != getattr(trigger, name) for name in _SAME):
            raise OrderConflict("This external_id was already used for a different conditional order or alert.")
        caller.act_for(stored.customer_external_id)
        return stored, False

    def _trigger(self, request: ConditionalOrderIn | PriceAlertIn, caller: Caller) -> Trigger:
        common = {
            "trigger_id": request.external_id, "state": TriggerState.WAITING, "sku": request.sku,
            "currency": request.currency.value, "trigger_price": request.trigger_price,
            "expires_at": request.expires_epoch, "created_at": self._now().isoformat(),
            "customer_external_id": request.customer_external_id, "caller": caller,
        }  # fmt: skip
        if isinstance(request, ConditionalOrderIn):
            return Trigger(kind="order", side=request.side, amount=request.amount, price_side=request.watched,
                           direction=request.when, **common)  # fmt: skip
        return Trigger(kind="alert", price_side=request.price_side, direction=request.direction,
                       **common)  # fmt: skip

    def _check_order_limits(self, trigger: Trigger) -> None:
        """An order one run of which would pass a per-order limit is refused now, not when it fires.
        It is valued at its trigger price; the day's limits are checked when it is placed."""
        rules = self._rules()
        if rules is None or trigger.amount is None or trigger.side is None:
            return
        total = line_total(trigger.amount, trigger.trigger_price)
        line = PricedLine(trigger.sku, trigger.amount, trigger.trigger_price)
        try:
            check_order(PricedOrder(trigger.side, trigger.currency, [line], total), rules=rules)
        except LimitExceeded as exc:
            # Named by this request's own field, not an order's items.0.amount (found by a hostile-input review).
            raise LimitExceeded(exc.message, details=own_field(exc.details, "amount")) from None


class GetTrigger:
    def __init__(self, store: TriggerStore, kind: Kind) -> None:
        self._store = store
        self._kind = kind

    def __call__(self, trigger_id: str, caller: Caller = PARTNER) -> Trigger:
        trigger = self._store.get(trigger_id)
        # Another customer's (or the other kind's) answers as if it did not exist.
        if trigger is None or trigger.kind != self._kind or not caller.may_see(trigger.customer_external_id):
            raise NotFound(f"No {'conditional order' if self._kind == 'order' else 'price alert'} has this id.")
        return trigger


class CancelTrigger:
    def __init__(self, store: TriggerStore, kind: Kind, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._get = GetTrigger(store, kind)
        self._store = store
        self._now = now

    def __call__(self, trigger_id: str, caller: Caller = PARTNER) -> Trigger:
        """CANCELLED while it waits (again: the same answer); 409 once it has fired or expired."""
        trigger = self._get(trigger_id, caller)
        if trigger.state is TriggerState.CANCELLED:
            return trigger
        now = self._now()
        if trigger.shown_state(now.timestamp()) is TriggerState.WAITING:
            cancelled = self._store.cancel(trigger, now.isoformat())
            if cancelled is not None:
                return cancelled
            trigger = self._get(trigger_id, caller)  # fired (or cancelled) between the read and the write
            if trigger.state is TriggerState.CANCELLED:
                return trigger
        state = trigger.shown_state(math.floor(now.timestamp()))
        raise TriggerNotWaiting(
            f"It no longer waits ({state.value}): only a waiting one can be cancelled.",
            details=[{"field": "state", "message": state.value}],
        )
