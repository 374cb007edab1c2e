"""Limits on what can be bought and sold: the partner's business rules, not Minted's (each off until set).

- the most grams of one sku in one order, and the most money in one order;
- the most money a customer, and the whole partner, may move in a calendar day (in a timezone).

One check (``check_order``) holds every rule an order's priced lines must meet: these per-order
limits and the buy workflow's price guard, so the API buy, the workflow's quote step and its buy
step refuse for the same reasons. The daily totals are counters in a table of their own, each
reservation a conditional write (customer and partner counters in one transaction) so concurrent
orders cannot pass a limit together. What an order reserved is a hold item beside the counters
(``hold_key``), owned by the order's latest attempt and given back exactly once when the ledger row
turns NOT_PLACED or REJECTED (``give_back_if_refused``): the ledger's own transition does it,
whoever writes it (a retry, a GET, the reconciler).
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minted_gateway import jsonutil
from minted_gateway.errors import GatewayError, LimitExceeded, PriceGuardExceeded
from minted_gateway.minted.models import Currency
from minted_gateway.orders.record import OrderRecord, State
from minted_gateway.settings import _from_env
from minted_gateway.validation import Money

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# A refused or not-placed order gives back what it reserved, and so does one under which Minted holds a
# stranger's order (FOREIGN: its external_id is unique there, so nothing of ours was bought); any other
# state keeps it counted.
GIVE_BACK_STATES = frozenset({State.NOT_PLACED, State.REJECTED, State.FOREIGN})
# A day's counters stay readable this long after the day (operations look at recent days), then expire.
COUNTER_DAYS_KEPT = 35
MAX_LIMIT = Decimal("999999999999.99")  # a limit is money or grams as the API bounds them
# The partner's day counter is spread over this many items, each with its share of the limit, so
# concurrent orders do not meet on one item (docs/decisions.md, "No hot counter"). One read of every
# shard (BatchGetItem) bounds it.
DEFAULT_PARTNER_DAY_SHARDS = 10
MAX_SHARDS = 100


def _optional_decimal(value: object) -> object:
    return None if value in ("", None) else value


class LimitRules(BaseModel):
    """The limits a partner sets (template parameters, through the environment); empty means no limit."""

    model_config = ConfigDict(frozen=True)

    limits_table: str | None = None
    limit_currency: Currency = Currency.TRY
    limit_timezone: str = "Europe/Istanbul"  # Minted's local time: a day is a calendar day here
    # The most grams of each sku in one order. A limit of 0 is what it says (nothing may be bought or
    # sold): the template's parameters take it, and refusing it here would fail every function at start.
    limit_order_grams: dict[str, Decimal] = {}
    limit_order_amount: Decimal | None = Field(default=None, ge=0, le=MAX_LIMIT)
    limit_customer_day_amount: Decimal | None = Field(default=None, ge=0, le=MAX_LIMIT)
    limit_partner_day_amount: Decimal | None = Field(default=None, ge=0, le=MAX_LIMIT)
    # How many items the partner's day counter is spread over: change it between days, not during one
    # (the shares of the limit are split by it; docs/decisions.md, "No hot counter").
    limit_partner_day_shards: int = Field(default=DEFAULT_PARTNER_DAY_SHARDS, ge=1, le=MAX_SHARDS)

    @field_validator("limit_order_amount", "limit_customer_day_amount", "limit_partner_day_amount", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return _optional_decimal(value)

    @field_validator("limit_partner_day_shards", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return DEFAULT_PARTNER_DAY_SHARDS if value == "" else value

    @field_validator("limits_table", mode="before")
    @classmethod
    def _no_table(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("limit_order_grams", mode="before")
    @classmethod
    def _grams_per_sku(cls, value: object) -> object:
        """``GAU:1000,GAG:50000``: the most grams of each sku named; a sku left out has no limit."""
        if not isinstance(value, str):
            return value
        grams: dict[str, Decimal] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            sku, _, amount = part.partition(":")
            if sku.strip() not in ("GAU", "GAG", "GPT") or not amount.strip():
                raise ValueError("write SKU:GRAMS pairs, e.g. GAU:1000,GAG:50000 (skus GAU, GAG, GPT)")
            grams[sku.strip()] = Decimal(amount.strip())
        if any(not (0 <= g <= MAX_LIMIT) for g in grams.values()):
            raise ValueError(f"each sku's grams must be from 0 to {MAX_LIMIT}")
        return grams

    @field_validator("limit_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone (e.g. Europe/Istanbul)") from None
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "LimitRules":
        return _from_env(cls, env)

    @property
    def daily(self) -> bool:
        return self.limit_customer_day_amount is not None or self.limit_partner_day_amount is not None

    @property
    def values_money(self) -> bool:
        """An order's money must be known: some limit is in money."""
        return self.daily or self.limit_order_amount is not None

    def day(self, now: datetime) -> str:
        """The calendar day ``now`` falls on in the limits' time zone."""
        return now.astimezone(ZoneInfo(self.limit_timezone)).date().isoformat()

    def day_ends(self, now: datetime) -> datetime:
        zone = ZoneInfo(self.limit_timezone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(tomorrow, datetime.min.time(), zone).astimezone(UTC)


class PriceGuard(BaseModel):
    """Limits a scheduled order sets in advance: a buy above them buys nothing, a sell below them sells nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_unit_price: Money | None = Field(default=None, description="a buy's most to pay per gram")
    max_total: Money | None = Field(default=None, description="a buy's most to pay for the whole order")
    min_unit_price: Money | None = Field(default=None, description="a sell's least to take per gram")

    def check(self, order: "Priced") -> None:
        check_order(order, guard=self)


class LineLike(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal | None: ...


class Priced(Protocol):
    """What the checks read of an order or a quote (a Quote and a PricedOrder are both)."""

    @property
    def side(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def lines(self) -> Sequence[LineLike]: ...
    @property
    def total(self) -> Decimal | None: ...


class PricedLine(NamedTuple):
    sku: str
    amount: Decimal
    unit_price: Decimal | None = None  # None: the order was not valued (no money limit, no guard)


class PricedOrder(NamedTuple):
    """What the checks read of an order (or a quote): side, currency, grams and, when known, prices."""

    side: str
    currency: str
    lines: list[PricedLine]
    total: Decimal | None = None


def _exact(value: object) -> object:
    """A task's decimal string (or a JSON number) as an exact Decimal, within the API's bounds."""
    if isinstance(value, str):
        return jsonutil.parse_decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class LockedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sku: str
    amount: Decimal
    unit_price: Decimal

    _decimals = field_validator("amount", "unit_price", mode="before")(_exact)


class LockedQuote(BaseModel):
    """The prices the buy workflow's own quote step locked (its FixPrice task's lines and total):
    its buy step values the order at them rather than at the price cache."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lines: list[LockedLine]
    total: Decimal

    _decimals = field_validator("total", mode="before")(_exact)

    def priced(self, side: str, currency: str) -> PricedOrder:
        lines = [PricedLine(line.sku, line.amount, line.unit_price) for line in self.lines]
        return PricedOrder(side=side, currency=currency, lines=lines, total=self.total)


def line_total(amount: Decimal, unit_price: Decimal) -> Decimal:
    """A line's money as a quote writes it: grams times the price per gram, to the cent."""
    return (amount * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def check_order(order: Priced, *, guard: PriceGuard | None = None, rules: LimitRules | None = None) -> None:
    """Every rule one order must meet before Minted is asked to fill it: the guard, then the per-order limits."""
    if guard is not None:
        _check_guard(order, guard)
    if rules is not None:
        _check_order_limits(order, rules)


def _check_guard(order: Priced, guard: PriceGuard) -> None:
    if order.side == "sell":
        cheap = [l.sku for l in order.lines if guard.min_unit_price and l.unit_price is not None  # noqa: E741
                 and l.unit_price < guard.min_unit_price]  # fmt: skip
        if cheap:
            raise PriceGuardExceeded(
                f"The price per gram is below the guard ({guard.min_unit_price}); nothing was sold.",
                details=[{"field": "min_unit_price", "message": f"undercut for {', '.join(cheap)}"}],
            )
        return
    dear = [l.sku for l in order.lines if guard.max_unit_price and l.unit_price is not None  # noqa: E741
            and l.unit_price > guard.max_unit_price]  # fmt: skip
    if dear:
        raise PriceGuardExceeded(
            f"The price per gram is above the guard ({guard.max_unit_price}); nothing was bought.",
            details=[{"field": "max_unit_price", "message": f"exceeded for {', '.join(dear)}"}],
        )
    if guard.max_total is not None and order.total is not None and order.total > guard.max_total:
        raise PriceGuardExceeded(
            f"The total {order.total} is above the guard ({guard.max_total}); nothing was bought.",
            details=[{"field": "max_total", "message": "exceeded"}],
        )


def _check_order_limits(order: Priced, rules: LimitRules) -> None:
    for index, line in enumerate(order.lines):
        most = rules.limit_order_grams.get(line.sku)
        if most is not None and line.amount > most:
            raise _exceeded(f"items.{index}.amount", f"order_grams.{line.sku}", most, most,
                            f"At most {most} g of {line.sku} in one order.", unit="g")  # fmt: skip
    if not rules.values_money:
        return
    if order.currency != rules.limit_currency:
        # No exchange rate of our own: an order in another currency cannot be counted, so it is refused.
        raise LimitExceeded(
            f"Money limits are kept in {rules.limit_currency.value}; an order in {order.currency} cannot be "
            f"checked against them. Order in {rules.limit_currency.value}.",
            details=[{"field": "currency", "message": f"must be {rules.limit_currency.value} while money limits "
                      "are set", "limit": "limit_currency", "currency": rules.limit_currency.value}],
        )  # fmt: skip
    if rules.limit_order_amount is not None and order.total is not None and order.total > rules.limit_order_amount:
        raise _exceeded("items", "order_amount", rules.limit_order_amount, rules.limit_order_amount,
                        f"At most {rules.limit_order_amount} {order.currency} in one order; this one is "
                        f"{order.total}.", unit=order.currency)  # fmt: skip


def own_field(details: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """A limit's details for a request that names its grams or money ``field`` rather than an order's
    items (a plan, a conditional order); any other field (the currency) is the request's own already."""
    return [{**d, "field": field} if str(d.get("field", "")).startswith("items") else d for d in details]


def _exceeded(field: str, limit: str, value: Decimal, remaining: Decimal, message: str, *, unit: str) -> LimitExceeded:
    detail = {"field": field, "message": message, "limit": limit, "limit_value": str(value),
              "remaining": str(max(remaining, Decimal(0))), "unit": unit}  # fmt: skip
    return LimitExceeded(message, details=[detail])


class Hold(BaseModel):
    """What an order reserved of the day's totals: an item beside the counters (``hold_key``), held by
    one attempt at a time (``attempt``), given back at most once per reservation."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    attempt: int
    amount: Decimal
    currency: str
    day: str
    counters: list[str]
    # What the reservation added to each item it wrote (a counter, or a shard of one): a give-back takes
    # exactly this off. Empty on holds written before counters were sharded: the amount on each counter.
    taken: dict[str, Decimal] = {}

    def changes(self) -> dict[str, Decimal]:
        return self.taken or dict.fromkeys(self.counters, self.amount)


class Counter(NamedTuple):
    key: str
    limit: str  # its name in a refusal: customer_day_amount or partner_day_amount
    most: Decimal
    sharded: bool = False  # spread over the daily totals' shards (the partner's: every order meets it)


class Refused(Exception):
    """A counter would pass its limit; ``total`` is what it held (None: unknown)."""

    def __init__(self, counter: Counter, total: Decimal | None) -> None:
        super().__init__(counter.key)
        self.counter = counter
        self.total = total


class DailyTotals(Protocol):
    """The day's counters and the holds beside them, each change written together or not at all."""

    def reserve(self, key: str, hold: Hold, counters: list[Counter], expires_at: int) -> bool:
        """Write the hold ``key`` and add its amount to each counter. When the order holds already (an
        earlier attempt that never reached Minted, or this one retried), ``hold.attempt`` takes that
        hold over and nothing is added: False. Raise Refused when a counter would pass its limit."""

    def give_back(self, key: str, attempt: int) -> bool:
        """Take the hold's amount off its counters and mark it given back, if ``attempt`` or an earlier
        attempt holds it; False when there is nothing to give (never reserved, given back, or taken over
        by a later attempt)."""

    def count_again(self, key: str) -> bool:
        """The order was found at Minted after its hold was given back: add its amount to its counters
        again (no limit check: the money is spent) and mark it held; False when it is not given back."""

    def total(self, key: str) -> Decimal:
        """What the counter ``key`` holds: the sum of its shards."""


def hold_key(record: OrderRecord) -> str:
    return f"hold#{record.external_id}"  # no external_id has a "#"


def attempt_of(record: OrderRecord) -> int:
    """Which attempt at the order the row is on: its claims so far (each attempt starts with one; 0:
    nothing was ever sent). A refused attempt gives back only what it holds itself, so a retry that
    took the hold over in the meantime keeps it."""
    return sum(1 for entry in record.history if entry.state is State.RECEIVED)


def counter_key(scope: str, side: str, currency: str, day: str) -> str:
    """``customer#<id>#buy#TRY#2026-11-28`` or ``partner#sell#TRY#...``: no external_id has a ``#``."""
    return f"{scope}#{side}#{currency}#{day}"


class Valuer(Protocol):
    def __call__(self, order: PricedOrder) -> PricedOrder:
        """The order with a price per gram on each line and its total."""


class OrderLimits:
    """The limits as PlaceOrder uses them: check an order, reserve its part of the day, give it back."""

    def __init__(
        self, rules: LimitRules, totals: DailyTotals | None, valuer: Valuer | None, *, now: Callable[[], datetime]
    ) -> None:
        self.rules = rules
        self._totals = totals
        self._valuer = valuer
        self._now = now

    def hold_for(self, order: Priced, customer: str | None, record: OrderRecord) -> Hold | None:
        """Check ``order`` and reserve its amount for today (once per attempt); None when no daily limit
        is set. Raises LimitExceeded or PriceGuardExceeded with nothing reserved."""
        if self.rules.values_money and order.total is None and self._valuer is not None:
            grams = [PricedLine(line.sku, line.amount) for line in order.lines]
            order = self._valuer(PricedOrder(order.side, order.currency, grams))
        check_order(order, rules=self.rules)
        attempt = attempt_of(record)
        if not self.rules.daily or self._totals is None or not attempt:
            return None
        assert order.total is not None  # noqa: S101 - valued above whenever a daily limit is set
        now = self._now()
        day = self.rules.day(now)
        counters = self._counters(order, customer, day)
        hold = Hold(external_id=record.external_id, attempt=attempt, amount=order.total, currency=order.currency,
                    day=day, counters=[c.key for c in counters])  # fmt: skip
        for counter in counters:  # an order bigger than the whole day's limit needs no write to refuse
            if order.total > counter.most:
                raise self._refusal(counter, self._totals.total(counter.key), order.total)
        expires = int((self.rules.day_ends(now) + timedelta(days=COUNTER_DAYS_KEPT)).timestamp())
        try:
            self._totals.reserve(hold_key(record), hold, counters, expires)
        except Refused as refused:
            raise self._refusal(refused.counter, refused.total, order.total) from None
        return hold

    def give_back(self, record: OrderRecord) -> bool:
        return give_back_if_refused(record, self._totals)

    def _counters(self, order: Priced, customer: str | None, day: str) -> list[Counter]:
        # Sells have totals of their own (docs/decisions.md): money out and money in are different risks.
        counters = []
        if customer is not None and self.rules.limit_customer_day_amount is not None:
            key = counter_key(f"customer#{customer}", order.side, order.currency, day)
            counters.append(Counter(key, "customer_day_amount", self.rules.limit_customer_day_amount))
        if self.rules.limit_partner_day_amount is not None:
            key = counter_key("partner", order.side, order.currency, day)
            counters.append(Counter(key, "partner_day_amount", self.rules.limit_partner_day_amount, sharded=True))
        return counters

    def _refusal(self, counter: Counter, total: Decimal | None, amount: Decimal) -> LimitExceeded:
        who = "this customer" if counter.limit.startswith("customer") else "the partner"
        if total is None:
            total = self._totals.total(counter.key) if self._totals else Decimal(0)
        remaining = counter.most - total
        return _exceeded("items", counter.limit, counter.most, remaining,
                         f"This order ({amount} {self.rules.limit_currency.value}) would pass {who}'s limit for "
                         f"the day ({counter.most}); {max(remaining, Decimal(0))} remains.",
                         unit=self.rules.limit_currency.value)  # fmt: skip


def give_back_if_refused(record: OrderRecord, totals: DailyTotals | None) -> bool:
    """Give back what ``record``'s order reserved if the row is now NOT_PLACED, REJECTED or FOREIGN and no later
    attempt than the row's took the hold over (an earlier one's hold goes back too: a retry refused
    before it reached the hold leaves the lost attempt's amount with nobody else to give it): exactly
    once, guarded by the hold's own state and attempt (a retry, a replay or the reconciler calling this
    again finds nothing to give).

    The ledger calls it after every transition (DynamoDbOrderLedger.update), so whoever settles a row
    gives back; anyone may call it again. A failure is logged and leaves the hold in place for the
    next call (the counters are per day, so at worst the amount stays counted until the day ends)."""
    attempt = attempt_of(record)
    if totals is None or not attempt or record.state not in GIVE_BACK_STATES:
        return False
    try:
        return totals.give_back(hold_key(record), attempt)
    except GatewayError as exc:
        logger.error("limit give-back failed; the hold stays until the next call", extra={
            "external_id": record.external_id, "reason": exc.code})  # fmt: skip
        return False


def count_again_if_placed(before: State, record: OrderRecord, totals: DailyTotals | None) -> bool:
    """Count again what a NOT_PLACED or REJECTED row gave back when a later lookup finds its order at
    Minted after all (a lost attempt that landed late): the day's totals say what was bought. Exactly
    once, guarded by the hold's state like the give-back; a failure leaves it uncounted and is logged.

    The row's history, not only the state it left, says whether it was ever given back: a retry moves
    a NOT_PLACED row to RECEIVED (its new claim) before its lookup finds the order."""
    if totals is None or record.state is not State.SUBMITTED or before is State.SUBMITTED:
        return False
    if not any(entry.state in GIVE_BACK_STATES for entry in record.history):
        return False  # never given back: nothing to count again (and no read of the limits table)
    try:
        return totals.count_again(hold_key(record))
    except GatewayError as exc:
        logger.error("limit count-again failed; the day's totals miss this order", extra={
            "external_id": record.external_id, "reason": exc.code})  # fmt: skip
        return False


def as_priced(side: str, currency: str, lines: list[tuple[str, Decimal]]) -> PricedOrder:
    return PricedOrder(side=side, currency=currency, lines=[PricedLine(sku, amount) for sku, amount in lines])


def priced_at(order: PricedOrder, unit_prices: Mapping[str, Decimal]) -> PricedOrder:
    """``order`` valued at ``unit_prices`` (per sku); a sku without a price cannot be valued."""
    missing = [line.sku for line in order.lines if line.sku not in unit_prices]
    if missing:
        raise LimitExceeded(
            f"No current price for {', '.join(missing)}: the order cannot be checked against the money limits.",
            details=[{"field": "items", "message": "no current price to value it", "limit": "order_amount"}],
        )
    lines = [PricedLine(l.sku, l.amount, unit_prices[l.sku]) for l in order.lines]  # noqa: E741
    total = sum((line_total(l.amount, l.unit_price) for l in lines if l.unit_price is not None), Decimal(0))  # noqa: E741
    return PricedOrder(side=order.side, currency=order.currency, lines=lines, total=total)


class PricesNow(Protocol):
    def __call__(self, currency: str) -> Any:
        """GetPrices: a view whose ``snapshot.prices`` have ``sku``, ``buy_price`` and ``sell_price``."""


class CurrentPrices:
    """Values an order bought through the API at the gateway's current prices (GET /prices, refreshed
    every minute): the price its token locked is Minted's and not shown to us (docs/decisions.md)."""

    def __init__(self, prices: PricesNow) -> None:
        self._prices = prices

    def __call__(self, order: PricedOrder) -> PricedOrder:
        snapshot = self._prices(order.currency).snapshot
        unit = {p.sku: p.sell_price if order.side == "sell" else p.buy_price for p in snapshot.prices}
        return priced_at(order, unit)
