"""Each final run is one event on the bus (schema docs/plan-events.schema.json): a refusal is final for
its period (PlanRunFailed with the reason), a paused plan's run is skipped (PlanRunSkipped), and a
message delivered again after the run ended publishes nothing more."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from minted_gateway.plans import wiring
from minted_gateway.plans.engine import RunMessage
from tests.plans.helpers import drained, register, tick
from tests.stack import Api

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "plan-events.schema.json").read_text())


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        self.events.extend(events)


@pytest.fixture
def published(api: Api) -> Iterator[Recorder]:
    run_plan = wiring.run_plan()
    recorder, bus = Recorder(), run_plan._events
    run_plan._events = recorder
    try:
        yield recorder
    finally:
        run_plan._events = bus


def _plan(plan_id: str, customer: str) -> dict[str, Any]:
    return {"plan_id": plan_id, "customer_external_id": customer, "sku": "GAU", "grams": 1, "currency": "TRY",
            "calendar": {"frequency": "weekly", "weekday": "wednesday"}}  # fmt: skip


def _period(api: Api, plan_id: str) -> str:
    (run,) = api.get(f"/plans/{plan_id}").json()["runs"]
    return str(run["period"])


def _due(api: Api, plan_id: str) -> datetime:
    return datetime.fromisoformat(api.get(f"/plans/{plan_id}").json()["next_run_at"].replace("Z", "+00:00"))


def test_outcomes_are_final_for_their_period_and_each_is_one_event(api: Api, published: Recorder) -> None:
    register(api, "cust-events")
    assert api.post("/plans", _plan("ev-ok", "cust-events")).status_code == 201
    assert api.post("/plans", _plan("ev-unknown", "cust-not-at-minted")).status_code == 201
    assert api.post("/plans", _plan("ev-paused", "cust-events")).status_code == 201
    due = _due(api, "ev-ok")
    assert api.http.patch(api.url + "/plans/ev-paused", json={"paused": True}, timeout=30).status_code == 200
    tick(api.stack, due)
    drained(api.stack, api)
    # A period queued before its plan was paused, run after: skipped (the dispatcher no longer sends it).
    period = wiring.run_plan()(RunMessage("ev-ok", _period(api, "ev-ok"), due)).period
    assert wiring.run_plan()(RunMessage("ev-paused", period, due)).state == "skipped"
    mine = {e["plan_id"]: e for e in published.events if e["plan_id"].startswith("ev-")}
    for event in mine.values():
        jsonschema.validate(event, SCHEMA)
    assert mine["ev-ok"]["type"] == "PlanRunSucceeded" and mine["ev-ok"]["order_codes"] and mine["ev-ok"]["total"]
    assert mine["ev-unknown"]["type"] == "PlanRunFailed"
    assert mine["ev-unknown"]["reason"] == "customer_details_required"
    assert mine["ev-paused"]["type"] == "PlanRunSkipped" and mine["ev-paused"]["reason"] == "plan_paused"
    text = json.dumps(list(mine.values()))
    assert "Yılmaz" not in text and "ayse" not in text.lower()  # no personal data in an event

    # The same period again (a redelivery after the run ended): nothing bought, nothing published.
    buys, count = api.minted.orders_created(), len(published.events)
    period = mine["ev-ok"]["period"]
    for plan_id in ("ev-ok", "ev-unknown", "ev-paused"):
        run = wiring.run_plan()(RunMessage(plan_id, period, due))
        assert run.final
    assert api.minted.orders_created() == buys and len(published.events) == count
    states = {r["state"] for r in api.get("/plans/ev-unknown").json()["runs"]}
    assert states == {"failed"}
