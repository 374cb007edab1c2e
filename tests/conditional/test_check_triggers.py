"""The refresh's check with fakes behind its ports: what happens when the queue refuses a fired order, when
one is sent again, and how the bus tries a refused event again."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from minted_gateway.conditional.check import MAX_ALERTS_RESENT, MAX_SENDS, RESEND_AFTER, CheckTriggers
from minted_gateway.conditional.triggers import Direction, Trigger, TriggerState
from minted_gateway.events.bus import EventBridgeBus
from minted_gateway.prices.price_cache import PriceSnapshot, SkuPrice

NOW = 1_800_000_000.0


class FakeStore:
    def __init__(self, *triggers: Trigger) -> None:
        self.rows = {t.trigger_id: t for t in triggers}

    def crossed(self, key: str, direction: Direction, price: Decimal, now: int, limit: int) -> list[Trigger]:
        return [t for t in self.rows.values() if t.state is TriggerState.WAITING and t.index_key == key
                and t.crossed_by(price) and t.expires_at > now][:limit]  # fmt: skip

    def fire(self, trigger: Trigger, price: Decimal, fired_at: str, now: int, resend_at: int) -> Trigger | None:
        if self.rows[trigger.trigger_id].state is not TriggerState.WAITING:
            return None
        self.rows[trigger.trigger_id] = trigger.model_copy(update={"state": TriggerState.FIRED, "fired_price": price,
                                                                   "fired_at": fired_at, "resend_at": resend_at,
                                                                   "sends": 1})  # fmt: skip
        return self.rows[trigger.trigger_id]

    def unfire(self, trigger: Trigger) -> bool:
        self.rows[trigger.trigger_id] = trigger.model_copy(update={"state": TriggerState.WAITING, "resend_at": None})
        return True

    def settle(self, trigger: Trigger, changes: Mapping[str, Any]) -> Trigger | None:
        if self.rows[trigger.trigger_id].state is not TriggerState.FIRED:
            return None
        self.rows[trigger.trigger_id] = trigger.model_copy(update={**changes, "resend_at": None})
        return self.rows[trigger.trigger_id]

    def overdue(self, now: int, limit: int) -> list[Trigger]:
        due = [t for t in self.rows.values() if t.resend_at is not None and t.resend_at <= now]
        return sorted(due, key=lambda t: t.resend_at or 0)[:limit]

    def reclaim(self, trigger: Trigger, resend_at: int) -> Trigger | None:
        held = self.rows[trigger.trigger_id]
        if held.state is not TriggerState.FIRED or held.resend_at != trigger.resend_at:
            return None
        self.rows[trigger.trigger_id] = held.model_copy(update={"resend_at": resend_at, "sends": held.sends + 1})
        return self.rows[trigger.trigger_id]

    def stop_resending(self, trigger: Trigger) -> bool:
        self.rows[trigger.trigger_id] = trigger.model_copy(update={"resend_at": None})
        return True


class RefusingQueue:
    def __init__(self) -> None:
        self.refused: list[str] = []

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        self.refused.extend(trigger_ids)
        return list(trigger_ids)


class SendingQueue:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        self.sent.extend(trigger_ids)
        return []


class Bus:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.events.extend(events)

    def deliver(self, events: Sequence[Mapping[str, Any]]) -> list[int]:
        self.events.extend(events)
        return []


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
    queue = SendingQueue()
    check = CheckTriggers(store, queue, bus, clock=lambda: NOW)  # type: ignore[arg-type]
    assert check(_snapshot("2790"))["orders_queued"] == 1
    assert check(_snapshot("2780"))["orders_queued"] == 0
    assert queue.sent == ["t-2"] and [e["type"] for e in bus.events] == ["ConditionalOrderTriggered"]


def _fired_order(trigger_id: str, sends: int) -> Trigger:
    return _order(trigger_id).model_copy(update={"state": TriggerState.FIRED, "resend_at": int(NOW) - 1,
                                                 "sends": sends, "fired_at": "2027-01-15T08:00:00+00:00"})  # fmt: skip


def test_an_overdue_fired_order_is_sent_again_until_its_last_send_then_left_to_the_dead_letters() -> None:
    store, bus = FakeStore(_fired_order("t-3", sends=MAX_SENDS - 1)), Bus()
    queue = RefusingQueue()
    result = CheckTriggers(store, queue, bus, clock=lambda: NOW)(_snapshot("3000"))  # type: ignore[arg-type]
    assert queue.refused == ["t-3"] and result["orders_resent"] == 0  # refused: still FIRED, due again later
    assert store.rows["t-3"].sends == MAX_SENDS and store.rows["t-3"].resend_at == int(NOW) + RESEND_AFTER["order"]
    later = NOW + RESEND_AFTER["order"]
    result = CheckTriggers(store, queue, bus, clock=lambda: later)(_snapshot("3000"))  # type: ignore[arg-type]
    assert result["fired_orders_abandoned"] == 1 and queue.refused == ["t-3"]  # not sent a seventh time
    assert store.rows["t-3"].state is TriggerState.FIRED and store.rows["t-3"].resend_at is None


class _PutEvents:
    """PutEvents refusing what ``refuse`` says, per call: "all" (an exception), or entry indexes."""

    def __init__(self, *refuse: str | set[int]) -> None:
        self._refuse = list(refuse)
        self.calls: list[list[str]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append([json.loads(e["Detail"])["id"] for e in Entries])
        refuse = self._refuse.pop(0) if self._refuse else set()
        if refuse == "all":
            raise ClientError({"Error": {"Code": "InternalException", "Message": "down"}}, "PutEvents")
        results = [
            {"ErrorCode": "ThrottlingException"} if i in refuse else {"EventId": "e"} for i in range(len(Entries))
        ]
        return {"FailedEntryCount": len(refuse), "Entries": results}


def test_the_bus_tries_again_only_the_refused_events_and_names_those_it_never_took() -> None:
    events = [{"type": "PriceAlertTriggered", "id": f"a-{n}"} for n in range(3)]
    client = _PutEvents("all", {1})
    assert EventBridgeBus(client, "bus", pause=lambda _: None).deliver(events) == []
    assert client.calls == [["a-0", "a-1", "a-2"], ["a-0", "a-1", "a-2"], ["a-1"]]
    client = _PutEvents({0, 2}, {1}, "all")
    assert EventBridgeBus(client, "bus", pause=lambda _: None).deliver(events) == [2]
    assert client.calls == [["a-0", "a-1", "a-2"], ["a-0", "a-2"], ["a-2"]]


def _fired_alert(trigger_id: str) -> Trigger:
    return _fired_order(trigger_id, sends=1).model_copy(update={"kind": "alert", "side": None, "amount": None})


class Killed(BaseException):
    """The refresh's Lambda times out (a bus whose calls hang): nothing after this runs."""


class HangingBus(Bus):
    def deliver(self, events: Sequence[Mapping[str, Any]]) -> list[int]:
        raise Killed


def test_what_crosses_now_fires_before_a_hanging_bus_holds_up_the_overdue_alerts() -> None:
    """A bus that hangs on the alerts it refused before must not keep new crossings from firing: the
    order crossed by this refresh is fired and queued before the overdue alerts are tried again."""
    store, bus = FakeStore(_fired_alert("a-1"), _order("t-4")), HangingBus()
    queue = SendingQueue()
    with pytest.raises(Killed):
        CheckTriggers(store, queue, bus, clock=lambda: NOW)(_snapshot("2790"))  # type: ignore[arg-type]
    assert queue.sent == ["t-4"] and store.rows["t-4"].state is TriggerState.FIRED
    assert store.rows["a-1"].state is TriggerState.FIRED, "the alert is still to be delivered"


def test_a_refresh_tries_one_bus_batch_of_overdue_alerts_and_leaves_the_rest_to_the_next() -> None:
    store, bus = FakeStore(*(_fired_alert(f"a-{n:02d}") for n in range(25))), Bus()
    result = CheckTriggers(store, RefusingQueue(), bus, clock=lambda: NOW)(_snapshot("3000"))  # type: ignore[arg-type]
    assert result["alerts_redelivered"] == MAX_ALERTS_RESENT == len(bus.events) == 10
    assert sum(row.state is TriggerState.FIRED for row in store.rows.values()) == 15  # the next refreshes'
    later = CheckTriggers(store, RefusingQueue(), bus, clock=lambda: NOW + 1)  # type: ignore[arg-type]
    assert later(_snapshot("3000"))["alerts_redelivered"] == 10 and later(_snapshot("3000"))["alerts_redelivered"] == 5
    assert sorted(e["id"] for e in bus.events) == [f"a-{n:02d}" for n in range(25)]  # each once
