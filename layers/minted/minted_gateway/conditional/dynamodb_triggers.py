"""Triggers in DynamoDB: one item per trigger, and a sparse index of the waiting ones by price.

Only a WAITING item carries ``index_key`` (currency#sku#price side#direction), so the index
``waiting_by_price`` holds exactly the triggers a refresh may fire, sorted by ``trigger_price``: a
refresh asks each partition for the crossed range only (a key condition, never a scan), and
however many triggers wait beyond the price, it reads none of them. Firing or cancelling removes
``index_key`` in the same conditional write that moves the state, so a trigger fires once.

A FIRED item carries ``fired_key`` and ``resend_at`` instead (the sparse index ``fired_by_time``)
until it settles: should its hand-off be lost (the refresh dies after the write, the queue or the bus
refuses), a later refresh finds it there by a key condition on ``resend_at`` and sends it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.conditional.triggers import Direction, Trigger, TriggerState
from minted_gateway.dynamodb import condition_failed, conditional_write, from_item, to_item
from minted_gateway.errors import TriggersUnavailable

INDEX = "waiting_by_price"
FIRED_INDEX = "fired_by_time"
FIRED_KEY = "FIRED"  # fired_key's one value: the index's one partition
_FIRED_ATTRIBUTES = ("fired_key", "resend_at")
_KEY_CONDITIONS = {"at_or_below": "#key = :key AND #price >= :price", "at_or_above": "#key = :key AND #price <= :price"}


class DynamoDbTriggerStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, trigger: Trigger, purge_at: int) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=waiting_item(trigger, purge_at),
                                  ConditionExpression="attribute_not_exists(trigger_id)")  # fmt: skip
        except ClientError as exc:
            if not condition_failed(exc):  # taken: the caller reads the row and compares
                raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None

    def get(self, trigger_id: str) -> Trigger | None:
        try:
            response = self._client.get_item(TableName=self._table, Key=_key(trigger_id), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        item = response.get("Item")
        return _trigger(item) if item else None

    def cancel(self, trigger: Trigger, now: str) -> Trigger | None:
        return self._move(trigger, TriggerState.WAITING, {"state": TriggerState.CANCELLED.value, "cancelled_at": now},
                          remove=("index_key",))  # fmt: skip

    def crossed(self, key: str, direction: Direction, price: Decimal, now: int, limit: int) -> list[Trigger]:
        found: list[Trigger] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": _KEY_CONDITIONS[direction],
            # Expired ones stay in the index until TTL removes them; read, never fired.
            "FilterExpression": "#expires > :now",
            "ExpressionAttributeNames": {"#key": "index_key", "#price": "trigger_price", "#expires": "expires_at"},
            "ExpressionAttributeValues": to_item({":key": key, ":price": price, ":now": now}),
            "Limit": limit,
        }
        while len(found) < limit:
            try:
                response = self._client.query(**request)
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc) from None
            found.extend(_trigger(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    def fire(self, trigger: Trigger, price: Decimal, fired_at: str, now: int, resend_at: int) -> Trigger | None:
        changes = {"state": TriggerState.FIRED.value, "fired_at": fired_at, "fired_price": price,
                   "fired_key": FIRED_KEY, "resend_at": resend_at, "sends": 1}  # fmt: skip
        return self._move(trigger, TriggerState.WAITING, changes, remove=("index_key",), unexpired_at=now)

    def unfire(self, trigger: Trigger) -> bool:
        changes = {"state": TriggerState.WAITING.value, "fired_at": None, "fired_price": None,
                   "index_key": trigger.index_key}  # fmt: skip
        return self._move(trigger, TriggerState.FIRED, changes, remove=_FIRED_ATTRIBUTES) is not None

    def settle(self, trigger: Trigger, changes: Mapping[str, Any]) -> Trigger | None:
        return self._move(trigger, TriggerState.FIRED, changes, remove=_FIRED_ATTRIBUTES)

    def overdue(self, now: int, limit: int) -> list[Trigger]:
        try:
            response = self._client.query(
                TableName=self._table, IndexName=FIRED_INDEX, KeyConditionExpression="#key = :key AND #at <= :now",
                ExpressionAttributeNames={"#key": "fired_key", "#at": "resend_at"},
                ExpressionAttributeValues=to_item({":key": FIRED_KEY, ":now": now}), Limit=limit,
            )  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        return [_trigger(item) for item in response.get("Items", [])]  # the rest: the next refresh's

    def reclaim(self, trigger: Trigger, resend_at: int) -> Trigger | None:
        # Only from the resend_at this refresh read: of two refreshes that read it, one sends it.
        return self._move(trigger, TriggerState.FIRED, {"resend_at": resend_at, "sends": trigger.sends + 1},
                          resend_at=trigger.resend_at)  # fmt: skip

    def stop_resending(self, trigger: Trigger) -> bool:
        return self._move(trigger, TriggerState.FIRED, {}, remove=_FIRED_ATTRIBUTES) is not None

    def _move(self, trigger: Trigger, expected: TriggerState, changes: Mapping[str, Any], *,
              remove: tuple[str, ...] = (), unexpired_at: int | None = None,
              resend_at: int | None = None) -> Trigger | None:  # fmt: skip
        """One conditional write from ``expected``; None when the row is no longer in it."""
        values = {":expected": expected.value, ":one": 1, **{f":{name}": value for name, value in changes.items()}}
        sets = [f"#{name} = :{name}" for name in changes] + ["#version = #version + :one"]
        names = {f"#{name}": name for name in changes} | {"#state": "state", "#version": "version"}
        condition = "#state = :expected"
        if unexpired_at is not None:
            condition += " AND #expires > :now"
            names["#expires"] = "expires_at"
            values[":now"] = unexpired_at
        if resend_at is not None:
            condition += " AND #resend_at = :seen"
            names["#resend_at"] = "resend_at"
            values[":seen"] = resend_at
        expression = "SET " + ", ".join(sets)
        if remove:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in remove)
            names |= {f"#{name}": name for name in remove}
        response = conditional_write(
            self._client.update_item, _unavailable,
            TableName=self._table, Key=_key(trigger.trigger_id), UpdateExpression=expression,
            ConditionExpression=condition, ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values), ReturnValues="ALL_NEW",
        )  # fmt: skip
        return None if response is None else _trigger(response["Attributes"])


def waiting_item(trigger: Trigger, purge_at: int) -> dict[str, Any]:
    """A new trigger's item: in the price index (``index_key``) until it fires or is cancelled."""
    return to_item({**_plain(trigger), "index_key": trigger.index_key, "purge_at": purge_at})


def _key(trigger_id: str) -> dict[str, Any]:
    return {"trigger_id": {"S": trigger_id}}


def _plain(trigger: Trigger) -> dict[str, Any]:
    data = trigger.model_dump(mode="python", exclude_none=True)
    data["state"] = trigger.state.value
    if trigger.caller is not None:
        data["caller"] = trigger.caller.model_dump(exclude_none=True)
    return data


def _trigger(item: dict[str, Any]) -> Trigger:
    return Trigger.model_validate(from_item(item))


def _unavailable(exc: Exception) -> TriggersUnavailable:
    return TriggersUnavailable(f"The triggers table is unavailable ({type(exc).__name__}).", retry_after=2)
