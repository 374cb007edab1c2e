"""The price refresh's check: fire the triggers its new prices cross, each once.

Per metal, price side and direction, one query of the price index for the crossed range: the
number of requests does not grow with the triggers waiting beyond the price, only with the
crossed ones (one conditional write each, to fire it). A conditional order is handed to the
fired-orders queue rather than placed here, so a thousand crossings do not slow the refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from minted_gateway.conditional.events import TriggerEvent, trigger_event
from minted_gateway.conditional.triggers import (
    DIRECTIONS,
    PRICE_SIDES,
    EventPublisher,
    FiredOrders,
    Trigger,
    TriggerState,
    TriggerStore,
    index_key,
)
from minted_gateway.errors import GatewayError
from minted_gateway.prices.price_cache import PriceSnapshot
from minted_gateway.validation import SKUS_FOR_SALE

logger = logging.getLogger(__name__)
# Fired per partition per refresh at most: the rest fire on the next refresh (still crossed, still waiting).
MAX_FIRED_PER_PARTITION = 200


class CheckTriggers:
    def __init__(self, store: TriggerStore, queue: FiredOrders, events: EventPublisher, *,
                 clock: Callable[[], float], max_fired: int = MAX_FIRED_PER_PARTITION) -> None:  # fmt: skip
        self._store = store
        self._queue = queue
        self._events = events
        self._clock = clock
        self._max_fired = max_fired

    def __call__(self, snapshot: PriceSnapshot) -> dict[str, Any]:
        now = self._clock()
        fired_at = datetime.fromtimestamp(now, UTC).isoformat()
        fired: list[Trigger] = []
        for price in snapshot.prices:
            if price.sku not in SKUS_FOR_SALE:
                continue
            for side in PRICE_SIDES:
                current = price.buy_price if side == "buy" else price.sell_price
                for direction in DIRECTIONS:
                    key = index_key(snapshot.currency, price.sku, side, direction)
                    for trigger in self._store.crossed(key, direction, current, int(now), self._max_fired):
                        final = TriggerState.FIRED if trigger.kind == "order" else TriggerState.TRIGGERED
                        moved = self._store.fire(trigger, current, fired_at, int(now), final)
                        if moved is not None:  # None: another refresh fired it, or it was cancelled
                            fired.append(moved)
        orders = [t for t in fired if t.kind == "order"]
        unsent = set(self._queue.send([t.trigger_id for t in orders])) if orders else set()
        for trigger in orders:
            if trigger.trigger_id in unsent and self._store.unfire(trigger):
                logger.warning("fired order not queued; it waits for the next refresh",
                               extra={"trigger_id": trigger.trigger_id})  # fmt: skip
        published = [t for t in fired if t.trigger_id not in unsent]
        self._publish(published, fired_at)
        return {"triggers_fired": len(published), "orders_queued": len(orders) - len(unsent),
                "alerts_triggered": len(fired) - len(orders)}  # fmt: skip

    def after_refresh(self, snapshot: PriceSnapshot) -> dict[str, Any]:
        """The refresh's hook: a failure here is logged and left to the next refresh (the triggers still
        wait, or are FIRED and settled by the queue), never a failed price refresh."""
        try:
            return self(snapshot)
        except GatewayError as exc:
            logger.warning("triggers not checked", extra={"error": exc.code})
            return {"triggers_error": exc.code}

    def _publish(self, fired: list[Trigger], fired_at: str) -> None:
        events = [
            trigger_event(TriggerEvent.TRIGGERED if t.kind == "order" else TriggerEvent.ALERT, t, fired_at)
            for t in fired
        ]
        if not events:
            return
        try:
            self._events.publish(events)
        except GatewayError as exc:  # the orders are queued whatever the bus says; the rows say they fired
            logger.warning("trigger events not published", extra={"error": exc.code, "count": len(events)})
