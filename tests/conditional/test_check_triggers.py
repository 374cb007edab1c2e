"""The refresh's check with fakes behind its ports: what happens when the queue refuses a fired order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from minted_gateway.conditional.check import CheckTriggers
from minted_gateway.conditional.triggers import Direction, Trigger, TriggerState
from minted_gateway.prices.price_cache import PriceSnapshot, SkuPrice

NOW = 1_800_000_000.0


class FakeStore:
    def __init__(self, *triggers: Trigger) -> None:
        self.rows = {t.trigger_id: t for t in triggers}

    def crossed(self, key: str, direction: Direction, price: Decimal, now: int, limit: int) -> list[Trigger]:
        return [t for t in self.rows.values() if t.state is TriggerState.WAITING and t.index_key == key
                and t.crossed_by(price) and t.expires_at > now][:limit]  # fmt: skip

    def fire(self, trigger: Trigger, price: Decimal, fired_at: str, now: int, final: TriggerState) -> Trigger | None:
        if self.rows[trigger.trigger_id].state is not TriggerState.WAITING:
            return None
        self.rows[trigger.trigger_id] = trigger.model_copy(update={"state": final, "fired_price": price})
        return self.rows[trigger.trigger_id]

    def unfire(self, trigger: Trigger) -> bool:
        self.rows[trigger.trigger_id] = trigger.model_copy(update={"state": TriggerState.WAITING})
        return True


class RefusingQueue:
    def __init__(self) -> None:
        self.refused: list[str] = []

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        self.refused.extend(trigger_ids)
        return list(trigger_ids)


class Bus:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.events.extend(events)


def _order(trigger_id: str) -> Trigger:
    return Trigger(trigger_id=trigger_id, kind="order", state=TriggerState.WAITING, sku="GAU", currency="TRY",
                   price_side="buy", direction="at_or_below", trigger_price=Decimal(2800), expires_at=int(NOW) + 60,
                   created_at=datetime.now(UTC).isoformat(), side="buy", amount=Decimal("1.5"))  # fmt: skip


def _snapshot(buy: str) -> PriceSnapshot:
    price = SkuPrice(sku="GAU", product_id=3000001, buy_price=Decimal(buy), sell_price=Decimal(buy) - 50,
                     spot_price=Decimal(buy) - 25)  # fmt: skip
    return PriceSnapshot(currency="TRY", as_of=datetime.now(UTC), fetched_at=Decimal(NOW), prices=[price])


def test_a_fired_order_the_queue_refuses_waits_again_for_the_next_refresh_and_publishes_nothing() -> None:
    store, queue, bus = FakeStore(_order("t-1")), RefusingQueue(), Bus()
    check = CheckTriggers(store, queue, bus, clock=lambda: NOW)  # type: ignore[arg-type]
    result = check(_snapshot("2790"))
    assert queue.refused == ["t-1"] and result["orders_queued"] == 0 and result["triggers_fired"] == 0
    assert store.rows["t-1"].state is TriggerState.WAITING  # the next refresh fires it again
    assert bus.events == []


def test_a_trigger_fires_once_whatever_two_refreshes_see() -> None:
    store, bus = FakeStore(_order("t-2")), Bus()

    class Queue:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, trigger_ids: Sequence[str]) -> list[str]:
            self.sent.extend(trigger_ids)
            return []

    queue = Queue()
    check = CheckTriggers(store, queue, bus, clock=lambda: NOW)  # type: ignore[arg-type]
    assert check(_snapshot("2790"))["orders_queued"] == 1
    assert check(_snapshot("2780"))["orders_queued"] == 0
    assert queue.sent == ["t-2"] and [e["type"] for e in bus.events] == ["ConditionalOrderTriggered"]
