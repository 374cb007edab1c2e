"""The plans table: one item per plan (``item`` = ``plan``) and one per run (``item`` = ``run#<period>``),
under the plan's id. Two sparse indexes: ``by_due`` holds active plans only (``due`` is set while a
plan is active), by next run, so the dispatcher reads what is due and nothing else; ``by_customer``
holds plans only (runs carry no customer), newest first.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, conditional_write, error_code, from_item, to_item
from minted_gateway.errors import InvalidCursor, LedgerUnavailable
from minted_gateway.plans.calendar import STORED
from minted_gateway.plans.plan import FINAL_RUN_STATES, Plan, PlanRun, PlansPage
from minted_gateway.plans.requests import PLAN_ID_PATTERN

PLAN_ITEM = "plan"
RUN_PREFIX = "run#"
_PLAN_ID = re.compile(PLAN_ID_PATTERN)
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # what _stamp writes
DUE = "due"  # the one partition of by_due: the dispatcher reads it in order of next run


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan_item(plan: Plan) -> dict[str, Any]:
    data = plan.model_dump(mode="json", exclude_none=True)
    data.update(item=PLAN_ITEM, listed=f"{_stamp(plan.created_at)}#{plan.plan_id}", version=plan.version)
    for key in ("amount", "grams"):
        if getattr(plan, key) is not None:
            data[key] = getattr(plan, key)
    if plan.status == "active" and plan.next_run_at is not None:
        data["due"] = DUE
        data["next_run_at"] = _stamp(plan.next_run_at)
    else:
        data.pop("next_run_at", None)
    return data


def _plan(data: dict[str, Any]) -> Plan:
    return Plan.model_validate({k: v for k, v in data.items() if k not in ("item", "listed", "due")}, context=STORED)


def _run(data: dict[str, Any]) -> PlanRun:
    return PlanRun.model_validate({k: v for k, v in data.items() if k != "item"})


def _unavailable(exc: Exception) -> LedgerUnavailable:
    reason = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return LedgerUnavailable(f"The plans table is unavailable ({reason}); try again.", retry_after=2)


class DynamoDbPlanStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _key(self, plan_id: str, item: str) -> dict[str, Any]:
        return {"plan_id": {"S": plan_id}, "item": {"S": item}}

    def _put(self, data: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> bool:
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": to_item(data), "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = to_item(values)
        return conditional_write(self._client.put_item, _unavailable, **kwargs) is not None

    def _get(self, plan_id: str, item: str) -> dict[str, Any] | None:
        try:
            found = self._client.get_item(TableName=self._table, Key=self._key(plan_id, item), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        return from_item(found["Item"]) if "Item" in found else None

    def _query(self, **kwargs: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._client.query(TableName=self._table, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        return answer

    # ---------------------------------------------------------------- plans
    def create(self, plan: Plan) -> Plan | None:
        if self._put(_plan_item(plan), "attribute_not_exists(plan_id)"):
            return None
        return self.get(plan.plan_id)

    def get(self, plan_id: str) -> Plan | None:
        data = self._get(plan_id, PLAN_ITEM)
        return _plan(data) if data else None

    def replace(self, plan: Plan, expected_version: int) -> bool:
        return self._put(_plan_item(plan), "version = :expected", {":expected": expected_version})

    def by_customer(self, customer_external_id: str, limit: int, cursor: str | None) -> PlansPage:
        kwargs: dict[str, Any] = {
            "IndexName": "by_customer",
            "KeyConditionExpression": "customer_external_id = :c",
            "ExpressionAttributeValues": {":c": {"S": customer_external_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode(cursor, customer_external_id)
        answer = self._query(**kwargs)
        last = answer.get("LastEvaluatedKey")
        return PlansPage([_plan(from_item(i)) for i in answer.get("Items", [])], _encode(last) if last else None)

    def due(self, now: datetime, limit: int) -> list[Plan]:
        answer = self._query(
            IndexName="by_due",
            KeyConditionExpression="due = :due AND next_run_at <= :now",
            ExpressionAttributeValues={":due": {"S": DUE}, ":now": {"S": _stamp(now)}},
            Limit=limit,
        )
        return [_plan(from_item(i)) for i in answer.get("Items", [])]

    def advance(self, plan: Plan, next_run_at: datetime) -> bool:
        assert plan.next_run_at is not None  # noqa: S101 - only a due plan is advanced
        advanced = conditional_write(
            self._client.update_item,
            _unavailable,
            TableName=self._table,
            Key=self._key(plan.plan_id, PLAN_ITEM),
            # A new version too: a change read before this (PATCH) then fails its condition and reads again,
            # rather than write the old next_run_at back and make the dispatched period due again.
            UpdateExpression="SET next_run_at = :next, #v = #v + :one",
            ConditionExpression="next_run_at = :was AND #s = :active",
            ExpressionAttributeNames={"#s": "status", "#v": "version"},
            ExpressionAttributeValues=to_item(
                {":next": _stamp(next_run_at), ":was": _stamp(plan.next_run_at), ":active": "active", ":one": 1}
            ),
        )
        return advanced is not None

    # ---------------------------------------------------------------- runs
    def runs(self, plan_id: str, limit: int) -> list[PlanRun]:
        answer = self._query(
            KeyConditionExpression="plan_id = :p AND begins_with(#i, :run)",
            ExpressionAttributeNames={"#i": "item"},
            ExpressionAttributeValues={":p": {"S": plan_id}, ":run": {"S": RUN_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_run(from_item(i)) for i in answer.get("Items", [])]

    def run(self, plan_id: str, period: str) -> PlanRun | None:
        data = self._get(plan_id, RUN_PREFIX + period)
        return _run(data) if data else None

    def start_run(self, run: PlanRun) -> PlanRun:
        if self._put(_run_item(run), "attribute_not_exists(plan_id)"):
            return run
        stored = self.run(run.plan_id, run.period)
        assert stored is not None  # noqa: S101 - runs are never deleted
        return stored

    def fix_grams(self, plan_id: str, period: str, grams: Decimal) -> Decimal:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(plan_id, RUN_PREFIX + period),
                UpdateExpression="SET grams = :g",
                ConditionExpression="attribute_exists(plan_id) AND attribute_not_exists(grams)",
                ExpressionAttributeValues=to_item({":g": grams}),
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise _unavailable(exc) from None
            stored = self.run(plan_id, period)
            if stored is None or stored.grams is None:
                raise _unavailable(exc) from None
            return stored.grams
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
        return grams

    def finish_run(self, run: PlanRun) -> bool:
        finals = {f":f{i}": state for i, state in enumerate(FINAL_RUN_STATES)}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(_run_item(run)),
            "ConditionExpression": f"attribute_not_exists(plan_id) OR NOT (#s IN ({', '.join(finals)}))",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": to_item(finals),
        }
        return conditional_write(self._client.put_item, _unavailable, **kwargs) is not None

    def mark_published(self, run: PlanRun) -> None:
        try:
            self._client.update_item(TableName=self._table, Key=self._key(run.plan_id, RUN_PREFIX + run.period),
                                     UpdateExpression="SET published = :t",
                                     ExpressionAttributeValues={":t": {"BOOL": True}})  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None


def _run_item(run: PlanRun) -> dict[str, Any]:
    data = run.model_dump(mode="json", exclude_none=True)
    for key in ("grams", "total"):
        if getattr(run, key) is not None:
            data[key] = getattr(run, key)
    data["item"] = RUN_PREFIX + run.period
    return data


def _encode(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, customer_external_id: str) -> dict[str, Any]:
    """The start key of a page, from a cursor of this customer's plans: one this store wrote, or refused.

    Its values are checked as they were written (a plan's own item, its listing ending in its id), not
    only by name: DynamoDB refuses an empty or mistyped key with a ValidationException, which would
    answer a bad cursor as an outage (503) rather than 422 (moto takes it; dynalite shows it)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = {"plan_id", "item", "customer_external_id", "listed"}
        if not isinstance(plain, dict) or set(plain) != keys or plain["customer_external_id"] != customer_external_id:
            raise ValueError
        plan_id, listed = plain["plan_id"], plain["listed"]
        if not (isinstance(plan_id, str) and _PLAN_ID.fullmatch(plan_id) and plain["item"] == PLAN_ITEM
                and isinstance(listed, str) and listed.endswith(f"#{plan_id}")
                and _STAMP.fullmatch(listed[: -len(plan_id) - 1])):  # fmt: skip
            raise ValueError
        return {name: {"S": value} for name, value in plain.items()}
    except (ValueError, TypeError):
        raise InvalidCursor() from None
