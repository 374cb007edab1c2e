"""The plan use cases behind the API: create, read, list by customer, change (amount, calendar, pause,
resume) and cancel. A customer-bound token manages only its own customer's plans; another customer's
plan answers as if it did not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import GatewayError, LimitExceeded, NotFound
from minted_gateway.orders.limits import LimitRules, PricedLine, PricedOrder, Valuer, check_order, own_field
from minted_gateway.plans.plan import Plan, PlanRun, PlansPage, PlanStore
from minted_gateway.plans.requests import NewPlan, PlanChanges

GRAMS_STEP = Decimal("0.001")
RUNS_SHOWN = 24  # a plan's answer shows its newest runs (two years of a monthly plan)


class PlanConflict(GatewayError):
    """This plan_id names another plan, or the plan is cancelled (a cancelled plan stays cancelled)."""

    status, code = 409, "plan_conflict"


class PlanView(NamedTuple):
    plan: Plan
    runs: list[PlanRun]
    replayed: bool = False


class RunLimits:
    """A plan whose single run would pass the per-order limits cannot be made (or changed to one)."""

    def __init__(self, rules: LimitRules, valuer: Callable[[], Valuer | None]) -> None:
        self._rules = rules
        self._valuer = valuer

    def check(self, sku: str, currency: str, amount: Decimal | None, grams: Decimal | None) -> None:
        rules = self._rules
        needs_grams = sku in rules.limit_order_grams
        if not (rules.values_money or needs_grams):
            return
        if grams is not None:
            order = PricedOrder("buy", currency, [PricedLine(sku, grams)])
            if rules.values_money and currency == rules.limit_currency.value:
                order = self._value(order)
        else:
            assert amount is not None  # noqa: S101 - a plan has one of them
            lines = [PricedLine(sku, Decimal(0))]
            if needs_grams:  # what the money buys at today's price, for the grams limit
                unit = self._value(PricedOrder("buy", currency, [PricedLine(sku, Decimal(1))])).lines[0].unit_price
                lines = [PricedLine(sku, (amount / unit).quantize(GRAMS_STEP, ROUND_DOWN) if unit else Decimal(0))]
            order = PricedOrder("buy", currency, lines, total=amount)
        try:
            check_order(order, rules=rules)
        except LimitExceeded as exc:
            details = own_field(exc.details, "grams" if grams is not None else "amount")
            raise LimitExceeded(f"One run of this plan would pass a per-order limit: {exc.message}",
                                details=details) from None  # fmt: skip

    def _value(self, order: PricedOrder) -> PricedOrder:
        valuer = self._valuer()
        return valuer(order) if valuer is not None else order


class Plans:
    """One object for the five plan operations: they share the store, the clock and the rules."""

    def __init__(self, store: PlanStore, limits: RunLimits, *, zone: str, now: Callable[[], datetime]) -> None:
        self._store = store
        self._limits = limits
        self._zone = zone
        self._now = now

    def create(self, request: NewPlan, caller: Caller = PARTNER) -> PlanView:
        caller.act_for(request.customer_external_id)
        self._limits.check(request.sku, request.currency.value, request.amount, request.grams)
        now = self._now()
        calendar = request.calendar.starting(now.astimezone(_zone(self._zone)).date())
        plan = Plan(plan_id=request.plan_id, customer_external_id=request.customer_external_id, sku=request.sku,
                    currency=request.currency.value, amount=request.amount, grams=request.grams, calendar=calendar,
                    next_run_at=calendar.next_run(now, self._zone), created_at=now, updated_at=now,
                    caller=caller.recorded())  # fmt: skip
        stored = self._store.create(plan)
        if stored is None:
            return PlanView(plan, [])
        # The same request again (a retried POST) is the same plan; starts_on left out means "when made".
        asked = plan.model_copy(update={"calendar": request.calendar.starting(stored.calendar.starts_on or now.date())})
        if not caller.may_see(stored.customer_external_id) or not stored.same_request(asked):
            # Another customer's plan is "a different plan" too: taken, as a taken order id is (docs/auth.md),
            # never a 404 for a POST, nor anything of whose it is.
            raise PlanConflict("This plan_id already names a different plan.")
        return PlanView(stored, self._store.runs(stored.plan_id, RUNS_SHOWN), replayed=True)

    def get(self, plan_id: str, caller: Caller = PARTNER) -> PlanView:
        plan = self._visible(plan_id, caller)
        return PlanView(plan, self._store.runs(plan_id, RUNS_SHOWN))

    def list(self, customer_external_id: str | None, limit: int, cursor: str | None,
             caller: Caller = PARTNER) -> PlansPage:  # fmt: skip
        customer = customer_external_id or caller.customer
        if customer is None:
            from minted_gateway.errors import InvalidInput  # noqa: PLC0415

            raise InvalidInput("Name the customer whose plans to list.",
                               details=[{"field": "customer_external_id", "message": "required"}])  # fmt: skip
        caller.act_for(customer)
        return self._store.by_customer(customer, limit, cursor)

    def change(self, plan_id: str, changes: PlanChanges, caller: Caller = PARTNER) -> PlanView:
        plan = self._visible(plan_id, caller)
        if plan.status == "cancelled":
            raise PlanConflict("This plan is cancelled; make a new one.")
        now = self._now()
        update: dict[str, Any] = {"updated_at": now, "version": plan.version + 1}
        if changes.amount is not None or changes.grams is not None:
            update.update(amount=changes.amount, grams=changes.grams)
            self._limits.check(plan.sku, plan.currency, changes.amount, changes.grams)
        if changes.calendar is not None:
            update["calendar"] = changes.calendar.starting(now.astimezone(_zone(self._zone)).date())
        if changes.paused is not None:
            update["status"] = "paused" if changes.paused else "active"
        changed = plan.model_copy(update=update)
        if changed.status == "active" and (plan.status != "active" or changes.calendar is not None):
            changed = changed.model_copy(update={"next_run_at": changed.calendar.next_run(now, self._zone)})
        elif changed.status != "active":
            changed = changed.model_copy(update={"next_run_at": None})
        else:  # the dispatcher may have moved it on since it was read: keep what it wrote
            changed = changed.model_copy(update={"next_run_at": plan.next_run_at})
        if not self._store.replace(changed, plan.version):
            return self.change(plan_id, changes, caller)  # changed meanwhile (a dispatch): read it again
        return PlanView(changed, self._store.runs(plan_id, RUNS_SHOWN))

    def cancel(self, plan_id: str, caller: Caller = PARTNER) -> PlanView:
        plan = self._visible(plan_id, caller)
        if plan.status != "cancelled":
            cancelled = plan.model_copy(update={"status": "cancelled", "next_run_at": None,
                                                "updated_at": self._now(), "version": plan.version + 1})  # fmt: skip
            if not self._store.replace(cancelled, plan.version):
                return self.cancel(plan_id, caller)
            plan = cancelled
        return PlanView(plan, self._store.runs(plan_id, RUNS_SHOWN))

    def _visible(self, plan_id: str, caller: Caller) -> Plan:
        plan = self._store.get(plan_id)
        if plan is None or not caller.may_see(plan.customer_external_id):
            raise NotFound("No plan has this plan_id.")
        return plan


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    return ZoneInfo(name)
