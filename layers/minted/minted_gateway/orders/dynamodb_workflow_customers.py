"""The workflow's held customers on DynamoDB (WorkflowCustomersTable): one item per order, with TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, from_item, to_item
from minted_gateway.errors import LedgerUnavailable, OrderConflict


class DynamoDbCustomerStore:
    """One item per order: the customer block, its digest, and ``expires_at`` (the table's TTL)."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def put(self, external_id: str, customer: dict[str, Any], digest: str, expires_at: int) -> bool:
        item = {"external_id": external_id, "customer": customer, "digest": digest, "expires_at": expires_at}
        try:
            answer = self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(external_id) OR digest = :digest",
                ExpressionAttributeValues={":digest": {"S": digest}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise OrderConflict("A buy workflow with this external_id was started for a different order.") from None
            raise LedgerUnavailable("The workflow's customer could not be held; try again.") from None
        except BotoCoreError:
            raise LedgerUnavailable("The workflow's customer could not be held; try again.") from None
        return "Attributes" not in answer

    def get(self, external_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            answer = self._client.get_item(
                TableName=self._table, Key={"external_id": {"S": external_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError):
            raise LedgerUnavailable("The workflow's customer could not be read; try again.") from None
        if "Item" not in answer:
            return None
        item = from_item(answer["Item"])
        if int(item.get("expires_at", 0)) <= self._clock():
            return None  # expired: TTL deletes it within days, it is gone now
        return dict(item["customer"]), str(item["digest"])

    def delete(self, external_id: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key={"external_id": {"S": external_id}})
        except (ClientError, BotoCoreError):
            raise LedgerUnavailable("The workflow's customer could not be deleted; try again.") from None
