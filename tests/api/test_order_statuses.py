"""Order statuses: Minted's Order Statusses list, refreshed by the price schedule, names a status
that Minted added after the contract's twelve when an order carries only its id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.minted_sandbox import shapes
from local.minted_sandbox import state as sandbox_state
from minted_gateway import runtime
from tests.api.test_invocation import invoke
from tests.stack import Api, load_event, order

NEW_STATUS = "Vaulted"  # id 13: not in contract section 6


@pytest.fixture
def minted_adds_a_status(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sandbox lists a 13th status and answers Get Order with its id only, no name."""
    answer = shapes.get_order_answer

    def id_only(view: dict[str, Any]) -> dict[str, Any]:
        shown = {key: value for key, value in answer(view).items() if key != "status_name"}
        return {**shown, "status_id": len(sandbox_state.STATUS_NAMES)}

    monkeypatch.setattr(shapes, "get_order_answer", id_only)
    sandbox_state.STATUS_NAMES.append(NEW_STATUS)  # the list the sandbox's order-statuses route serves
    runtime.get_order.cache_clear()
    runtime.order_status_names.cache_clear()  # a new container: nothing read yet
    try:
        yield
    finally:
        sandbox_state.STATUS_NAMES.remove(NEW_STATUS)
        runtime.get_order.cache_clear()
        runtime.order_status_names.cache_clear()


@pytest.mark.usefixtures("minted_adds_a_status")
def test_a_status_minted_adds_later_is_named_from_the_refreshed_list(api: Api, order_id: str) -> None:
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    refreshed = invoke("prices", "prices_function", load_event("prices/scheduler_refresh.json"))
    assert refreshed["order_statuses"] == 13
    shown = api.get(f"/orders/{order_id}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["status"] == NEW_STATUS and body["refreshed"] is True and body["stale"] is False
    assert body["orders"][0]["status_id"] == 13


def test_the_schedule_still_refreshes_prices_when_the_status_list_fails(api: Api) -> None:
    api.minted.fault("order_statuses", status=503)
    refreshed = invoke("prices", "prices_function", load_event("prices/scheduler_refresh.json"))
    assert refreshed["stored"] is True and "order_statuses" not in refreshed
