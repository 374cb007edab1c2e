"""The plans' per-container wiring, beside ``runtime`` (whose factories it reuses): built on first use."""
# ruff: noqa: PLC0415 - the imports inside the factories are the point of this module

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minted_gateway import runtime
from minted_gateway.settings import SettingsError, model_from_env

if TYPE_CHECKING:
    from minted_gateway.plans.dynamodb_plans import DynamoDbPlanStore
    from minted_gateway.plans.engine import DispatchDuePlans, RunPlan
    from minted_gateway.plans.manage import Plans


class PlanSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    plans_table: str = Field(min_length=1)
    plans_queue_url: str | None = None  # only the dispatcher sends
    # The partner's time zone: a plan's calendar (09:00 on the 5th) is read on this clock.
    plans_timezone: str = "Europe/Istanbul"

    @field_validator("plans_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone (e.g. Europe/Istanbul)") from None
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PlanSettings:
        return model_from_env(cls, env)


@functools.cache
def plan_settings() -> PlanSettings:
    return PlanSettings.from_env()


@functools.cache
def plan_store() -> DynamoDbPlanStore:
    from minted_gateway.plans.dynamodb_plans import DynamoDbPlanStore

    return DynamoDbPlanStore(runtime.dynamodb(), plan_settings().plans_table)


@functools.cache
def plans() -> Plans:
    from minted_gateway.orders.limits import CurrentPrices
    from minted_gateway.orders.order_book import utcnow
    from minted_gateway.plans.manage import Plans, RunLimits

    limits = RunLimits(runtime.limit_rules(), lambda: CurrentPrices(runtime.get_prices()))
    return Plans(plan_store(), limits, zone=plan_settings().plans_timezone, now=utcnow)


@functools.cache
def dispatch_due_plans() -> DispatchDuePlans:
    from minted_gateway.plans.engine import DispatchDuePlans
    from minted_gateway.plans.sqs_queue import SqsRunQueue

    url = plan_settings().plans_queue_url
    if not url:
        raise SettingsError("invalid environment: PLANS_QUEUE_URL (missing)")
    queue = SqsRunQueue(runtime.aws_client("sqs"), url)
    return DispatchDuePlans(plan_store(), queue, zone=plan_settings().plans_timezone)


@functools.cache
def run_plan() -> RunPlan:
    from minted_gateway.orders.order_book import utcnow
    from minted_gateway.plans.engine import RunPlan

    return RunPlan(plan_store(), runtime.create_quote(), runtime.minted(), runtime.place_order(),
                   runtime.order_events_bus(), orders=runtime.get_order(), now=utcnow)  # fmt: skip


def reset() -> None:
    for cached in (plan_settings, plan_store, plans, dispatch_due_plans, run_plan):
        cached.cache_clear()
