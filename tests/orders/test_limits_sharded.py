"""The partner's day counter spread over shards (issue 26, "No hot item"): concurrent orders do not meet
on one item, yet the day's total never passes the limit and an order is refused only by the limit.

The DynamoDB here conflicts as real DynamoDB does (tests/orders/conflicting_dynamodb.py): a transaction
that meets another on one item is cancelled with TransactionConflict. moto alone never does that, so
without the double the un-sharded counter looked fine.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import moto_dynamodb
from local.moto_dynamodb import serialise_writes
from local.template import create_tables, function_environment, load_template
from minted_gateway.dynamodb import from_item
from minted_gateway.errors import LedgerUnavailable, LimitExceeded
from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
from minted_gateway.orders.dynamodb_limits import DynamoDbDailyTotals, shard_keys, shares, spread
from minted_gateway.orders.limits import (
    DEFAULT_PARTNER_DAY_SHARDS,
    MAX_SHARDS,
    Counter,
    Hold,
    LimitRules,
    OrderLimits,
    PricedLine,
    PricedOrder,
    Refused,
)
from minted_gateway.orders.record import State
from minted_gateway.settings import SettingsError
from tests.orders.conflicting_dynamodb import ConflictingDynamoDb
from tests.orders.test_dynamodb_ledger import entry, record

NOON = datetime(2026, 11, 28, 12, tzinfo=UTC)
PARTNER_DAY = "partner#buy#TRY#2026-11-28"
LIMIT = Decimal(1000)
COMMIT = 0.01


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    serialise_writes()  # conditional writes as atomic as DynamoDB's, for the threads below
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_tables(client)
        yield client


def priced(total: Decimal | str) -> PricedOrder:
    return PricedOrder("buy", "TRY", [PricedLine("GAU", Decimal(1), Decimal(total))], Decimal(total))


def placed(n: int) -> Any:
    return record(f"o-{n}", history=[entry(State.RECEIVED)])


def shard_totals(client: Any, shards: int) -> dict[str, Decimal]:
    """Each shard of the partner's day that has taken an amount, read straight from the table between two
    writes (moto applies a write attribute by attribute; DynamoDB's reads never see one half done). The
    counter's own item exists from the day's first reservation, recording the shard count."""
    found = {}
    with moto_dynamodb._lock:
        for key in shard_keys(PARTNER_DAY, shards):
            got = client.get_item(TableName="LimitsTable", Key={"counter": {"S": key}}, ConsistentRead=True)
            if "total" in got.get("Item", {}):
                found[key] = Decimal(got["Item"]["total"]["N"])
    return found


class Counting:
    """moto's DynamoDB, counting the keys of each BatchGetItem and naming the item of each UpdateItem."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: list[int] = []
        self.updated: list[str] = []

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.reads.append(len(kwargs["RequestItems"]["LimitsTable"]["Keys"]))
        return self._client.batch_get_item(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        self.updated.append(kwargs["Key"]["counter"]["S"])
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def partner_day_item(client: Any) -> dict[str, Any]:
    """The partner's day counter's own item (its first shard, and the record of the shard count)."""
    return from_item(client.get_item(TableName="LimitsTable", Key={"counter": {"S": PARTNER_DAY}})["Item"])


def test_an_order_bigger_than_one_share_takes_from_several_shards_on_an_empty_day(dynamodb: Any) -> None:
    """Per-shard shares must not refuse what the day has room for: 350 of a 1,000 limit over ten shares
    of 100 is placed, and so is an order of all that remains, which needs every shard's last room."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("350"), None, placed(1))
    spread_over = shard_totals(dynamodb, 10)
    assert sum(spread_over.values()) == 350 and len(spread_over) >= 4 and max(spread_over.values()) <= 100
    limits.hold_for(priced("650"), None, placed(2))
    assert list(shard_totals(dynamodb, 10).values()) == [Decimal(100)] * 10
    assert totals.total(PARTNER_DAY) == LIMIT


def test_a_refusal_names_what_the_whole_day_has_left(dynamodb: Any) -> None:
    """The remaining in a refusal is the limit less every shard's total, to the cent; an order of exactly
    that is then placed."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=4)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal("100.03")), totals,
                         None, now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("30.01"), None, placed(1))
    limits.hold_for(priced("40.01"), None, placed(2))
    with pytest.raises(LimitExceeded, match=r"the partner's limit for the day \(100\.03\); 30\.01 remains") as refused:
        limits.hold_for(priced("30.02"), None, placed(3))
    detail = refused.value.details[0]
    assert (detail["limit"], detail["limit_value"], detail["remaining"]) == ("partner_day_amount", "100.03", "30.01")
    assert not dynamodb.get_item(TableName="LimitsTable", Key={"counter": {"S": "hold#o-3"}}).get("Item")
    limits.hold_for(priced("30.01"), None, placed(4))
    assert totals.total(PARTNER_DAY) == Decimal("100.03")


def test_a_give_back_returns_exactly_what_each_shard_gave(dynamodb: Any) -> None:
    """The hold records its split; a refused order's give-back takes each shard's part off that shard,
    and a count-again puts the same parts back."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=5)
    ledger = DynamoDbOrderLedger(dynamodb, "OrdersTable", totals)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=Decimal(500)), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("70"), None, placed(1))
    before = shard_totals(dynamodb, 5)
    claimed = placed(2)
    assert ledger.claim(claimed) is None
    limits.hold_for(priced("260"), None, claimed)  # more than two shares: three shards or more
    held = from_item(dynamodb.get_item(TableName="LimitsTable", Key={"counter": {"S": "hold#o-2"}})["Item"])
    taken = {key: Decimal(amount) for key, amount in held["taken"].items()}
    assert sum(taken.values()) == 260 and len(taken) >= 3
    after = shard_totals(dynamodb, 5)
    assert {key: after[key] - before.get(key, Decimal(0)) for key in after if after[key] != before.get(key)} == taken
    ledger.update(claimed, {"state": State.NOT_PLACED}, entry(State.NOT_PLACED))  # gives back
    assert {key: total for key, total in shard_totals(dynamodb, 5).items() if total} == before
    assert totals.count_again("hold#o-2")
    assert shard_totals(dynamodb, 5) == after


def test_a_hold_written_before_the_shards_gives_back_its_amount_on_each_counter(dynamodb: Any) -> None:
    """A hold from before this change has no split: its whole amount comes off each counter it names."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable")
    for key in (PARTNER_DAY, "customer#c-1#buy#TRY#2026-11-28"):
        dynamodb.put_item(TableName="LimitsTable", Item={"counter": {"S": key}, "total": {"N": "90"}})
    old = Hold(external_id="o-1", attempt=1, amount=Decimal(40), currency="TRY", day="2026-11-28",
               counters=[PARTNER_DAY, "customer#c-1#buy#TRY#2026-11-28"])  # fmt: skip
    item = {k: v for k, v in old.model_dump(mode="json").items() if k != "taken"}
    dynamodb.put_item(TableName="LimitsTable", Item={"counter": {"S": "hold#o-1"}, "state": {"S": "held"},
                      **{k: {"N": str(v)} if isinstance(v, int) else {"S": v} if isinstance(v, str)
                         else {"L": [{"S": c} for c in v]} for k, v in item.items()}})  # fmt: skip
    assert totals.give_back("hold#o-1", 1)
    assert totals.total(PARTNER_DAY) == totals.total("customer#c-1#buy#TRY#2026-11-28") == 50


def test_the_customers_day_stays_one_item_per_customer(dynamodb: Any) -> None:
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10)
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100),
                       limit_partner_day_amount=LIMIT)  # fmt: skip
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    limits.hold_for(priced("60"), "c-1", placed(1))
    keys = {item["counter"]["S"] for item in dynamodb.scan(TableName="LimitsTable")["Items"]}
    assert {key for key in keys if key.startswith("customer#")} == {"customer#c-1#buy#TRY#2026-11-28"}
    with pytest.raises(LimitExceeded) as refused:
        limits.hold_for(priced("50"), "c-1", placed(2))
    assert (refused.value.details[0]["limit"], refused.value.details[0]["remaining"]) == ("customer_day_amount", "40")


def test_the_shares_add_up_to_the_limit_to_the_cent() -> None:
    for most, count in ((Decimal(1000), 10), (Decimal("100.03"), 4), (Decimal("0.05"), 10), (Decimal(0), 3),
                        (Decimal("999999999999.99"), 100), (Decimal("7.5"), 1)):  # fmt: skip
        parts = shares(most, count)
        assert len(parts) == count and sum(parts) == most and min(parts) >= 0
        assert max(parts) - min(parts) <= Decimal("0.01") * count, "as even as cents allow"
    assert shares(Decimal("100.03"), 4) == [Decimal("25.03"), Decimal("25.00"), Decimal("25.00"), Decimal("25.00")]


def test_an_order_goes_to_one_shard_when_one_has_room_else_is_spread() -> None:
    rooms = [Decimal(10), Decimal(50), Decimal(0), Decimal(50)]
    for _ in range(20):
        ((index, take),) = spread(Decimal(40), rooms)
        assert index in (1, 3) and take == 40
    for _ in range(20):
        takes = spread(Decimal(105), rooms)
        assert sum(take for _, take in takes) == 105 and all(take <= rooms[i] for i, take in takes)
        assert all(take > 0 for _, take in takes)
    assert {tuple(spread(Decimal(110), rooms)) for _ in range(40)} >= {
        ((0, Decimal(10)), (1, Decimal(50)), (3, Decimal(50))),
        ((1, Decimal(50)), (3, Decimal(50)), (0, Decimal(10))),
    }, "from a random shard onward"
    assert spread(Decimal(5), [Decimal(-5), Decimal(5)]) == [(1, Decimal(5))]
    for _ in range(20):  # a shard past its share (a lowered limit) gives nothing, whatever the start
        takes = spread(Decimal(8), [Decimal(-5), Decimal(5), Decimal(5)])
        assert sorted(takes) in ([(1, Decimal(5)), (2, Decimal(3))], [(1, Decimal(3)), (2, Decimal(5))])
    for _ in range(20):  # cents count: the last cent of a shard's room is taken like any other
        assert sorted(spread(Decimal("1.01"), [Decimal(1), Decimal("0.01")])) == [(0, Decimal(1)), (1, Decimal("0.01"))]
    for _ in range(20):  # a shard with exactly the room for it takes it all: one item, not two
        assert spread(Decimal(40), [Decimal(10), Decimal(40)]) == [(1, Decimal(40))]


def test_the_shard_count_is_a_setting_from_one_to_a_hundred() -> None:
    assert LimitRules.from_env({}).limit_partner_day_shards == 10
    assert LimitRules.from_env({"LIMIT_PARTNER_DAY_SHARDS": ""}).limit_partner_day_shards == 10
    assert LimitRules.from_env({"LIMIT_PARTNER_DAY_SHARDS": "1"}).limit_partner_day_shards == 1
    assert LimitRules.from_env({"LIMIT_PARTNER_DAY_SHARDS": "100"}).limit_partner_day_shards == 100
    for wrong in ("0", "101", "ten"):
        with pytest.raises(SettingsError, match="LIMIT_PARTNER_DAY_SHARDS"):
            LimitRules.from_env({"LIMIT_PARTNER_DAY_SHARDS": wrong})


def test_the_shard_count_is_the_templates_parameter_with_the_settings_bounds() -> None:
    """A partner sets it at deploy (PartnerDailyShards), as the limits themselves; the template takes only
    what the setting takes, so a deploy never starts functions that refuse their environment."""
    template = load_template()
    spec = template["Parameters"]["PartnerDailyShards"]
    assert int(spec["Default"]) == DEFAULT_PARTNER_DAY_SHARDS
    allowed = {text for text in [*map(str, range(-1, MAX_SHARDS + 2)), "7.5", "1e1", "010", " 5", ""]
               if re.fullmatch(spec["AllowedPattern"], text)}  # fmt: skip
    assert allowed == {str(n) for n in range(1, MAX_SHARDS + 1)}  # what the setting takes, and nothing else
    for text in allowed:
        assert LimitRules.from_env({"LIMIT_PARTNER_DAY_SHARDS": text}).limit_partner_day_shards == int(text)
    for given, expected in ({}, 10), ({"PartnerDailyShards": "7"}, 7), ({"PartnerDailyShards": "100"}, 100):
        environment = function_environment(template, {}, given)
        assert LimitRules.from_env(environment).limit_partner_day_shards == expected


def test_a_shard_past_its_share_after_the_limit_is_lowered_refuses_by_the_days_total(dynamodb: Any) -> None:
    """Shards filled unevenly, then the limit lowered below the day's total: nothing more is placed, and
    the refusal says nothing remains, though some shards still have room under their new share."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10)
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    OrderLimits(rules, totals, None, now=lambda: NOON).hold_for(priced("300"), None, placed(1))
    lowered = OrderLimits(rules.model_copy(update={"limit_partner_day_amount": Decimal(320)}), totals, None,
                          now=lambda: NOON)  # fmt: skip
    with pytest.raises(LimitExceeded) as refused:
        lowered.hold_for(priced("30"), None, placed(2))
    assert refused.value.details[0]["remaining"] == "20"
    lowered.hold_for(priced("20"), None, placed(3))
    assert totals.total(PARTNER_DAY) == 320


def test_a_shard_count_lowered_during_the_day_still_counts_what_the_higher_shards_hold(dynamodb: Any) -> None:
    """A deploy lowers PartnerDailyShards from 10 to 5 during a day whose orders went to all ten shards:
    the new functions read shards 5 to 9 too (the counter's item records 10), so the day's total is whole
    and the limit holds. Without the record, they saw 450 of 900 and placed 200 more."""
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    before = OrderLimits(rules, DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10), None, now=lambda: NOON)
    for n in range(10):
        before.hold_for(priced("90"), None, placed(n))  # each shard (share 100) has room for one only
    assert len(shard_totals(dynamodb, 10)) == 10

    fewer = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=5)
    after = OrderLimits(rules, fewer, None, now=lambda: NOON)
    with pytest.raises(LimitExceeded) as refused:
        after.hold_for(priced("200"), None, placed(10))
    assert refused.value.details[0]["remaining"] == "100"
    after.hold_for(priced("100"), None, placed(11))
    assert fewer.total(PARTNER_DAY) == sum(shard_totals(dynamodb, 10).values()) == LIMIT


def test_the_shard_count_is_recorded_once_a_day_per_container_and_expires_with_the_day(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shard for each order that is never the counter's own item (whose total the record must not make).
    monkeypatch.setattr("minted_gateway.orders.dynamodb_limits.random.choice", lambda shards: shards[-1])
    counting = Counting(dynamodb)

    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    totals = DynamoDbDailyTotals(counting, "LimitsTable", shards=7)
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    for n in range(3):
        limits.hold_for(priced("10"), None, placed(n))
    assert counting.updated == [PARTNER_DAY]
    item = partner_day_item(dynamodb)
    assert item["shards"] == 7 and item["expires_at"] > NOON.timestamp()
    assert "total" not in item and totals.total(PARTNER_DAY) == 30  # the record alone adds nothing to the day
    # A container with fewer shards leaves the higher record; one with more raises it.
    for shards, n, kept in ((3, 3, 7), (9, 4, 9)):
        other = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=shards)
        OrderLimits(rules, other, None, now=lambda: NOON).hold_for(priced("10"), None, placed(n))
        assert partner_day_item(dynamodb)["shards"] == kept


def test_the_shard_count_record_is_written_again_after_a_conflict_and_is_a_503_when_it_stays_busy(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reservation writing the counter's own item at that moment makes DynamoDB refuse the record's write
    (TransactionConflictException): it is tried again, eight times at most, then the order is a 503."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    monkeypatch.setattr("minted_gateway.orders.dynamodb_limits._back_off", lambda attempt: None)

    class Busy:
        def __init__(self, conflicts: int) -> None:
            self.conflicts, self.tries = conflicts, 0

        def update_item(self, **kwargs: Any) -> Any:
            self.tries += 1
            if self.tries <= self.conflicts:
                raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "busy"}}, "UpdateItem")
            return dynamodb.update_item(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    briefly = Busy(conflicts=7)
    OrderLimits(rules, DynamoDbDailyTotals(briefly, "LimitsTable", shards=4), None, now=lambda: NOON).hold_for(
        priced("10"), None, placed(1))  # fmt: skip
    assert briefly.tries == 8 and partner_day_item(dynamodb)["shards"] == 4

    always = Busy(conflicts=1000)
    with pytest.raises(LedgerUnavailable):
        OrderLimits(rules, DynamoDbDailyTotals(always, "LimitsTable", shards=9), None, now=lambda: NOON).hold_for(
            priced("10"), None, placed(2))  # fmt: skip
    assert always.tries == 8 and partner_day_item(dynamodb)["shards"] == 4

    class Unreachable:
        def update_item(self, **kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.example")

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

    unreachable = OrderLimits(rules, DynamoDbDailyTotals(Unreachable(), "LimitsTable", shards=9), None,
                              now=lambda: NOON)  # fmt: skip
    with pytest.raises(LedgerUnavailable):  # the network, not DynamoDB: a 503 too, never a crash
        unreachable.hold_for(priced("10"), None, placed(3))


def test_a_container_remembers_each_counters_record_so_buys_and_sells_write_it_once_each(dynamodb: Any) -> None:
    counting = Counting(dynamodb)

    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    limits = OrderLimits(rules, DynamoDbDailyTotals(counting, "LimitsTable", shards=5), None, now=lambda: NOON)
    for n in range(4):
        side = "buy" if n % 2 == 0 else "sell"
        limits.hold_for(PricedOrder(side, "TRY", [PricedLine("GAU", Decimal(1), Decimal(10))], Decimal(10)), None,
                        placed(n))  # fmt: skip
    assert counting.updated == [PARTNER_DAY, PARTNER_DAY.replace("#buy#", "#sell#")]


def test_one_shard_records_nothing_and_a_forged_record_reads_at_most_a_hundred(dynamodb: Any) -> None:
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT)
    OrderLimits(rules, DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=1), None, now=lambda: NOON).hold_for(
        priced("10"), None, placed(1))  # fmt: skip
    assert "shards" not in partner_day_item(dynamodb)

    forged = {":n": {"N": "1000000000"}}
    dynamodb.update_item(TableName="LimitsTable", Key={"counter": {"S": PARTNER_DAY}},
                         UpdateExpression="SET shards = :n", ExpressionAttributeValues=forged)  # fmt: skip
    counting = Counting(dynamodb)
    assert DynamoDbDailyTotals(counting, "LimitsTable", shards=10).total(PARTNER_DAY) == 10
    assert counting.reads == [10, 90]


def test_the_partner_counter_is_read_in_one_request_whatever_its_shards(dynamodb: Any) -> None:
    counting = Counting(dynamodb)
    totals = DynamoDbDailyTotals(counting, "LimitsTable", shards=100)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("900"), None, placed(1))
    assert counting.reads == [100] and totals.total(PARTNER_DAY) == 900


def test_a_counter_passed_in_a_transaction_between_read_and_write_is_read_again(dynamodb: Any) -> None:
    """Another order fills the shard this one planned on between its read and its write: the shard's own
    condition refuses the write, and the order reads again and goes elsewhere (not refused, not 503)."""
    sneaked: list[str] = []

    class Sneaky:
        def transact_write_items(self, **kwargs: Any) -> Any:
            if not sneaked:
                update = kwargs["TransactItems"][1]["Update"]
                key = update["Key"]["counter"]["S"]
                sneaked.append(key)
                dynamodb.put_item(TableName="LimitsTable", Item={"counter": {"S": key}, "total": {"N": "100"}})
            return dynamodb.transact_write_items(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

    totals = DynamoDbDailyTotals(Sneaky(), "LimitsTable", shards=10)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("60"), None, placed(1))
    assert totals.total(PARTNER_DAY) == 160 and shard_totals(dynamodb, 10)[sneaked[0]] == 100


class Answering:
    """moto's DynamoDB with BatchGetItem leaving ``unprocessed`` of its answers to a next call, and (if
    ``shard_refuses``) every transaction cancelled by a shard's condition whatever the shard holds."""

    def __init__(self, client: Any, *, unprocessed: int = 0, shard_refuses: bool = False) -> None:
        self._client, self.unprocessed, self.shard_refuses = client, unprocessed, shard_refuses
        self.reads = 0
        self.transactions = 0

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.reads += 1
        if self.unprocessed:
            self.unprocessed -= 1
            return {"Responses": {"LimitsTable": []}, "UnprocessedKeys": kwargs["RequestItems"]}
        return self._client.batch_get_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        self.transactions += 1
        if self.shard_refuses:
            reasons = [{"Code": "None"}, *({"Code": "ConditionalCheckFailed"} for _ in kwargs["TransactItems"][1:])]
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                               "CancellationReasons": reasons}, "TransactWriteItems")  # fmt: skip
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_shards_left_unread_by_one_request_are_asked_for_again(dynamodb: Any) -> None:
    answering = Answering(dynamodb, unprocessed=2)
    totals = DynamoDbDailyTotals(answering, "LimitsTable", shards=10)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("950"), None, placed(1))
    assert answering.reads == 3
    answering.unprocessed = 7
    assert totals.total(PARTNER_DAY) == 950 and answering.reads == 11
    answering.unprocessed = 8  # never all read: the counters are unavailable, not zero
    with pytest.raises(LedgerUnavailable, match="unread"):
        totals.total(PARTNER_DAY)


def test_a_shard_that_keeps_refusing_is_a_503_after_a_bounded_number_of_tries(dynamodb: Any) -> None:
    answering = Answering(dynamodb, shard_refuses=True)
    totals = DynamoDbDailyTotals(answering, "LimitsTable", shards=10)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    with pytest.raises(LedgerUnavailable, match="kept changing"):
        limits.hold_for(priced("10"), None, placed(1))
    assert answering.transactions == 16


def test_a_customer_counter_that_refuses_in_the_transaction_names_the_customers_limit(dynamodb: Any) -> None:
    """The customer's counter is not read first: its own condition refuses, and the refusal says what
    the counter held, as DynamoDB returned it with the cancellation."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10)
    rules = LimitRules(limits_table="LimitsTable", limit_customer_day_amount=Decimal(100),
                       limit_partner_day_amount=LIMIT)  # fmt: skip
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    limits.hold_for(priced("70"), "c-1", placed(1))
    with pytest.raises(LimitExceeded) as refused:
        limits.hold_for(priced("40"), "c-1", placed(2))
    assert (refused.value.details[0]["limit"], refused.value.details[0]["remaining"]) == ("customer_day_amount", "30")
    assert totals.total(PARTNER_DAY) == 70, "the partner's shards took nothing for the refused order"


def test_the_counter_that_refuses_is_named_wherever_it_stands_in_the_transaction(dynamodb: Any) -> None:
    """The adapter takes its counters in any order: a full customer's day after the partner's shards (whose
    cancellation reasons come first and say nothing) is still a refusal naming the customer's counter,
    not a transaction read again until it gives up as a 503."""
    totals = DynamoDbDailyTotals(dynamodb, "LimitsTable", shards=10)
    customer = Counter("customer#c-1#buy#TRY#2026-11-28", "customer_day_amount", Decimal(100))
    partner = Counter(PARTNER_DAY, "partner_day_amount", LIMIT, sharded=True)

    def hold(name: str, amount: int, counters: list[Counter]) -> Hold:
        return Hold(external_id=name, attempt=1, amount=Decimal(amount), currency="TRY", day="2026-11-28",
                    counters=[c.key for c in counters])  # fmt: skip

    assert totals.reserve("hold#o-1", hold("o-1", 70, [customer]), [customer], 1) is True
    with pytest.raises(Refused) as refused:
        totals.reserve("hold#o-2", hold("o-2", 40, [partner, customer]), [partner, customer], 1)
    assert (refused.value.counter, refused.value.total) == (customer, Decimal(70))
    assert totals.total(PARTNER_DAY) == 0, "the partner's shards took nothing for the refused order"


def test_a_give_back_or_reservation_that_meets_a_conflicting_writer_is_tried_eight_times(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minted_gateway.orders import dynamodb_limits
    from tests.orders.test_limits import RacingDynamoDb

    monkeypatch.setattr(dynamodb_limits, "_back_off", lambda attempt: None)  # the count of tries, not the waits

    racing = RacingDynamoDb(dynamodb)
    totals = DynamoDbDailyTotals(racing, "LimitsTable", shards=10)
    limits = OrderLimits(LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT), totals, None,
                         now=lambda: NOON)  # fmt: skip
    limits.hold_for(priced("150"), None, placed(1))
    racing.conflicts = 3
    assert totals.give_back("hold#o-1", 1) and totals.total(PARTNER_DAY) == 0
    limits.hold_for(priced("150"), None, placed(2))
    racing.conflicts = 8
    with pytest.raises(LedgerUnavailable, match="busy"):
        totals.give_back("hold#o-2", 1)
    assert totals.total(PARTNER_DAY) == 150
    racing.conflicts = 7  # the eighth try goes through
    assert totals.give_back("hold#o-2", 1) and totals.total(PARTNER_DAY) == 0
    limits.hold_for(priced("150"), None, placed(5))
    racing.conflicts = 8  # a reservation too: eight conflicts, and the order is a 503 with nothing counted
    with pytest.raises(LedgerUnavailable, match="busy"):
        limits.hold_for(priced("10"), None, placed(3))
    assert totals.total(PARTNER_DAY) == 150 and racing.conflicts == 0
    racing.conflicts = 7
    limits.hold_for(priced("10"), None, placed(4))
    assert totals.total(PARTNER_DAY) == 160


# The Done-when line last: the slowest tests here (make mutate runs this file for every mutant, with -x).
def fifty_at_once(client: Any, shards: int) -> tuple[list[Decimal], list[tuple[Decimal, dict[str, Any]]],
                                                     list[Decimal], ConflictingDynamoDb, Decimal]:  # fmt: skip
    """50 orders of 15 to 60 (1,850 together) at once under a partner-day limit of 1,000, on a DynamoDB that
    conflicts: what was accepted, what was refused (with the refusal's detail), what failed otherwise,
    the double, and the highest day's total seen after any write went through."""
    conflicting = ConflictingDynamoDb(client, commit_seconds=COMMIT)
    totals = DynamoDbDailyTotals(conflicting, "LimitsTable", shards=shards)
    rules = LimitRules(limits_table="LimitsTable", limit_partner_day_amount=LIMIT, limit_partner_day_shards=shards)
    limits = OrderLimits(rules, totals, None, now=lambda: NOON)
    highest = [Decimal(0)]

    def look() -> None:  # after each transaction, while its items are still in flight
        highest[0] = max(highest[0], sum(shard_totals(client, shards).values(), Decimal(0)))

    conflicting.after_commit = look
    amounts = [Decimal(15 + 5 * (n % 10)) for n in range(50)]
    start = threading.Barrier(50)
    accepted: list[Decimal] = []
    refused: list[tuple[Decimal, dict[str, Any]]] = []
    failed: list[Decimal] = []

    def order(n: int) -> None:
        start.wait()
        try:
            limits.hold_for(priced(amounts[n]), None, placed(n))
            accepted.append(amounts[n])
        except LimitExceeded as refusal:
            refused.append((amounts[n], refusal.details[0]))
        except LedgerUnavailable:
            failed.append(amounts[n])

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(order, range(50)))
    return accepted, refused, failed, conflicting, highest[0]


def test_fifty_concurrent_orders_under_a_partner_day_limit_succeed_or_are_refused_by_it(dynamodb: Any) -> None:
    """The Done-when line: on a DynamoDB whose transactions conflict, every order is placed or refused
    naming the partner's day limit (none answered 503), the day's total never passes the limit, and each
    refusal was needed: what the day had left was less than the refused order."""
    accepted, refused, failed, conflicting, highest = fifty_at_once(dynamodb, shards=10)
    assert failed == [], f"{len(failed)} orders failed by conflict ({sum(conflicting.conflicts.values())} met)"
    assert len(accepted) + len(refused) == 50 and accepted and refused
    day = sum(shard_totals(dynamodb, 10).values(), Decimal(0))
    assert day == sum(accepted) <= LIMIT
    assert highest <= LIMIT and conflicting.committed == len(accepted)
    for amount, detail in refused:
        assert (detail["limit"], detail["limit_value"]) == ("partner_day_amount", str(LIMIT))
        assert Decimal(detail["remaining"]) < amount, "refused while the day had room for it"
        assert LIMIT - day < amount, "refused, yet the day ended with room for it"


def test_the_unsharded_counter_meets_itself_on_the_same_double(dynamodb: Any) -> None:
    """The same fifty on one counter item (shards=1): the double bites. Transactions meet on the one item
    and are cancelled (how many then run out of tries and are answered 503 depends on how the threads
    interleave: on a loaded machine they may all get through, so only the conflicts are asserted)."""
    accepted, _, _, conflicting, highest = fifty_at_once(dynamodb, shards=1)
    assert conflicting.conflicts[("LimitsTable", repr([("counter", [("S", PARTNER_DAY)])]))] > 0
    assert highest <= LIMIT and sum(shard_totals(dynamodb, 1).values(), Decimal(0)) == sum(accepted)
