"""The day's limit counters on DynamoDB (LimitsTable), and beside them the hold each attempt at an
order reserved: a counter moves only in one transaction with its hold, so no amount is counted
twice or given back twice. The ledger rows are not written here (nor streamed as order events)."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, error_code, from_item, to_item
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.limits import Counter, Hold, Refused

HELD, GIVEN_BACK = "held", "given_back"
# DynamoDB cancels a transaction that meets another on the same item (TransactionConflict) rather than
# waiting: busy counters are retried a few times, briefly, before the order is answered 503.
CONFLICT_ATTEMPTS = 8


class DynamoDbDailyTotals:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def reserve(self, key: str, hold: Hold, counters: list[Counter], expires_at: int) -> bool:
        item = {"counter": key, "state": HELD, "expires_at": expires_at, **hold.model_dump()}
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(#key) OR #state = :given_back",
                "ExpressionAttributeNames": {"#key": "counter", "#state": "state"},
                "ExpressionAttributeValues": to_item({":given_back": GIVEN_BACK}),
            }
        }
        adds = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"counter": {"S": counter.key}},
                    "UpdateExpression": "SET #total = if_not_exists(#total, :zero) + :amount, #expires = :expires",
                    "ConditionExpression": "attribute_not_exists(#total) OR #total <= :room",
                    "ExpressionAttributeNames": {"#total": "total", "#expires": "expires_at"},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":zero": Decimal(0),
                            ":amount": hold.amount,
                            ":expires": expires_at,
                            ":room": counter.most - hold.amount,
                        }
                    ),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for counter in counters
        ]
        for _ in range(CONFLICT_ATTEMPTS):
            reasons = self._transact([put, *adds])
            if reasons is None:
                return True
            if reasons[0].get("Code") != "ConditionalCheckFailed":
                break
            if self._take_over(key, hold.attempt):
                return False  # the order holds already: counted once, now for this attempt
            # given back between the two writes: reserve afresh
        else:
            raise _unavailable("the order's hold kept changing")
        for counter, reason in zip(counters, reasons[1:], strict=True):
            if reason.get("Code") == "ConditionalCheckFailed":
                old = reason.get("Item") or {}
                raise Refused(counter, Decimal(old["total"]["N"]) if "total" in old else None)
        raise _unavailable(f"transaction cancelled ({', '.join(str(r.get('Code')) for r in reasons)})")

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
        hold = Hold.model_validate({name: held[name] for name in Hold.model_fields})
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
                    "ExpressionAttributeValues": to_item({":change": sign * hold.amount}),
                }
            }
            for counter in hold.counters
        ]
        reasons = self._transact([mark, *changes])
        if reasons is None:
            return True
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            return False
        raise _unavailable(f"transaction cancelled ({', '.join(str(r.get('Code')) for r in reasons)})")

    def total(self, key: str) -> Decimal:
        item = self._get(key) or {}
        return Decimal(item.get("total", 0))

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(TableName=self._table, Key={"counter": {"S": key}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(type(exc).__name__) from None
        item = response.get("Item")
        return from_item(item) if item else None

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when written; else the cancellation reasons (a conflict with another writer is retried)."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return None
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise _unavailable(error_code(exc)) from None
                reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
                if not any(r.get("Code") == "TransactionConflict" for r in reasons):
                    return reasons
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret
            except BotoCoreError as exc:
                raise _unavailable(type(exc).__name__) from None
        raise _unavailable("the day's counters stayed busy")


def _unavailable(reason: str) -> LedgerUnavailable:
    return LedgerUnavailable(f"The order ledger is unavailable ({reason}); try again.", retry_after=2)
