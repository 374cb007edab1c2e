"""The refresh must not slow down with the number of waiting triggers: 10,000 of them beyond the
price cost it no DynamoDB request, and each crossed one costs exactly the write that fires it.

Requests are counted at the DynamoDB client (botocore's before-parameter-build hook, which sees the
table), the refresh's own
thread only (the fired-orders consumer runs beside it in make dev's stack)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from minted_gateway import runtime
from minted_gateway.conditional.dynamodb_triggers import waiting_item
from minted_gateway.conditional.triggers import Trigger, TriggerState
from tests.conditional.conftest import refresh
from tests.stack import Api

WAITING = 10_000


class RefreshRequests:
    """DynamoDB requests made on this thread, by operation and table."""

    def __init__(self) -> None:
        self._thread = threading.get_ident()
        self.calls: Counter[tuple[str, str]] = Counter()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if threading.get_ident() == self._thread:
            self.calls[(model.name, str(params.get("TableName")))] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def counted_refresh() -> RefreshRequests:
    counter = RefreshRequests()
    events = runtime.dynamodb().meta.events
    events.register("before-parameter-build.dynamodb.*", counter)
    try:
        result = refresh()
    finally:
        events.unregister("before-parameter-build.dynamodb.*", counter)
    assert "triggers_error" not in result, result
    return counter


def _trigger(n: int, sku: str, direction: str, price: Decimal, kind: str = "order") -> Trigger:
    return Trigger(trigger_id=f"load-{n}", kind=kind, state=TriggerState.WAITING, sku=sku, currency="TRY",  # type: ignore[arg-type]
                   price_side="buy", direction=direction, trigger_price=price,  # type: ignore[arg-type]
                   expires_at=int(datetime.now(UTC).timestamp()) + 86400, created_at=datetime.now(UTC).isoformat(),
                   side="buy" if kind == "order" else None,
                   amount=Decimal("0.1") if kind == "order" else None)  # fmt: skip


def _put(api: Api, triggers: list[Trigger]) -> None:
    table = api.stack.env["TRIGGERS_TABLE"]
    for start in range(0, len(triggers), 25):
        batch = [{"PutRequest": {"Item": waiting_item(t, t.expires_at)}} for t in triggers[start : start + 25]]
        while batch:
            answer = api.dynamodb.batch_write_item(RequestItems={table: batch})
            batch = answer.get("UnprocessedItems", {}).get(table, [])


@pytest.mark.timeout(600)  # 10,000 items written and read: 30 s here, two minutes on a busy machine
def test_ten_thousand_waiting_triggers_cost_the_refresh_no_request_and_each_crossed_one_costs_one(
    market: Api,
) -> None:
    api = market  # gold's buy price 3045, silver's 35.525, platinum's 1116.50: none of the below crosses
    table = api.stack.env["TRIGGERS_TABLE"]
    refresh()  # warm: the clients, the status names, this minute's history item
    empty = counted_refresh()
    # 3 metals x 2 prices x 2 directions, one query each, and one of the fired index for overdue hand-offs
    assert empty.calls[("Query", table)] == 12 + 1

    waiting = []
    for n in range(WAITING):
        sku = ("GAU", "GAG", "GPT")[n % 3]
        below = {"GAU": Decimal(2000), "GAG": Decimal(20), "GPT": Decimal(800)}[sku] + Decimal(n % 500) / 100
        above = {"GAU": Decimal(4000), "GAG": Decimal(50), "GPT": Decimal(1500)}[sku] + Decimal(n % 500) / 100
        # Half wait for a fall that has not come, half for a rise; a few are alerts.
        waiting.append(_trigger(n, sku, "at_or_below" if n % 2 else "at_or_above", below if n % 2 else above,
                                "alert" if n % 50 == 0 else "order"))  # fmt: skip
    _put(api, waiting)

    loaded = counted_refresh()
    assert loaded.calls == empty.calls, "10,000 waiting triggers changed the refresh's requests"

    crossed = [_trigger(WAITING + n, "GAU", "at_or_below", Decimal(3100) + n) for n in range(3)]
    _put(api, crossed)
    fired = counted_refresh()
    assert fired.total == empty.total + len(crossed)
    assert fired.calls[("UpdateItem", table)] == len(crossed)  # one conditional write fires each
    assert fired.calls[("Query", table)] == empty.calls[("Query", table)]
    for trigger in crossed:
        state = api.get(f"/orders/conditional/{trigger.trigger_id}").json()["state"]
        assert state in ("FIRED", "ORDERED", "FAILED"), state
