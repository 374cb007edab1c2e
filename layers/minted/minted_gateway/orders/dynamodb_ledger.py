"""The order ledger on DynamoDB: one item per external_id, every change a conditional write.

A new order costs two writes and no read: a conditional put claims the external_id (returning the
stored row when it is taken, so a replay needs no second call) and a conditional update records
Minted's answer.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, error_code, from_item, to_item
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.history import HistoryPage, IndexRead, Position
from minted_gateway.orders.ledger import LedgerConflict
from minted_gateway.orders.record import HistoryEntry, OrderRecord

# The history indexes' partition keys; both sort by listed_at (time, then external_id).
INDEX_KEYS = {"by_wallet": "wallet", "by_time": "listed"}
# Index pages one history page may read: a selective filter returns a short page with a cursor
# rather than reading the whole ledger in one request.
MAX_READS_PER_PAGE = 5


class DynamoDbOrderLedger:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def claim(self, record: OrderRecord) -> OrderRecord | None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(record.model_dump(mode="python", exclude_none=True)),
                ConditionExpression="attribute_not_exists(external_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if not condition_failed(exc):
                raise _unavailable(exc) from None
            stored: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            # An implementation that ignores ReturnValuesOnConditionCheckFailure costs one read more.
            return OrderRecord.model_validate(from_item(stored)) if stored else self.get(record.external_id)
        except BotoCoreError as exc:
            raise _unavailable(exc) from None

    def get(self, external_id: str) -> OrderRecord | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"external_id": {"S": external_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        item = response.get("Item")
        return OrderRecord.model_validate(from_item(item)) if item else None

    def update(self, record: OrderRecord, changes: dict[str, Any], entry: HistoryEntry) -> OrderRecord:
        names, values, expression = _update_expression(changes, entry)
        names["#version"] = "version"
        values.update({":expected": record.version, ":next": record.version + 1})
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"external_id": {"S": record.external_id}},
                UpdateExpression=expression.replace("SET ", "SET #version = :next, ", 1),
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise LedgerConflict(record.external_id) from None
            raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
        return OrderRecord.model_validate(from_item(response["Attributes"]))

    def annotate(self, external_id: str, owner: str, changes: dict[str, Any], entry: HistoryEntry) -> bool:
        names, values, expression = _update_expression(changes, entry)
        names["#owner"] = "workflow_owner"
        values[":owner"] = owner
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"external_id": {"S": external_id}},
                UpdateExpression=expression,
                ConditionExpression="#owner = :owner",  # false when the row is absent, too
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise _unavailable(exc) from None
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
        return True

    def read(self, request: IndexRead) -> HistoryPage:
        """Newest first; filters beyond the key as a FilterExpression, read until the page is full."""
        names = {"#key": INDEX_KEYS[request.index]}
        values: dict[str, Any] = {":key": request.key}
        condition = "#key = :key"
        if request.start is not None or request.end is not None:
            names["#at"] = "listed_at"
        if request.start is not None and request.end is not None:
            condition += " AND #at BETWEEN :start AND :end"
            values.update({":start": request.start, ":end": request.end})
        elif request.start is not None:
            condition += " AND #at >= :start"
            values[":start"] = request.start
        elif request.end is not None:
            condition += " AND #at <= :end"
            values[":end"] = request.end
        filters = []
        for index, (field, value) in enumerate(sorted(request.filters.items())):
            names[f"#f{index}"] = field
            values[f":f{index}"] = value
            filters.append(f"#f{index} = :f{index}")
        query: dict[str, Any] = {
            "TableName": self._table, "IndexName": request.index, "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False, "Limit": request.limit,
        }  # fmt: skip
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        start_key = self._start_key(request, request.after)
        found: list[OrderRecord] = []
        for _ in range(MAX_READS_PER_PAGE):
            if start_key is not None:
                query["ExclusiveStartKey"] = start_key
            try:
                response = self._client.query(**query)
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc) from None
            found += [OrderRecord.model_validate(from_item(item)) for item in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if len(found) >= request.limit or start_key is None:
                break
        if len(found) > request.limit or (len(found) == request.limit and start_key is not None):
            # The page ends at its last order shown, not where the read stopped: the rest come next.
            found = found[: request.limit]
            return HistoryPage(found, Position(listed_at=found[-1].listed_at or "", external_id=found[-1].external_id))
        if start_key is not None:  # the read budget ran out before the page filled
            return HistoryPage(found, Position(listed_at=start_key["listed_at"]["S"], external_id=start_key[
                "external_id"]["S"]))  # fmt: skip
        return HistoryPage(found, None)

    @staticmethod
    def _start_key(request: IndexRead, after: Position | None) -> dict[str, Any] | None:
        if after is None:
            return None
        return to_item({"external_id": after.external_id, INDEX_KEYS[request.index]: request.key,
                        "listed_at": after.listed_at})  # fmt: skip


def _update_expression(changes: dict[str, Any], entry: HistoryEntry) -> tuple[dict[str, str], dict[str, Any], str]:
    """SET the changes (REMOVE those that are None), stamp updated_at and append ``entry`` to the history."""
    names = {"#history": "history", "#updated_at": "updated_at"}
    values: dict[str, Any] = {
        ":entry": [entry.model_dump(mode="python", exclude_none=True)],
        ":empty": [],
        ":updated_at": entry.at,
    }
    sets = ["#updated_at = :updated_at", "#history = list_append(if_not_exists(#history, :empty), :entry)"]
    removes = []
    for index, (field, value) in enumerate(changes.items()):
        names[f"#f{index}"] = field
        if value is None:
            removes.append(f"#f{index}")
        else:
            values[f":v{index}"] = value
            sets.append(f"#f{index} = :v{index}")
    return names, values, "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")


def _unavailable(exc: Exception) -> LedgerUnavailable:
    reason = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return LedgerUnavailable(f"The order ledger is unavailable ({reason}); try again.", retry_after=2)
