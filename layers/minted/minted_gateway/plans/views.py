"""What the plan routes answer: the plan, its next run and its newest runs (OpenAPI models and bodies)."""

from typing import Any

from pydantic import BaseModel, Field

from minted_gateway.api.schemas import Number
from minted_gateway.api.views import timestamp
from minted_gateway.plans.calendar import Calendar
from minted_gateway.plans.manage import PlanView
from minted_gateway.plans.plan import Plan, PlanRun, PlansPage


class PlanRunBody(BaseModel):
    period: str = Field(description="YYYY-MM (monthly) or the local run date YYYY-MM-DD (weekly, biweekly)")
    external_id: str = Field(description="the run's order: GET /orders/{external_id}")
    state: str = Field(description="started, succeeded, failed or skipped")
    run_at: str | None = None
    grams: Number | None = None
    total: Number | None = None
    order_codes: list[str] = []
    reason: str | None = Field(default=None, description="a failed or skipped run's code (e.g. limit_exceeded)")
    message: str | None = None


class PlanBody(BaseModel):
    plan_id: str
    customer_external_id: str
    sku: str
    currency: str
    amount: Number | None = None
    grams: Number | None = None
    calendar: Calendar
    status: str = Field(description="active, paused or cancelled")
    next_run_at: str | None = Field(description="UTC; null while paused or cancelled")
    created_at: str
    updated_at: str
    runs: list[PlanRunBody] = Field(description="the newest runs first")


class PlansPageBody(BaseModel):
    plans: list[PlanBody]
    next_cursor: str | None


def run_body(run: PlanRun) -> dict[str, Any]:
    return {"period": run.period, "external_id": run.external_id, "state": run.state, "run_at": timestamp(run.run_at),
            "grams": run.grams, "total": run.total, "order_codes": list(run.order_codes), "reason": run.reason,
            "message": run.message}  # fmt: skip


def plan_body(plan: Plan, runs: list[PlanRun]) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id, "customer_external_id": plan.customer_external_id, "sku": plan.sku,
        "currency": plan.currency, "amount": plan.amount, "grams": plan.grams,
        "calendar": plan.calendar.model_dump(mode="json"), "status": plan.status,
        "next_run_at": timestamp(plan.next_run_at), "created_at": timestamp(plan.created_at),
        "updated_at": timestamp(plan.updated_at), "runs": [run_body(run) for run in runs],
    }  # fmt: skip


def view_body(view: PlanView) -> dict[str, Any]:
    return plan_body(view.plan, view.runs)


def page_body(page: PlansPage) -> dict[str, Any]:
    return {"plans": [plan_body(plan, []) for plan in page.plans], "next_cursor": page.cursor}
