"""A plan as the plans table keeps it, a run of one period, and the ports the plan use cases need."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from minted_gateway.caller import Caller
from minted_gateway.plans.calendar import Calendar
from minted_gateway.plans.requests import PlanStatus
from minted_gateway.validation import PLAN_RUN_PREFIX

RunState = Literal["started", "succeeded", "failed", "skipped"]
FINAL_RUN_STATES = ("succeeded", "failed", "skipped")


def run_external_id(plan_id: str, period: str) -> str:
    """The order id of a plan's run for ``period``: the same for every attempt at that period."""
    return f"{PLAN_RUN_PREFIX}{plan_id}-{period}"


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan_id: str
    customer_external_id: str
    sku: str
    currency: str
    amount: Decimal | None = None  # money each run, or
    grams: Decimal | None = None  # grams each run
    calendar: Calendar
    status: PlanStatus = "active"
    next_run_at: datetime | None = None  # None unless active
    created_at: datetime
    updated_at: datetime
    version: int = 1
    caller: Caller | None = None  # who made it (identifiers only): each run's order records them

    def run_external_id(self, period: str) -> str:
        return run_external_id(self.plan_id, period)

    def same_request(self, other: "Plan") -> bool:
        keys = ("customer_external_id", "sku", "currency", "amount", "grams", "calendar")
        return all(getattr(self, key) == getattr(other, key) for key in keys)


class PlanRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan_id: str
    period: str
    external_id: str
    state: RunState
    run_at: datetime | None = None
    grams: Decimal | None = None  # fixed by the first attempt, so every attempt is the same order
    reason: str | None = None  # a failed or skipped run's code
    message: str | None = None
    order_codes: list[str] = []
    total: Decimal | None = None
    updated_at: datetime
    published: bool = False  # its event is on the bus

    @property
    def final(self) -> bool:
        return self.state in FINAL_RUN_STATES


class PlansPage(NamedTuple):
    plans: list[Plan]
    cursor: str | None


class PlanStore(Protocol):
    """The plans table: plans (by id, by customer, by due time) and each plan's runs."""

    def create(self, plan: Plan) -> Plan | None:
        """Write ``plan`` unless its id exists; the stored plan when it does."""

    def get(self, plan_id: str) -> Plan | None: ...

    def replace(self, plan: Plan, expected_version: int) -> bool:
        """Write ``plan`` if the stored one still has ``expected_version``."""

    def by_customer(self, customer_external_id: str, limit: int, cursor: str | None) -> PlansPage: ...

    def due(self, now: datetime, limit: int) -> list[Plan]:
        """Active plans whose next run is at or before ``now``, earliest first (an index read, never a scan)."""

    def advance(self, plan: Plan, next_run_at: datetime) -> bool:
        """Move a plan's next run on, if no one else moved it since ``plan`` was read."""

    def runs(self, plan_id: str, limit: int) -> list[PlanRun]:
        """The newest runs first."""

    def run(self, plan_id: str, period: str) -> PlanRun | None: ...

    def start_run(self, run: PlanRun) -> PlanRun:
        """Write ``run`` unless one exists for its period; the stored run either way."""

    def fix_grams(self, plan_id: str, period: str, grams: Decimal) -> Decimal:
        """Set the run's grams unless set; the grams the run has."""

    def finish_run(self, run: PlanRun) -> bool:
        """Write a final state unless the run is already final."""

    def mark_published(self, run: PlanRun) -> None: ...


class RunQueue(Protocol):
    def send(self, messages: Sequence[dict[str, Any]]) -> None: ...


class PlanEvents(Protocol):
    def publish(self, events: Sequence[dict[str, Any]]) -> None: ...
