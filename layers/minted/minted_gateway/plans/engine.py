"""The engine that runs plans: a dispatcher that puts each due plan's period on a queue, and the run
of one period, which the queue's consumer calls once per message (and again on every redelivery).

Exactly once per period: a run is an ordinary order under ``plan-<plan_id>-<period>`` through
PlaceOrder's ledger, whose claim lets one attempt buy; the run's grams are fixed by its first attempt,
so every later attempt is the same order (a replay, or a lookup of what Minted holds). A Minted
refusal, a limit or a customer Minted cannot buy for is final for that period (PlanRunFailed); a lost
answer or an unavailable dependency leaves the message to be delivered again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError

from minted_gateway.caller import PARTNER
from minted_gateway.errors import (
    CustomerDetailsRequired,
    GatewayError,
    OrderConflict,
    OrderInProgress,
    QuoteExpired,
    UpstreamRateLimited,
    from_minted,
)
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.customers import Customer
from minted_gateway.orders.get_order import KnownOrders
from minted_gateway.orders.limits import PricedLine, PricedOrder, line_total
from minted_gateway.orders.place_order import OrderOutcome
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.orders.requests import CustomerIn, ItemIn, OrderRequest
from minted_gateway.plans.plan import Plan, PlanEvents, PlanRun, PlanStore, RunQueue, run_external_id
from minted_gateway.prices.quotes import Quote, QuoteRequest

GRAMS_STEP = Decimal("0.001")
DUE_PAGE = 100  # plans read per query
MAX_PAGES = 50  # per tick; what is left is due at the next tick


class QuoteMaker(Protocol):
    def __call__(self, request: QuoteRequest) -> Quote: ...


class OrderPlacer(Protocol):
    def __call__(
        self, request: OrderRequest, *, quote: PricedOrder | None = None, caller: Any = ...
    ) -> OrderOutcome: ...


class CustomerRecords(Protocol):
    def get_customer(self, external_id: str) -> Customer: ...


class RunNotSettled(Exception):
    """The period's order is not settled yet (Minted's answer lost, or a dependency down): deliver again."""


def _parse_time(value: str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class DispatchDuePlans:
    def __init__(self, store: PlanStore, queue: RunQueue, *, zone: str) -> None:
        self._store = store
        self._queue = queue
        self._zone = zone

    def __call__(self, now: datetime) -> dict[str, int]:
        """Queue every period due at ``now`` (the schedule's own time: a late or replayed tick runs the
        periods of its minute). A plan is queued, then moved on: a crash between sends its period twice,
        which its run's external_id makes harmless; the other order could lose a period."""
        dispatched = 0
        for _ in range(MAX_PAGES):
            plans = [p for p in self._store.due(now, DUE_PAGE) if p.next_run_at is not None]
            if not plans:
                break
            self._queue.send([self.message(plan) for plan in plans])
            for plan in plans:
                assert plan.next_run_at is not None  # noqa: S101 - filtered above
                self._store.advance(plan, plan.calendar.next_run(plan.next_run_at, self._zone))
            dispatched += len(plans)
        return {"dispatched": dispatched}

    def message(self, plan: Plan) -> dict[str, Any]:
        assert plan.next_run_at is not None  # noqa: S101 - only due plans are sent
        return {"plan_id": plan.plan_id, "period": plan.calendar.period(plan.next_run_at, self._zone),
                "run_at": plan.next_run_at.astimezone(UTC).isoformat()}  # fmt: skip


class RunMessage(NamedTuple):
    plan_id: str
    period: str
    run_at: datetime

    @classmethod
    def of(cls, body: dict[str, Any]) -> RunMessage:
        return cls(str(body["plan_id"]), str(body["period"]), _parse_time(str(body["run_at"])))


def _transient(exc: GatewayError) -> bool:
    return exc.status >= 500 or isinstance(exc, (OrderInProgress, QuoteExpired, UpstreamRateLimited))


class RunPlan:
    def __init__(self, store: PlanStore, quotes: QuoteMaker, customers: CustomerRecords, place: OrderPlacer,
                 events: PlanEvents, *, orders: KnownOrders, now: Callable[[], datetime]) -> None:  # fmt: skip
        self._store = store
        self._orders = orders
        self._quotes = quotes
        self._customers = customers
        self._place = place
        self._events = events
        self._now = now

    def __call__(self, message: RunMessage) -> PlanRun:
        """Run one period; raises RunNotSettled (or a GatewayError) when the message must come again."""
        run = self._store.run(message.plan_id, message.period)
        plan = self._store.get(message.plan_id)
        if run is not None and run.final:
            return self._announce(run, plan)
        if run is None:
            if plan is None or plan.status != "active":
                reason = "plan_unknown" if plan is None else f"plan_{plan.status}"
                skipped = PlanRun(plan_id=message.plan_id, period=message.period, state="skipped", reason=reason,
                                  external_id=run_external_id(message.plan_id, message.period), run_at=message.run_at,
                                  message=f"The plan was {plan.status if plan else 'not found'} when its run came.",
                                  updated_at=self._now())  # fmt: skip
                # Written only where no run is: another delivery may have started this period since it was
                # read (before the plan was paused or cancelled), and that run is carried through below.
                run = self._store.start_run(skipped)
                if run.final:
                    return self._announce(run, plan)
            else:
                run = self._store.start_run(PlanRun(plan_id=plan.plan_id, period=message.period, state="started",
                                                external_id=plan.run_external_id(message.period),
                                                run_at=message.run_at, updated_at=self._now()))  # fmt: skip
                if run.final:
                    return self._announce(run, plan)
        # A started run is carried through even if the plan was paused or cancelled since: its order
        # may already be at Minted, and only the ledger can say.
        assert plan is not None  # noqa: S101 - plans are never deleted
        # An earlier attempt's order settles from the ledger: a new request (a new quote, Minted's record of
        # the customer read again) could fail, or differ from the one that bought, where nothing went wrong.
        known = self._orders.known(run.external_id)
        if known is not None and known.settles_a_retry:
            return self._settle(run, plan, known, run.grams if run.grams is not None else plan.grams)
        try:
            outcome, grams = self._buy(plan, run)
        except GatewayError as exc:
            if _transient(exc):
                raise
            if isinstance(exc, OrderConflict) and known is not None and known.state is State.UNKNOWN:
                # Asked again differently (the customer changed) while the first answer is lost: that order
                # may still land, so not final until a lookup finds it or its token's lifetime is over.
                raise RunNotSettled(f"{run.external_id} is UNKNOWN and was asked again differently") from None
            return self._finish(run.model_copy(update={"state": "failed", "reason": exc.code, "message": exc.message,
                                                       "updated_at": self._now()}), plan)  # fmt: skip
        return self._settle(run, plan, outcome.record, grams)

    def _settle(self, run: PlanRun, plan: Plan, record: OrderRecord, grams: Decimal | None) -> PlanRun:
        if record.state is State.SUBMITTED:
            return self._finish(run.model_copy(update={"state": "succeeded", "order_codes": list(record.order_codes),
                                                       "total": record.total, "grams": grams,
                                                       "updated_at": self._now()}), plan)  # fmt: skip
        if record.state is State.REJECTED and record.rejection is not None and not record.awaits_new_quote:
            return self._finish(run.model_copy(update={"state": "failed", "reason": record.rejection.code,
                                                       "message": record.rejection.message,
                                                       "updated_at": self._now()}), plan)  # fmt: skip
        if record.state is State.FOREIGN:
            return self._finish(run.model_copy(update={"state": "failed", "reason": "foreign_order",
                                                       "message": "Minted holds a different order under this id.",
                                                       "updated_at": self._now()}), plan)  # fmt: skip
        raise RunNotSettled(f"{run.external_id} is {record.state.value}; its next delivery settles it")

    def _buy(self, plan: Plan, run: PlanRun) -> tuple[OrderOutcome, Decimal]:
        grams = run.grams if run.grams is not None else plan.grams
        quote = self._quotes(QuoteRequest(currency=plan.currency,
                                          items=[ItemIn(sku=plan.sku, amount=grams or Decimal(1))]))  # fmt: skip
        unit = quote.lines[0].unit_price
        if grams is None:  # a money plan's first attempt: what the amount buys at this quote's price
            assert plan.amount is not None  # noqa: S101 - a plan has amount or grams
            grams = (plan.amount / unit).quantize(GRAMS_STEP, ROUND_DOWN)
            if grams <= 0:
                raise _TooSmall(f"{plan.amount} {plan.currency} buys less than {GRAMS_STEP} g of {plan.sku}.")
        fixed = self._store.fix_grams(plan.plan_id, run.period, grams)
        if fixed != grams:  # another attempt fixed them first, at its own price: buy those, at this one
            grams = fixed
        order = OrderRequest(external_id=run.external_id, price_token=quote.price_token, currency=plan.currency,
                             items=[ItemIn(sku=plan.sku, amount=grams)], customer=self._customer(plan))  # fmt: skip
        priced = PricedOrder("buy", plan.currency, [PricedLine(plan.sku, grams, unit)], total=line_total(grams, unit))
        return self._place(order, quote=priced, caller=plan.caller or PARTNER), grams

    def _customer(self, plan: Plan) -> CustomerIn:
        """Minted's own record of the customer, as Buy requires it: read for this run, kept nowhere."""
        try:
            held = self._customers.get_customer(plan.customer_external_id)
        except minted_errors.MintedNotFoundError:
            raise CustomerDetailsRequired("Minted has no customer with this customer_external_id.",
                                          details=[{"field": "customer_external_id",
                                                    "message": "unknown to Minted"}]) from None  # fmt: skip
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        try:
            return CustomerIn.model_validate({
                "external_id": plan.customer_external_id, "identity_number": held.identity_number,
                "firstname": held.firstname, "middlename": held.middlename or None, "lastname": held.lastname,
                "email": held.email, "phone": held.phone, "gender": held.gender if held.gender in ("M", "F") else None,
                "birthdate": held.birthdate})  # fmt: skip
        except ValidationError as exc:
            fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
            raise CustomerDetailsRequired(
                "Minted's record of this customer lacks what a buy needs.",
                details=[
                    {"field": f"customer.{name}", "message": "missing or not valid in Minted's record"}
                    for name in fields
                ],
            ) from None

    def _finish(self, run: PlanRun, plan: Plan | None) -> PlanRun:
        if not self._store.finish_run(run):  # another attempt finished it first: its outcome stands
            stored = self._store.run(run.plan_id, run.period)
            assert stored is not None  # noqa: S101 - it exists once finished
            run = stored
        return self._announce(run, plan)

    def _announce(self, run: PlanRun, plan: Plan | None) -> PlanRun:
        """The run's event, once it is final: published, then marked (a crash between publishes it again,
        under the same event_id, which consumers drop as a duplicate)."""
        if run.published:
            return run
        self._events.publish([run_event(run, plan)])
        published = run.model_copy(update={"published": True})
        self._store.mark_published(run)
        return published


class _TooSmall(GatewayError):
    status, code = 422, "amount_too_small"


EVENT_TYPES = {"succeeded": "PlanRunSucceeded", "failed": "PlanRunFailed", "skipped": "PlanRunSkipped"}


def run_event(run: PlanRun, plan: Plan | None) -> dict[str, Any]:
    """The event for a final run (docs/plan-events.schema.json): ids, metal, money, no personal data."""
    return {
        "event_id": run.external_id,
        "type": EVENT_TYPES[run.state],
        "schema_version": 1,
        "plan_id": run.plan_id,
        "period": run.period,
        "external_id": run.external_id,
        "customer_external_id": plan.customer_external_id if plan else None,
        "sku": plan.sku if plan else None,
        "currency": plan.currency if plan else None,
        "grams": None if run.grams is None else str(run.grams),
        "total": None if run.total is None else str(run.total),
        "order_codes": list(run.order_codes),
        "reason": run.reason,
        "message": run.message,
        "run_at": run.run_at.astimezone(UTC).isoformat() if run.run_at else None,
        "occurred_at": run.updated_at.astimezone(UTC).isoformat(),
    }
