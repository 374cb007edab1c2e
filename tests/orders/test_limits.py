"""The limits' rules and counters without HTTP: the calendar day in the configured time zone, a hold
given back exactly once however many callers try, the settings read as the template writes them, and
the template's defaults leaving every limit off (tests/limits has the same over real HTTP)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.devstack import local_parameters
from local.moto_dynamodb import serialise_writes
from local.template import create_tables, function_environment, load_template
from minted_gateway.dynamodb import from_item
from minted_gateway.errors import LedgerUnavailable, LimitExceeded, PriceGuardExceeded
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.dynamodb_limits import DynamoDbDailyTotals
from minted_gateway.orders.limits import (
    LimitRules,
    OrderLimits,
    PricedLine,
    PricedOrder,
    PriceGuard,
    check_order,
    count_again_if_placed,
    give_back_if_refused,
    priced_at,
)
from minted_gateway.orders.record import State
from minted_gateway.settings import SettingsError
from tests.orders.test_dynamodb_ledger import entry, record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    serialise_writes()  # conditional writes as atomic as DynamoDB's, for the threads below
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_tables(client)
        yield client


def priced(total: str, side: str = "buy", currency: str = "TRY") -> PricedOrder:
    return PricedOrder(side, currency, [PricedLine("GAU", Decimal(1), Decimal(total))], Decimal(total))


class Clock:
    def __init__(self, at: str) -> None:
        self.at = datetime.fromisoformat(at)

    def __call__(self) -> datetime:
        return self.at


def test_the_day_is_a_calendar_day_in_the_configured_time_zone(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    clock = Clock("2026-11-28T20:59:00+00:00")  # 23:59 in Istanbul (UTC+3)
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100))
    limits = OrderLimits(rules, totals, None, now=clock)
    limits.hold_for(priced("80"), "c-1", record("o-1", history=[entry(State.RECEIVED)]))
    with pytest.raises(LimitExceeded) as refused:
        limits.hold_for(priced("30"), "c-1", record("o-2", history=[entry(State.RECEIVED)]))
    assert refused.value.details[0]["remaining"] == "20"
    clock.at = datetime.fromisoformat("2026-11-28T21:01:00+00:00")  # 00:01 the next day in Istanbul
    limits.hold_for(priced("30"), "c-1", record("o-3", history=[entry(State.RECEIVED)]))
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == 80
    assert totals.total("customer#c-1#buy#TRY#2026-11-29") == 30
    in_utc = OrderLimits(rules.model_copy(update={"limit_timezone": "UTC"}), totals, None, now=clock)
    with pytest.raises(LimitExceeded):  # still the 28th in UTC, where the 80 were not counted: a day of its own
        in_utc.hold_for(priced("101"), "c-1", record("o-4", history=[entry(State.RECEIVED)]))


def test_a_hold_is_given_back_exactly_once_however_many_try(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable", totals)
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100),
                       limit_partner_day_amount=Decimal(1000))  # fmt: skip
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))
    claimed = record("o-1", history=[entry(State.RECEIVED)], customer_external_id="c-1")
    assert ledger.claim(claimed) is None
    limits.hold_for(priced("60"), "c-1", claimed)
    limits.hold_for(priced("60"), "c-1", claimed)  # the same attempt again (a retried request): counted once
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == 60
    not_placed = ledger.update(claimed, {"state": State.NOT_PLACED}, entry(State.NOT_PLACED))  # gives back
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        again = list(pool.map(lambda _: totals.give_back("hold#o-1", 1), range(8)))
    assert not any(again)
    ledger.update(not_placed, {"claim_expires_at": 0}, entry(State.NOT_PLACED))  # a later write gives nothing more
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == 0
    assert totals.total("partner#buy#TRY#2026-11-28") == 0


def test_concurrent_reservations_never_pass_the_limit_together(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(1000))
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))

    def reserve(index: int) -> bool:
        try:
            limits.hold_for(priced("70"), None, record(f"o-{index}", history=[entry(State.RECEIVED)]))
        except LimitExceeded:
            return False
        return True

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        accepted = sum(pool.map(reserve, range(40)))
    assert accepted == 14  # 14 x 70 = 980; a fifteenth would be 1050
    assert totals.total("partner#buy#TRY#2026-11-28") == 980


def test_the_guard_and_the_limits_are_one_check() -> None:
    rules = LimitRules(limit_order_grams={"GAU": Decimal(1)}, limit_order_amount=Decimal(500))
    with pytest.raises(PriceGuardExceeded):
        check_order(priced("600"), guard=PriceGuard(max_total=Decimal(550)), rules=rules)
    with pytest.raises(LimitExceeded) as refused:
        check_order(priced("600"), guard=PriceGuard(max_total=Decimal(650)), rules=rules)
    assert refused.value.details[0]["limit"] == "order_amount"
    two_lines = PricedOrder("buy", "TRY", [PricedLine("GAU", Decimal(1)), PricedLine("GAG", Decimal(101))])
    with pytest.raises(LimitExceeded) as grams:  # each line against its own sku's grams
        check_order(two_lines, rules=rules.model_copy(update={"limit_order_grams": {"GAG": Decimal(100)}}))
    assert (grams.value.details[0]["field"], grams.value.details[0]["limit"]) == ("items.1.amount", "order_grams.GAG")
    with pytest.raises(LimitExceeded) as in_usd:
        check_order(priced("10", currency="USD"), rules=rules)
    assert in_usd.value.details[0]["field"] == "currency"


def test_the_settings_read_what_the_template_writes_and_name_a_bad_one() -> None:
    rules = LimitRules.from_env({"LIMIT_ORDER_GRAMS": "GAU:1000,GAG:100000", "LIMIT_ORDER_AMOUNT": "",
                                 "LIMIT_CUSTOMER_DAY_AMOUNT": "2500.50", "LIMIT_CURRENCY": "GBP"})  # fmt: skip
    assert rules.limit_order_grams == {"GAU": Decimal(1000), "GAG": Decimal(100000)}
    assert rules.limit_order_amount is None and rules.limit_customer_day_amount == Decimal("2500.50")
    with pytest.raises(SettingsError, match="LIMIT_ORDER_GRAMS"):
        LimitRules.from_env({"LIMIT_ORDER_GRAMS": "GOLD:5"})
    with pytest.raises(SettingsError, match="LIMIT_TIMEZONE"):
        LimitRules.from_env({"LIMIT_TIMEZONE": "Mars/Olympus"})


def test_limits_are_off_by_the_templates_defaults_and_on_in_make_dev() -> None:
    template = load_template()
    names = {name: name for name in ("OrdersTable", "PricesTable", "LimitsTable", "PartnerSecret", "LedgerKeySecret")}
    off = LimitRules.from_env(function_environment(template, names, {"Stage": "local"}))
    assert not off.values_money and not off.limit_order_grams and not off.daily
    on = LimitRules.from_env(function_environment(template, names, local_parameters()))
    assert on.daily and on.limit_order_amount is not None and on.limit_order_grams
    assert on.limits_table == "LimitsTable"


def test_a_retry_takes_the_orders_hold_over_instead_of_counting_it_again(dynamodb: Any) -> None:
    """An attempt whose outcome was unknown, retried once Minted shows no such order: the amount stays
    counted once, and the first attempt, refused late, can no longer give back what the retry holds."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100))
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))
    first = record("o-1", history=[entry(State.RECEIVED), entry(State.UNKNOWN)])
    retry = record("o-1", history=[*first.history, entry(State.RECEIVED)])
    limits.hold_for(priced("60"), "c-1", first)
    limits.hold_for(priced("60"), "c-1", retry)
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == 60
    assert not totals.give_back("hold#o-1", 1)  # the first attempt's late refusal: the retry holds it now
    assert totals.give_back("hold#o-1", 2) and totals.total("customer#c-1#buy#TRY#2026-11-28") == 0
    limits.hold_for(priced("60"), "c-1", record("o-1", history=[*retry.history, entry(State.RECEIVED)]))
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == 60  # given back, then reserved afresh


NOON = datetime(2026, 11, 28, 12, tzinfo=UTC)
MONEY_LIMITS = ("order_amount", "customer_day_amount", "partner_day_amount")
LOOSE = Decimal("1000000")
CENT = Decimal("0.01")


@pytest.mark.parametrize("over", [Decimal(0), CENT], ids=["filled exactly", "one cent over"])
@pytest.mark.parametrize("binding", MONEY_LIMITS)
def test_with_every_money_limit_set_each_binds_in_turn_to_the_cent(dynamodb: Any, binding: str, over: Decimal) -> None:
    """Every limit set at once, one of them tight: orders of 100.00 fill it to exactly its limit
    (accepted) or to one cent past it (refused, naming that limit, nothing counted anywhere). The
    partner's day binds on a customer's order, where its counter is not the transaction's first."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    tight = {"order_amount": Decimal("100.00"), "customer_day_amount": Decimal("200.00"),
             "partner_day_amount": Decimal("200.00")}[binding] - over  # fmt: skip
    values = {name: tight if name == binding else LOOSE for name in MONEY_LIMITS}
    rules = LimitRules(limits_table="LimitsTable", **{f"limit_{name}": value for name, value in values.items()})
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))
    customer_day, partner_day = "customer#c-1#buy#TRY#2026-11-28", "partner#buy#TRY#2026-11-28"
    orders = [record(f"o-{n}", history=[entry(State.RECEIVED)], customer_external_id="c-1") for n in (1, 2)]
    if binding != "order_amount":
        limits.hold_for(priced("100.00"), "c-1", orders.pop(0))  # the day's first order: within every limit
    if not over:
        limits.hold_for(priced("100.00"), "c-1", orders[0])
        expected = Decimal(200) if binding != "order_amount" else Decimal(100)
        assert (totals.total(customer_day), totals.total(partner_day)) == (expected, expected)
        return
    before = (totals.total(customer_day), totals.total(partner_day))
    with pytest.raises(LimitExceeded) as refused:
        limits.hold_for(priced("100.00"), "c-1", orders[0])
    detail = refused.value.details[0]
    assert (detail["limit"], detail["limit_value"]) == (binding, str(tight))
    assert Decimal(detail["remaining"]) == (tight if binding == "order_amount" else tight - 100)
    assert (totals.total(customer_day), totals.total(partner_day)) == before, "a refused order reserves nothing"


@pytest.mark.parametrize("binding", ["customer_day_amount", "partner_day_amount"])
def test_a_counter_filled_by_many_orders_stops_at_its_limit(dynamodb: Any, binding: str) -> None:
    """Both day limits set, one tight: the other counter never lets an order past the tight one, and the
    counters stay equal to what the accepted orders hold."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    values = {"customer_day_amount": LOOSE, "partner_day_amount": LOOSE, binding: Decimal("250.00")}
    rules = LimitRules(limits_table="LimitsTable", **{f"limit_{name}": value for name, value in values.items()})
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))
    accepted = 0
    for n in range(6):
        try:
            limits.hold_for(priced("50.00"), "c-1", record(f"o-{n}", history=[entry(State.RECEIVED)]))
            accepted += 1
        except LimitExceeded as refused:
            assert refused.details[0]["limit"] == binding
    assert accepted == 5
    assert totals.total("customer#c-1#buy#TRY#2026-11-28") == totals.total("partner#buy#TRY#2026-11-28") == 250


@pytest.mark.parametrize("name", MONEY_LIMITS)
def test_a_money_limit_is_from_nothing_to_the_apis_bound(name: str) -> None:
    from minted_gateway.orders.limits import MAX_LIMIT

    for allowed in (Decimal(0), MAX_LIMIT):
        assert getattr(LimitRules(**{f"limit_{name}": allowed}), f"limit_{name}") == allowed
    for refused in (-CENT, MAX_LIMIT + CENT):
        with pytest.raises(ValueError, match=f"limit_{name}"):
            LimitRules(**{f"limit_{name}": refused})


def test_a_locked_quote_reads_numbers_exactly_whatever_their_json_type() -> None:
    """The workflow's FixPrice lines reach the buy step as decimal strings, numbers or Decimals: each exact."""
    from minted_gateway.orders.limits import LockedQuote

    for amount, price, total in (("0.1", "2983.81", "298.38"), (0.1, 2983.81, 298.38),
                                 (Decimal("0.1"), Decimal("2983.81"), Decimal("298.38"))):  # fmt: skip
        locked = LockedQuote.model_validate({"lines": [{"sku": "GAU", "amount": amount, "unit_price": price}],
                                             "total": total})  # fmt: skip
        line = locked.lines[0]
        assert (line.amount, line.unit_price, locked.total) == (Decimal("0.1"), Decimal("2983.81"), Decimal("298.38"))
        assert str(line.amount) == "0.1"  # not the float's binary neighbour


def test_the_days_counters_and_holds_expire_35_days_after_the_day(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100))
    limits = OrderLimits(rules, totals, None, now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))
    limits.hold_for(priced("10"), "c-1", record("o-1", history=[entry(State.RECEIVED)]))
    day_ends = datetime.fromisoformat("2026-11-29T00:00:00+03:00")  # midnight in Istanbul
    expected = int(day_ends.timestamp()) + 35 * 86400  # operations read the last month's counters
    for key in ("customer#c-1#buy#TRY#2026-11-28", "hold#o-1"):
        item = dynamodb.get_item(TableName="LimitsTable", Key={"counter": {"S": key}})["Item"]
        assert int(item["expires_at"]["N"]) == expected, key


def test_grams_per_sku_are_from_nothing_to_the_apis_bound() -> None:
    from minted_gateway.orders.limits import MAX_LIMIT

    for allowed in (Decimal(0), MAX_LIMIT):
        assert LimitRules(limit_order_grams=f"GAU:{allowed}").limit_order_grams == {"GAU": allowed}
    for refused in (-CENT, MAX_LIMIT + CENT):
        with pytest.raises(ValueError, match="from 0 to"):
            LimitRules(limit_order_grams=f"GAU:{refused}")


def test_the_rules_and_priced_orders_cannot_be_changed_once_made() -> None:
    from pydantic import ValidationError

    guard = PriceGuard(max_total=Decimal(1))
    with pytest.raises(ValidationError):
        guard.max_total = Decimal(2)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        PriceGuard.model_validate({"max_totl": "1"})  # a misspelt guard is refused, not ignored
    with pytest.raises(AttributeError):  # a NamedTuple's field cannot be set
        PricedLine("GAU", Decimal(1)).amount = Decimal(2)  # type: ignore[misc]


def sell(unit_price: str | None) -> PricedOrder:
    price = Decimal(unit_price) if unit_price is not None else None
    return PricedOrder("sell", "TRY", [PricedLine("GAU", Decimal(1), price)], price)


def test_the_guard_reads_only_the_bounds_it_has_and_the_prices_it_knows() -> None:
    check_order(sell("100"), guard=PriceGuard(max_unit_price=Decimal(1)))  # a buy's bounds say nothing of a sell
    check_order(sell(None), guard=PriceGuard(min_unit_price=Decimal(100)))  # not valued: nothing to compare
    check_order(sell("100"), guard=PriceGuard(min_unit_price=Decimal(100)))  # at the guard: sold
    with pytest.raises(PriceGuardExceeded, match="below the guard"):
        check_order(sell("99.99"), guard=PriceGuard(min_unit_price=Decimal(100)))
    buy = PricedOrder("buy", "TRY", [PricedLine("GAU", Decimal(1), None)], None)
    check_order(buy, guard=PriceGuard(max_unit_price=Decimal(1), max_total=Decimal(1)))  # not valued
    check_order(priced("100"), guard=PriceGuard(max_unit_price=Decimal(100), max_total=Decimal(100)))  # at both
    with pytest.raises(PriceGuardExceeded, match="price per gram is above"):
        check_order(priced("100.01"), guard=PriceGuard(max_unit_price=Decimal(100)))
    with pytest.raises(PriceGuardExceeded, match=r"total 100\.01 is above"):
        check_order(priced("100.01"), guard=PriceGuard(max_total=Decimal(100)))


def test_an_order_not_yet_valued_is_valued_once_a_money_limit_needs_it(dynamodb: Any) -> None:
    valued: list[PricedOrder] = []

    def valuer(order: PricedOrder) -> PricedOrder:
        valued.append(order)
        return priced_at(order, {"GAU": Decimal("30")})

    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100))
    limits = OrderLimits(rules, DynamoDbDailyTotals(dynamodb, "LimitsTable"), valuer, now=lambda: NOON)
    grams = PricedOrder("buy", "TRY", [PricedLine("GAU", Decimal(2))])
    hold = limits.hold_for(grams, "c-1", record("o-1", history=[entry(State.RECEIVED)]))
    assert hold is not None and hold.amount == Decimal(60) and len(valued) == 1
    limits.hold_for(priced("10"), "c-1", record("o-2", history=[entry(State.RECEIVED)]))
    assert len(valued) == 1, "an order with its prices is not valued again"


def test_a_refusal_says_whose_day_it_was(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    for limit, who in (("customer_day_amount", "this customer's"), ("partner_day_amount", "the partner's")):
        limits = OrderLimits(LimitRules(limits_table="LimitsTable", **{f"limit_{limit}": Decimal(5)}), totals, None,
                             now=lambda: NOON)  # fmt: skip
        with pytest.raises(LimitExceeded, match=f"pass {who} limit") as refused:
            limits.hold_for(priced("10"), "c-1", record(f"o-{limit}", history=[entry(State.RECEIVED)]))
        assert refused.value.details[0]["limit"] == limit


class FailingTotals:
    """Daily totals whose every write fails, as DynamoDB unreachable does."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def give_back(self, key: str, attempt: int) -> bool:
        self.calls.append(f"give_back {key} {attempt}")
        raise LedgerUnavailable("unreachable")

    def count_again(self, key: str) -> bool:
        self.calls.append(f"count_again {key}")
        raise LedgerUnavailable("unreachable")


def test_a_give_back_or_count_again_that_fails_is_logged_and_left_for_the_next_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    totals = FailingTotals()
    refused = record("o-1", state=State.NOT_PLACED, history=[entry(State.RECEIVED), entry(State.NOT_PLACED)])
    assert give_back_if_refused(refused, totals) is False  # type: ignore[arg-type]
    found = record("o-1", state=State.SUBMITTED, history=refused.history)
    assert count_again_if_placed(State.NOT_PLACED, found, totals) is False  # type: ignore[arg-type]
    assert totals.calls == ["give_back hold#o-1 1", "count_again hold#o-1"]
    assert "give-back failed" in caplog.text and "count-again failed" in caplog.text


def test_only_a_given_back_order_found_at_minted_counts_again() -> None:
    totals = FailingTotals()
    submitted = record("o-1", state=State.SUBMITTED)
    assert not count_again_if_placed(State.UNKNOWN, submitted, totals)  # type: ignore[arg-type]
    assert not count_again_if_placed(State.REJECTED, record("o-1", state=State.REJECTED), totals)  # type: ignore[arg-type]
    assert not count_again_if_placed(State.NOT_PLACED, submitted, None)
    assert totals.calls == []
    assert not give_back_if_refused(record("o-1", state=State.SUBMITTED, history=[entry(State.RECEIVED)]), totals)  # type: ignore[arg-type]
    assert not give_back_if_refused(record("o-1", state=State.NOT_PLACED), totals)  # type: ignore[arg-type]  # never sent
    assert totals.calls == []


def test_an_order_is_valued_at_the_side_its_price_is_for() -> None:
    from types import SimpleNamespace

    from minted_gateway.orders.limits import CurrentPrices

    prices = [SimpleNamespace(sku="GAU", buy_price=Decimal("3000"), sell_price=Decimal("2900"))]
    current = CurrentPrices(lambda currency: SimpleNamespace(snapshot=SimpleNamespace(prices=prices)))
    assert current(PricedOrder("buy", "TRY", [PricedLine("GAU", Decimal("0.5"))])).total == Decimal("1500.00")
    assert current(PricedOrder("sell", "TRY", [PricedLine("GAU", Decimal("0.5"))])).total == Decimal("1450.00")
    with pytest.raises(LimitExceeded, match="No current price for GAG"):
        current(PricedOrder("buy", "TRY", [PricedLine("GAG", Decimal("1"))]))


def test_a_given_back_hold_counts_again_once_by_its_amount(dynamodb: Any) -> None:
    """An order given back and then found at Minted after all: its amount goes back on its counters, once."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100),
                       limit_partner_day_amount=Decimal(1000))  # fmt: skip
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    customer_day, partner_day = "customer#c-1#buy#TRY#2026-11-28", "partner#buy#TRY#2026-11-28"
    assert not totals.count_again("hold#o-1"), "nothing held: nothing to count again"
    limits.hold_for(priced("30"), "c-1", record("o-1", history=[entry(State.RECEIVED)]))
    assert not totals.count_again("hold#o-1"), "held, never given back: counted already"
    assert totals.give_back("hold#o-1", 1)
    assert (totals.total(customer_day), totals.total(partner_day)) == (0, 0)
    assert totals.count_again("hold#o-1")
    assert (totals.total(customer_day), totals.total(partner_day)) == (30, 30)
    assert not totals.count_again("hold#o-1")
    assert (totals.total(customer_day), totals.total(partner_day)) == (30, 30), "counted again once"


def test_a_reservation_says_whether_it_counted_the_order(dynamodb: Any) -> None:
    """True when it added the amount; False when the order held already and this attempt took the hold over."""
    from minted_gateway.orders.limits import Counter, Hold

    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    counters = [Counter("customer#c-1#buy#TRY#2026-11-28", "customer_day_amount", Decimal(100))]
    hold = Hold(external_id="o-1", attempt=1, amount=Decimal(40), currency="TRY", day="2026-11-28",
                counters=[c.key for c in counters])  # fmt: skip
    assert totals.reserve("hold#o-1", hold, counters, 1) is True
    assert totals.reserve("hold#o-1", hold.model_copy(update={"attempt": 2}), counters, 1) is False
    assert totals.total(counters[0].key) == 40
    assert not totals.give_back("hold#o-1", 1), "the first attempt no longer holds it"
    assert totals.give_back("hold#o-1", 2) and totals.total(counters[0].key) == 0


class RacingDynamoDb:
    """moto's DynamoDB with the races it never produces, each once: a transaction cancelled by a
    conflicting writer, and a hold given back between a reservation's two writes."""

    def __init__(self, client: Any, *, conflicts: int = 0, given_back_meanwhile: bool = False) -> None:
        self._client, self.conflicts, self.given_back_meanwhile = client, conflicts, given_back_meanwhile
        self.another_gives_back_first = False  # another caller's give-back lands between a read and a move

    def transact_write_items(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        first = kwargs["TransactItems"][0].get("Update", {})
        if self.another_gives_back_first and first.get("UpdateExpression") == "SET #state = :to":
            self.another_gives_back_first = False
            assert DynamoDbDailyTotals(self._client, "LimitsTable").give_back(first["Key"]["counter"]["S"], 1)
        if self.conflicts:
            self.conflicts -= 1
            reasons = [{"Code": "TransactionConflict"} for _ in kwargs["TransactItems"]]
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                               "CancellationReasons": reasons}, "TransactWriteItems")  # fmt: skip
        return self._client.transact_write_items(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        if self.given_back_meanwhile and kwargs["UpdateExpression"].startswith("SET #attempt"):
            self.given_back_meanwhile = False
            assert DynamoDbDailyTotals(self._client, "LimitsTable").give_back(kwargs["Key"]["counter"]["S"], 1)
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_reservation_cancelled_by_a_conflicting_writer_is_tried_again(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(RacingDynamoDb(dynamodb, conflicts=3), "LimitsTable")
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(100)), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("40"), None, record("o-1", history=[entry(State.RECEIVED)]))
    assert totals.total("partner#buy#TRY#2026-11-28") == 40


def test_a_hold_given_back_between_a_retrys_two_writes_is_reserved_afresh(dynamodb: Any) -> None:
    """The retry's write finds the order held, but before it can take the hold over the first attempt's
    refusal gives it back: the retry reserves afresh, so the amount is counted exactly once."""
    racing = RacingDynamoDb(dynamodb)
    totals = DynamoDbDailyTotals(racing, "LimitsTable")
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(100)), totals, None,
                         now=lambda: NOON)  # fmt: skip
    first = record("o-1", history=[entry(State.RECEIVED), entry(State.UNKNOWN)])
    limits.hold_for(priced("40"), None, first)
    racing.given_back_meanwhile = True
    limits.hold_for(priced("40"), None, record("o-1", history=[*first.history, entry(State.RECEIVED)]))
    assert totals.total("partner#buy#TRY#2026-11-28") == 40
    assert from_item(dynamodb.get_item(TableName="LimitsTable", Key={"counter": {"S": "hold#o-1"}})["Item"])[
        "state"] == "held"  # fmt: skip


class BrokenDynamoDb:
    """A DynamoDB that answers every call with ``error`` (a service error, or the network failing)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(**_: Any) -> Any:
            raise self.error

        return fail


@pytest.mark.parametrize("kind", ["service error", "network"])
def test_the_counters_unreachable_are_a_503_to_try_again(kind: str) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from minted_gateway.orders.limits import Counter, Hold

    service = ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "Any")
    error: Exception = service if kind == "service error" else EndpointConnectionError(endpoint_url="http://dynamodb")
    totals = DynamoDbDailyTotals(BrokenDynamoDb(error), "LimitsTable")
    counters = [Counter("partner#buy#TRY#2026-11-28", "partner_day_amount", Decimal(100))]
    hold = Hold(external_id="o-1", attempt=1, amount=Decimal(1), currency="TRY", day="2026-11-28",
                counters=[c.key for c in counters])  # fmt: skip
    calls = [lambda: totals.reserve("hold#o-1", hold, counters, 1), lambda: totals.give_back("hold#o-1", 1),
             lambda: totals.count_again("hold#o-1"), lambda: totals.total("partner#buy#TRY#2026-11-28"),
             lambda: totals._take_over("hold#o-1", 2)]  # fmt: skip
    for call in calls:
        with pytest.raises(LedgerUnavailable) as unavailable:
            call()
        assert unavailable.value.retry_after == 2


def test_a_counter_never_written_is_zero(dynamodb: Any) -> None:
    assert DynamoDbDailyTotals(dynamodb, "LimitsTable").total("partner#buy#TRY#2026-11-28") == 0


def test_two_give_backs_that_read_the_hold_together_give_back_once(dynamodb: Any) -> None:
    racing = RacingDynamoDb(dynamodb)
    totals = DynamoDbDailyTotals(racing, "LimitsTable")
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(100)), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("40"), None, record("o-1", history=[entry(State.RECEIVED)]))
    racing.another_gives_back_first = True
    assert totals.give_back("hold#o-1", 1) is False, "the other call gave it back: nothing left to give"
    assert totals.total("partner#buy#TRY#2026-11-28") == 0


@pytest.mark.parametrize("limit", ["customer_day_amount", "partner_day_amount"])
def test_one_order_worth_the_whole_days_limit_is_accepted(dynamodb: Any, limit: str) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", **{f"limit_{limit}": Decimal(100)}), totals, None,
                         now=lambda: NOON)  # fmt: skip
    assert limits.hold_for(priced("100"), "c-1", record("o-1", history=[entry(State.RECEIVED)])) is not None
    with pytest.raises(LimitExceeded):
        limits.hold_for(priced("0.01"), "c-1", record("o-2", history=[entry(State.RECEIVED)]))


def test_a_counter_already_past_a_lowered_limit_says_nothing_remains(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(100))
    OrderLimits(rules, totals, None, now=lambda: NOON).hold_for(priced("80"), None, record("o-1",
                history=[entry(State.RECEIVED)]))  # fmt: skip
    lowered = OrderLimits(rules.model_copy(update={"limit_partner_day_amount": Decimal(50)}), totals, None,
                          now=lambda: NOON)  # fmt: skip
    with pytest.raises(LimitExceeded, match=r"; 0 remains\.") as refused:
        lowered.hold_for(priced("10"), None, record("o-2", history=[entry(State.RECEIVED)]))
    assert refused.value.details[0]["remaining"] == "0"


def test_without_a_daily_limit_nothing_is_reserved(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    rules = LimitRules(limits_table="LimitsTable", limit_order_amount=Decimal(500))  # a per-order limit only
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    assert limits.hold_for(priced("100"), "c-1", record("o-1", history=[entry(State.RECEIVED)])) is None
    assert dynamodb.scan(TableName="LimitsTable")["Items"] == []


def test_a_row_never_claimed_reserves_nothing(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(500)), totals, None,
                         now=lambda: NOON)  # fmt: skip
    assert limits.hold_for(priced("100"), None, record("o-1", history=[])) is None  # attempt 0: nothing sent
    assert dynamodb.scan(TableName="LimitsTable")["Items"] == []
