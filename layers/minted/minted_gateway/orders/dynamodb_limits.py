"""The day's limit counters on DynamoDB (LimitsTable), and beside them the hold each attempt at an
order reserved: a counter moves only in one transaction with its hold, so no amount is counted
twice or given back twice. The partner's counter, which every order meets, is spread over shards,
each with its share of the limit (docs/decisions.md, "No hot counter"); the hold records what it
took from each, and a give-back returns exactly that. The counter's own item records the most
shards the day was written with, so a function deployed with fewer during the day counts them all.
The ledger rows are not written here (nor streamed as order events)."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, error_code, from_item, to_item
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.limits import DEFAULT_PARTNER_DAY_SHARDS, MAX_SHARDS, Counter, Hold, Refused

HELD, GIVEN_BACK = "held", "given_back"
# DynamoDB cancels a transaction that meets another on the same item (TransactionConflict) rather than
# waiting: a reservation is tried again (on a sharded counter, re-read and re-planned on other shards)
# a few times, briefly, before the order is answered 503.
CONFLICT_ATTEMPTS = 8
# A shard that filled between the read and the write refuses its part: read again and take elsewhere,
# at most this many times (each such refusal means another order's reservation went through).
RESERVE_ROUNDS = 16
# Counters whose shard count this container recorded (one a day per sharded counter); forgotten past this.
ANNOUNCED_KEPT = 32


def shard_keys(key: str, shards: int) -> list[str]:
    """The items a counter is spread over: the counter's own key (so one shard is the unsharded
    layout), then ``<key>#1`` ... ``<key>#<shards-1>``."""
    return [key, *(f"{key}#{index}" for index in range(1, shards))]


def shares(most: Decimal, shards: int) -> list[Decimal]:
    """``most`` split into ``shards`` shares to the cent that add up to it exactly (the first takes what
    does not divide)."""
    each = most * 100 // shards / 100  # whole cents, written as the limit is (100, not 100.00)
    return [most - each * (shards - 1), *([each] * (shards - 1))]


def spread(amount: Decimal, rooms: list[Decimal]) -> list[tuple[int, Decimal]]:
    """Which shards take how much of ``amount``: one shard with room for all of it, chosen at random
    (concurrent orders land on different items); else from a random shard onward, each taking what
    room it has (none from a shard past its share). The caller checked that the room is enough."""
    whole = [index for index, room in enumerate(rooms) if room >= amount]
    if whole:
        return [(random.choice(whole), amount)]  # noqa: S311 - spreading load, not a secret
    start, left, takes = random.randrange(len(rooms)), amount, []  # noqa: S311
    for step in range(len(rooms)):
        index = (start + step) % len(rooms)
        take = min(rooms[index], left)
        if take > 0:
            takes.append((index, take))
            left -= take
    return takes


class DynamoDbDailyTotals:
    def __init__(self, client: Any, table_name: str, *, shards: int = DEFAULT_PARTNER_DAY_SHARDS) -> None:
        self._client = client
        self._table = table_name
        self._shards = shards  # how many items a sharded counter is spread over
        self._announced: set[str] = set()  # sharded counters whose item records at least our count

    def reserve(self, key: str, hold: Hold, counters: list[Counter], expires_at: int) -> bool:
        for counter in counters:
            if counter.sharded:
                self._announce(counter.key, expires_at)
        conflicts = 0
        for _ in range(RESERVE_ROUNDS):
            plan = self._plan(hold.amount, counters)
            taken = {item: take for _, item, take, _ in plan}
            item = {"counter": key, "state": HELD, "expires_at": expires_at, **hold.model_dump(), "taken": taken}
            put = {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(#key) OR #state = :given_back",
                    "ExpressionAttributeNames": {"#key": "counter", "#state": "state"},
                    "ExpressionAttributeValues": to_item({":given_back": GIVEN_BACK}),
                }
            }
            adds = [self._add(item_key, take, share - take, expires_at) for _, item_key, take, share in plan]
            reasons = self._transact_once([put, *adds])
            if reasons is None:
                return True
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                conflicts += 1
                if conflicts >= CONFLICT_ATTEMPTS:
                    raise _unavailable("the day's counters stayed busy")
                _back_off(conflicts)
                continue
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                if self._take_over(key, hold.attempt):
                    return False  # the order holds already: counted once, now for this attempt
                continue  # given back between the two writes: reserve afresh
            for (counter, _, _, _), reason in zip(plan, reasons[1:], strict=True):
                if reason.get("Code") != "ConditionalCheckFailed":
                    continue
                if counter.sharded:
                    break  # the shard filled since it was read: read again
                old = reason.get("Item") or {}
                raise Refused(counter, Decimal(old["total"]["N"]) if "total" in old else None)
            else:
                raise _unavailable(f"transaction cancelled ({', '.join(str(r.get('Code')) for r in reasons)})")
        raise _unavailable("the day's counters kept changing")

    def _plan(self, amount: Decimal, counters: list[Counter]) -> list[tuple[Counter, str, Decimal, Decimal]]:
        """Each item the reservation adds to: (its counter, its key, what it takes, the most it may hold).
        A sharded counter's shards are read, and it refuses when all their room is less than ``amount``."""
        plan = []
        for counter in counters:
            if not counter.sharded:
                plan.append((counter, counter.key, amount, counter.most))
                continue
            keys, totals = self._day(counter.key)
            most = shares(counter.most, self._shards)
            rooms = [share - totals.get(k, Decimal(0)) for k, share in zip(keys, most, strict=True)]
            # Refused only by what the day has left: the shards' room adds up to that (the shares add up to
            # the limit), or to more when a limit lowered during the day finds some shard past its share.
            held = sum(totals.values(), Decimal(0))
            if amount > counter.most - held:
                raise Refused(counter, held)
            plan += [(counter, keys[index], take, most[index]) for index, take in spread(amount, rooms)]
        return plan

    def _add(self, key: str, amount: Decimal, room: Decimal, expires_at: int) -> dict[str, Any]:
        """Add ``amount`` to the counter (or shard) ``key`` on the condition it held at most ``room``."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"counter": {"S": key}},
                "UpdateExpression": "SET #total = if_not_exists(#total, :zero) + :amount, #expires = :expires",
                "ConditionExpression": "attribute_not_exists(#total) OR #total <= :room",
                "ExpressionAttributeNames": {"#total": "total", "#expires": "expires_at"},
                "ExpressionAttributeValues": to_item(
                    {":zero": Decimal(0), ":amount": amount, ":expires": expires_at, ":room": room}
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _take_over(self, key: str, attempt: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"counter": {"S": key}},
                UpdateExpression="SET #attempt = :attempt",
                ConditionExpression="#state = :held",
                ExpressionAttributeNames={"#attempt": "attempt", "#state": "state"},
                ExpressionAttributeValues=to_item({":attempt": attempt, ":held": HELD}),
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise _unavailable(error_code(exc)) from None
        except BotoCoreError as exc:
            raise _unavailable(type(exc).__name__) from None
        return True

    def give_back(self, key: str, attempt: int) -> bool:
        held = self._get(key)
        # An earlier attempt's hold goes back too: the row moved past it (a retry refused before it took the
        # hold over); only a later attempt's hold, taken over since the caller read the row, stays.
        if held is None or held.get("state") != HELD or held.get("attempt", 0) > attempt:
            return False
        # False: given back by another call a moment ago, or taken over by a retry
        return self._move(key, held, to=GIVEN_BACK, sign=-1, attempt=attempt)

    def count_again(self, key: str) -> bool:
        held = self._get(key)
        if held is None or held.get("state") != GIVEN_BACK:
            return False
        return self._move(key, held, to=HELD, sign=1)  # False: counted again by another call a moment ago

    def _move(self, key: str, held: dict[str, Any], *, to: str, sign: int, attempt: int | None = None) -> bool:
        """Mark the hold ``to`` (on the condition it is still in the other state, and for a give-back still
        ``attempt``'s or an earlier one's) and add ``sign`` times its amount to its counters, together;
        False when the condition failed."""
        hold = Hold.model_validate({name: held[name] for name in Hold.model_fields if name in held})
        condition, values = "#state = :from", {":from": held["state"], ":to": to}
        if attempt is not None:
            condition, values = condition + " AND #attempt <= :attempt", {**values, ":attempt": attempt}
        mark = {
            "Update": {
                "TableName": self._table,
                "Key": {"counter": {"S": key}},
                "UpdateExpression": "SET #state = :to",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {
                    "#state": "state",
                    **({"#attempt": "attempt"} if attempt is not None else {}),
                },
                "ExpressionAttributeValues": to_item(values),
            }
        }
        changes = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"counter": {"S": counter}},
                    "UpdateExpression": "ADD #total :change",
                    "ExpressionAttributeNames": {"#total": "total"},
                    "ExpressionAttributeValues": to_item({":change": sign * amount}),
                }
            }
            for counter, amount in hold.changes().items()
        ]
        reasons = self._transact([mark, *changes])
        if reasons is None:
            return True
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            return False
        raise _unavailable(f"transaction cancelled ({', '.join(str(r.get('Code')) for r in reasons)})")

    def total(self, key: str) -> Decimal:
        return sum(self._day(key)[1].values(), Decimal(0))

    def _announce(self, key: str, expires_at: int) -> None:
        """Record on the counter's own item that the day is spread over at least our shards, before this
        container first writes to them that day: a function deployed with fewer shards during the day reads
        the record and counts the shards past its own too (else it would not see what they hold)."""
        if self._shards == 1 or key in self._announced:
            return
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={"counter": {"S": key}},
                    UpdateExpression="SET #shards = :shards, #expires = if_not_exists(#expires, :expires)",
                    ConditionExpression="attribute_not_exists(#shards) OR #shards < :shards",
                    ExpressionAttributeNames={"#shards": "shards", "#expires": "expires_at"},
                    ExpressionAttributeValues=to_item({":shards": self._shards, ":expires": expires_at}),
                )
            except ClientError as exc:
                if error_code(exc) == "TransactionConflictException":  # a reservation is writing the item
                    _back_off(attempt)
                    continue
                if not condition_failed(exc):  # failed: it records as many or more already
                    raise _unavailable(error_code(exc)) from None
            except BotoCoreError as exc:
                raise _unavailable(type(exc).__name__) from None
            if len(self._announced) >= ANNOUNCED_KEPT:
                self._announced.clear()
            self._announced.add(key)
            return
        raise _unavailable("the day's counters stayed busy")

    def _day(self, key: str) -> tuple[list[str], dict[str, Decimal]]:
        """The keys of our shards of the counter ``key``, and the totals of every shard of its day that
        exists: past ours too when the counter's item records more (a count lowered during the day)."""
        keys = shard_keys(key, self._shards)
        totals, recorded = self._totals(keys)
        if recorded > self._shards:
            totals.update(self._totals(shard_keys(key, recorded)[self._shards :])[0])
        return keys, totals

    def _totals(self, keys: list[str]) -> tuple[dict[str, Decimal], int]:
        """The totals of the counters (or shards) ``keys`` that exist, in one consistent read, and the most
        shards any of them records (0: none does)."""
        wanted: dict[str, Any] = {
            self._table: {"Keys": [{"counter": {"S": k}} for k in keys], "ConsistentRead": True,
                          "ProjectionExpression": "#key, #total, #shards",
                          "ExpressionAttributeNames": {"#key": "counter", "#total": "total", "#shards": "shards"}}
        }  # fmt: skip
        totals: dict[str, Decimal] = {}
        recorded = 0
        for _ in range(CONFLICT_ATTEMPTS):
            try:
                response = self._client.batch_get_item(RequestItems=wanted)
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(type(exc).__name__) from None
            for item in response.get("Responses", {}).get(self._table, []):
                totals[item["counter"]["S"]] = Decimal(item["total"]["N"]) if "total" in item else Decimal(0)
                if "shards" in item:
                    recorded = max(recorded, min(int(item["shards"]["N"]), MAX_SHARDS))
            wanted = response.get("UnprocessedKeys") or {}
            if not wanted:
                return totals, recorded
        raise _unavailable("the day's counters stayed unread")

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(TableName=self._table, Key={"counter": {"S": key}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(type(exc).__name__) from None
        item = response.get("Item")
        return from_item(item) if item else None

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when written; else the cancellation reasons (a conflict with another writer is retried)."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            reasons = self._transact_once(items)
            if reasons is None or not any(r.get("Code") == "TransactionConflict" for r in reasons):
                return reasons
            _back_off(attempt)
        raise _unavailable("the day's counters stayed busy")

    def _transact_once(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when written; else the cancellation reasons, one per item."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise _unavailable(error_code(exc)) from None
            reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
            return reasons
        except BotoCoreError as exc:
            raise _unavailable(type(exc).__name__) from None
        return None


def _back_off(attempt: int) -> None:
    """Wait a random moment, longer after each conflict, so the writers that met do not meet again."""
    time.sleep(random.uniform(0, 0.02 * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not a secret


def _unavailable(reason: str) -> LedgerUnavailable:
    return LedgerUnavailable(f"The order ledger is unavailable ({reason}); try again.", retry_after=2)
