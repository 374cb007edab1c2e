"""The price refresh's check: fire the triggers its new prices cross, each once, and hand each on.

Per metal, price side and direction, one query of the price index for the crossed range: the
number of requests does not grow with the triggers waiting beyond the price, only with the
crossed ones (one conditional write each, to fire it). A conditional order is handed to the
fired-orders queue rather than placed here, so a thousand crossings do not slow the refresh; a price
alert's event goes to the bus, tried again at once if refused, and the alert is TRIGGERED only once
the bus took it.

A fired trigger is FIRED until its hand-off is done, and due to be sent again at ``resend_at``: if
the refresh dies after firing it, or the queue or the bus refuses it, a later refresh finds it in the
fired index (one query per refresh, only the overdue ones) and sends it again. A second send is safe:
the fired order is placed once under ``cond-<id>``, and an alert's event has one ``event_id``.
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
    EventDelivery,
    FiredOrders,
    Kind,
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
# Sent again per refresh at most: the rest on the next one.
MAX_RESENT = 100
# Overdue alerts sent again per refresh at most: one PutEvents batch, so that a bus that times out costs a
# refresh one batch's tries, not one per ten alerts (an alert is overdue only when the bus refused it).
MAX_ALERTS_RESENT = 10
# How long a fired one's hand-off may take before a refresh sends it again. An order: a healthy
# consumer places it in seconds, and one that has waited ten minutes already raises FiredOrdersAgeAlarm;
# an alert: its event goes in the refresh that fired it.
RESEND_AFTER: dict[Kind, int] = {"order": 600, "alert": 60}
# An order sent this many times and still FIRED is left to the queue's dead letters and their alarm.
MAX_SENDS = 6


class CheckTriggers:
    def __init__(self, store: TriggerStore, queue: FiredOrders, events: EventDelivery, *,
                 clock: Callable[[], float], max_fired: int = MAX_FIRED_PER_PARTITION) -> None:  # fmt: skip
        self._store = store
        self._queue = queue
        self._events = events
        self._clock = clock
        self._max_fired = max_fired

    def __call__(self, snapshot: PriceSnapshot) -> dict[str, Any]:
        now = int(self._clock())
        fired_at = datetime.fromtimestamp(now, UTC).isoformat()
        fired: list[Trigger] = []
        for price in snapshot.prices:
            if price.sku not in SKUS_FOR_SALE:
                continue
            for side in PRICE_SIDES:
                current = price.buy_price if side == "buy" else price.sell_price
                for direction in DIRECTIONS:
                    key = index_key(snapshot.currency, price.sku, side, direction)
                    for trigger in self._store.crossed(key, direction, current, now, self._max_fired):
                        moved = self._store.fire(trigger, current, fired_at, now, now + RESEND_AFTER[trigger.kind])
                        if moved is not None:  # None: another refresh fired it, or it was cancelled
                            fired.append(moved)
        orders = [t for t in fired if t.kind == "order"]
        unsent = set(self._queue.send([t.trigger_id for t in orders])) if orders else set()
        for trigger in orders:
            if trigger.trigger_id in unsent and self._store.unfire(trigger):
                logger.warning("fired order not queued; it waits for the next refresh",
                               extra={"trigger_id": trigger.trigger_id})  # fmt: skip
        queued = [t for t in orders if t.trigger_id not in unsent]
        self._publish_triggered(queued, fired_at)
        alerts = [t for t in fired if t.kind == "alert"]
        undelivered = self._deliver_alerts(alerts)
        # Last: what crossed now fires first, whatever a slow bus or queue makes of the overdue ones.
        resent = self._send_overdue(now)
        return {"triggers_fired": len(queued) + len(alerts) - undelivered, "orders_queued": len(queued),
                "alerts_triggered": len(alerts) - undelivered, **resent,
                "alerts_undelivered": undelivered + resent["alerts_undelivered"]}  # fmt: skip

    def after_refresh(self, snapshot: PriceSnapshot) -> dict[str, Any]:
        """The refresh's hook: a failure here is logged and left to the next refresh (the triggers still
        wait, or are FIRED and sent again when overdue), never a failed price refresh."""
        try:
            return self(snapshot)
        except GatewayError as exc:
            logger.warning("triggers not checked", extra={"error": exc.code})
            return {"triggers_error": exc.code}

    def _send_overdue(self, now: int) -> dict[str, int]:
        """The fired ones whose hand-off is overdue, each sent again by one refresh (the one whose
        write takes it); an order sent ``MAX_SENDS`` times is left to the dead letters."""
        orders: list[Trigger] = []
        alerts: list[Trigger] = []
        abandoned = 0
        for trigger in self._store.overdue(now, MAX_RESENT):
            if trigger.kind == "alert" and len(alerts) >= MAX_ALERTS_RESENT:
                continue  # still overdue: the next refresh's
            if trigger.kind == "order" and trigger.sends >= MAX_SENDS:
                if self._store.stop_resending(trigger):
                    abandoned += 1
                    logger.error("fired order still not placed after its last send; see its dead letters",
                                 extra={"trigger_id": trigger.trigger_id, "sends": trigger.sends})  # fmt: skip
                continue
            taken = self._store.reclaim(trigger, now + RESEND_AFTER[trigger.kind])
            if taken is not None:
                (orders if taken.kind == "order" else alerts).append(taken)
        unsent = set(self._queue.send([t.trigger_id for t in orders])) if orders else set()
        if unsent:  # still FIRED: sent again when overdue again
            logger.warning("overdue fired orders not queued", extra={"trigger_ids": sorted(unsent)})
        if resent := [t.trigger_id for t in orders if t.trigger_id not in unsent]:
            logger.warning("overdue fired orders queued again", extra={"trigger_ids": resent})
        undelivered = self._deliver_alerts(alerts)
        return {"orders_resent": len(resent), "alerts_redelivered": len(alerts) - undelivered,
                "alerts_undelivered": undelivered, "fired_orders_abandoned": abandoned}  # fmt: skip

    def _deliver_alerts(self, alerts: list[Trigger]) -> int:
        """Each alert's event on the bus, then the alert TRIGGERED; one the bus refused stays FIRED (the
        fired index brings it back). How many stayed."""
        if not alerts:
            return 0
        events = [trigger_event(TriggerEvent.ALERT, t, t.fired_at or "") for t in alerts]
        refused = set(self._events.deliver(events))
        for index, alert in enumerate(alerts):
            if index not in refused:
                self._store.settle(alert, {"state": TriggerState.TRIGGERED.value})
        if refused:
            logger.warning("price alert events refused by the bus; a later refresh sends them again",
                           extra={"trigger_ids": [alerts[i].trigger_id for i in sorted(refused)]})  # fmt: skip
        return len(refused)

    def _publish_triggered(self, orders: list[Trigger], fired_at: str) -> None:
        if not orders:
            return
        try:
            self._events.publish([trigger_event(TriggerEvent.TRIGGERED, t, fired_at) for t in orders])
        except GatewayError as exc:  # the orders are queued whatever the bus says; the rows say they fired
            logger.warning("trigger events not published", extra={"error": exc.code, "count": len(orders)})
