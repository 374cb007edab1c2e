"""A fired trigger's hand-off lost, on make dev's stack: the refresh dies after firing it, or the bus
refuses an alert's event. A later refresh (past the bound, on the check's own clock) sends it again,
and the sandbox still sees one buy, the bus one event.

The refresh is the prices function's check (``CheckTriggers``) built here over the stack's table,
queue and bus, with a fault-injecting queue or bus client and a clock the test moves."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from minted_gateway import runtime
from minted_gateway.conditional.check import RESEND_AFTER, CheckTriggers
from minted_gateway.conditional.sqs_queue import SqsFiredOrders
from minted_gateway.conditional.triggers import order_external_id
from minted_gateway.events.bus import EventBridgeBus
from minted_gateway.prices.get_prices import snapshot_from
from minted_gateway.prices.price_cache import PriceSnapshot
from tests.conditional.conftest import BusEvents, conditional_buy, expires_in, settled
from tests.dynamodb_faults import quote_book_unreadable
from tests.stack import Api
from tests.waiting import wait_until


class Died(Exception):
    """The refresh's process ending where it stands (a timeout, a crash)."""


class DyingQueue:
    """Dies when asked to send: the triggers are FIRED, no message went out."""

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        raise Died


class DyingAfterSendQueue:
    """Sends, then dies before the refresh hears back: the message went out."""

    def __init__(self, queue: SqsFiredOrders) -> None:
        self._queue = queue

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        self._queue.send(trigger_ids)
        raise Died


class CountingQueue:
    def __init__(self, queue: SqsFiredOrders) -> None:
        self._queue = queue
        self.sent: list[str] = []

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        self.sent.extend(trigger_ids)
        return self._queue.send(trigger_ids)


class RefusingEvents:
    """The events client, refusing the first ``refusals`` PutEvents calls (FailedEntryCount, each entry
    an InternalFailure, as EventBridge answers), then passing them on."""

    def __init__(self, client: Any, refusals: int) -> None:
        self._client = client
        self.refusals = refusals

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if self.refusals > 0:
            self.refusals -= 1
            failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "refused by the test"}
            return {"FailedEntryCount": len(Entries), "Entries": [failed for _ in Entries]}
        answer: dict[str, Any] = self._client.put_events(Entries=Entries)
        return answer


def _client(service: str) -> Any:
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-central-1")


def _queue() -> SqsFiredOrders:
    return SqsFiredOrders(_client("sqs"), os.environ["FIRED_ORDERS_QUEUE_URL"])


def _bus(refusals: int = 0) -> EventBridgeBus:
    client = RefusingEvents(_client("events"), refusals)
    return EventBridgeBus(client, os.environ["ORDER_EVENTS_BUS"], pause=lambda _: None)


def _check(queue: Any, at: float, bus: EventBridgeBus | None = None) -> CheckTriggers:
    return CheckTriggers(runtime.trigger_store(), queue, bus or _bus(), clock=lambda: at)


def _prices() -> PriceSnapshot:
    return snapshot_from(runtime.minted().product_prices("TRY"), "TRY", time.time())


def _settled_and_idle(api: Api) -> None:
    source = next(s for s in api.stack.event_sources if s.source.queue == "FiredOrdersQueue")
    wait_until(source.idle, what="the fired-orders queue consumed")
    wait_until(api.minted.idle, what="the sandbox idle")


def test_a_refresh_that_dies_after_firing_an_order_leaves_it_to_a_later_refresh_which_buys_once(
    market: Api,
) -> None:
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-lost")).status_code == 201
    api.minted.market(GAU=2700)  # buy price 2740.50: crossed
    fired_at = time.time()
    with pytest.raises(Died):
        _check(DyingQueue(), fired_at)(_prices())
    assert api.get("/orders/conditional/target-lost").json()["state"] == "FIRED"

    queue = CountingQueue(_queue())
    early = _check(queue, fired_at + RESEND_AFTER["order"] - 1)(_prices())
    assert early["orders_resent"] == 0 and queue.sent == []  # within the bound: its hand-off may be on its way
    _settled_and_idle(api)
    assert api.minted.orders_created("buy") == 0

    late = fired_at + RESEND_AFTER["order"]
    (seen,) = runtime.trigger_store().overdue(int(late), 10)  # as a second refresh at that moment reads it
    assert _check(queue, late)(_prices())["orders_resent"] == 1
    assert runtime.trigger_store().reclaim(seen, int(late) + 1) is None  # that refresh cannot take it again
    assert _check(queue, late)(_prices())["orders_resent"] == 0  # taken by the one before: sent once
    assert settled(api, "/orders/conditional/target-lost")["state"] == "ORDERED"
    _settled_and_idle(api)
    assert queue.sent == ["target-lost"]
    assert api.minted.orders_created("buy") == 1

    assert _check(queue, late + 10 * RESEND_AFTER["order"])(_prices())["orders_resent"] == 0  # settled: gone
    assert queue.sent == ["target-lost"] and api.minted.orders_created("buy") == 1


def test_an_order_whose_message_went_out_before_the_refresh_died_buys_once(market: Api) -> None:
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-sent")).status_code == 201
    api.minted.market(GAU=2700)
    fired_at = time.time()
    with pytest.raises(Died):
        _check(DyingAfterSendQueue(_queue()), fired_at)(_prices())
    # Past the bound, whether the consumer has settled it yet or not: at most one more message, one buy.
    queue = CountingQueue(_queue())
    _check(queue, fired_at + RESEND_AFTER["order"])(_prices())
    assert settled(api, "/orders/conditional/target-sent")["state"] == "ORDERED"
    _settled_and_idle(api)
    assert api.minted.orders_created("buy") == 1
    _check(queue, fired_at + 2 * RESEND_AFTER["order"])(_prices())
    _settled_and_idle(api)
    assert len(queue.sent) <= 1 and api.minted.orders_created("buy") == 1


def _alert(api: Api, external_id: str) -> None:
    alert = {"external_id": external_id, "sku": "GAU", "price_side": "sell", "direction": "at_or_above",
             "trigger_price": Decimal(3100), "expires_at": expires_in(3600)}  # fmt: skip
    assert api.post("/alerts", alert).status_code == 201
    api.minted.market(GAU=3200)  # sell price 3152: crossed


def _one_event(events: BusEvents, external_id: str) -> dict[str, Any]:
    wait_until(lambda: events.read() != [], what="the alert's event")
    (event,) = events.read()
    assert event["id"] == external_id and event["price"] == "3152.00"
    return event


def test_a_price_alert_the_bus_refuses_once_is_tried_again_and_arrives_once(market: Api) -> None:
    api = market
    events = BusEvents(api.stack, "PriceAlertTriggered")
    _alert(api, "alert-refused-once")
    bus = _bus(refusals=1)
    now = time.time()
    result = _check(_queue(), now, bus)(_prices())
    assert result["alerts_triggered"] == 1 and result["alerts_undelivered"] == 0
    assert api.get("/alerts/alert-refused-once").json()["state"] == "TRIGGERED"
    _one_event(events, "alert-refused-once")
    again = _check(_queue(), now + 10 * RESEND_AFTER["alert"])(_prices())
    assert again["alerts_redelivered"] == 0
    assert len(events.read()) == 1


def test_a_price_alert_the_bus_keeps_refusing_stays_fired_until_a_later_refresh_delivers_it(market: Api) -> None:
    api = market
    events = BusEvents(api.stack, "PriceAlertTriggered")
    _alert(api, "alert-refused")
    refusing = _bus(refusals=1000)
    fired_at = time.time()
    result = _check(_queue(), fired_at, refusing)(_prices())
    assert result["alerts_triggered"] == 0 and result["alerts_undelivered"] == 1
    shown = api.get("/alerts/alert-refused").json()
    assert shown["state"] == "FIRED"  # not TRIGGERED: the bus never took its event
    assert Decimal(str(shown["fired_price"])) == Decimal("3152.00")
    api.minted.market(GAU=3000)  # the price falls back: the alert crossed, and is still owed its event

    assert _check(_queue(), fired_at + RESEND_AFTER["alert"] - 1, _bus())(_prices())["alerts_redelivered"] == 0
    assert events.read() == []
    refused_again = _check(_queue(), fired_at + RESEND_AFTER["alert"], refusing)(_prices())
    assert refused_again["alerts_undelivered"] == 1 and events.read() == []
    delivered = _check(_queue(), fired_at + 2 * RESEND_AFTER["alert"], _bus())(_prices())
    assert delivered["alerts_redelivered"] == 1 and delivered["alerts_undelivered"] == 0
    assert api.get("/alerts/alert-refused").json()["state"] == "TRIGGERED"
    event = _one_event(events, "alert-refused")
    # When it crossed, not when the bus took it (the answer writes it to the millisecond, as every API time).
    assert datetime.fromisoformat(event["occurred_at"]) == datetime.fromisoformat(shown["fired_at"])
    assert _check(_queue(), fired_at + 10 * RESEND_AFTER["alert"], _bus())(_prices())["alerts_redelivered"] == 0
    assert len(events.read()) == 1


def test_a_fired_order_whose_quote_cannot_be_checked_releases_its_claim_and_buys_once_when_it_comes_again(
    market: Api,
) -> None:
    """The fired-orders consumer's claim is released when the quote book cannot be read (nothing was
    sent); the message's next delivery places the order once."""
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-unchecked")).status_code == 201
    api.minted.market(GAU=2700)  # crossed
    source = next(s for s in api.stack.event_sources if s.source.queue == "FiredOrdersQueue")
    with quote_book_unreadable() as refused:
        assert _check(_queue(), time.time())(_prices())["orders_queued"] == 1
        wait_until(lambda: refused[0] > 0 and source.running == 0, what="the fired order's first delivery")
        assert api.ledger_item(order_external_id("target-unchecked")) is None  # released: nothing was sent
        assert api.minted.orders_created("buy") == 0
    assert settled(api, "/orders/conditional/target-unchecked")["state"] == "ORDERED"
    _settled_and_idle(api)
    assert api.minted.orders_created("buy") == 1
    row = api.ledger_item(order_external_id("target-unchecked"))
    assert row is not None and row["state"] == "SUBMITTED"
