"""A DynamoDB client with real DynamoDB's transaction conflicts, which neither moto nor dynalite shows.

AWS's "Transaction conflict handling in DynamoDB" (Developer Guide, "Amazon DynamoDB Transactions:
How it works", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
#transaction-conflict-handling): a TransactWriteItems that includes an item another ongoing
transaction includes is cancelled (TransactionCanceledException, the reason TransactionConflict
on that item, None on the others), and a PutItem, UpdateItem or DeleteItem of an item an ongoing
TransactWriteItems includes is rejected (TransactionConflictException). DynamoDB does not wait:
the caller retries. Reads (GetItem, BatchGetItem) are not affected; they see committed writes.

Here a transaction that went through stays "ongoing" on its items for ``commit_seconds`` after it was
applied (a real one takes some milliseconds to commit; moto applies one at a time, instantly), while
transactions on other items go ahead: conflicts come from sharing an item, not from a busy table.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

Item = tuple[str, str]  # table, key (the tables here have one key attribute)


def _item(table: str, key: dict[str, Any]) -> Item:
    return table, repr(sorted((name, sorted(value.items())) for name, value in key.items()))


def _of(action: dict[str, Any]) -> Item:
    ((kind, body),) = action.items()
    if kind == "Put":
        # the limits' and the ledger's tables: the key is the one attribute named in the table's schema
        key_names = ("counter", "external_id", "customer")
        key = {name: value for name, value in body["Item"].items() if name in key_names}
        return _item(body["TableName"], key)
    return _item(body["TableName"], body["Key"])


class ConflictingDynamoDb:
    """``client`` whose transactions conflict as DynamoDB's do. ``conflicts`` counts the cancellations by
    item; ``after_commit`` (if set) runs after each transaction that went through (a test reads the
    day's total there)."""

    def __init__(self, client: Any, *, commit_seconds: float = 0.01) -> None:
        self._client = client
        self.commit_seconds = commit_seconds
        self._lock = threading.Lock()
        self._in_flight: Counter[Item] = Counter()
        self.conflicts: Counter[Item] = Counter()
        self.committed = 0
        self.after_commit: Callable[[], None] | None = None

    def transact_write_items(self, **kwargs: Any) -> Any:
        items = [_of(action) for action in kwargs["TransactItems"]]
        with self._lock:
            met = [item for item in items if self._in_flight[item]]
            if met:
                self.conflicts.update(met)
                reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                           if item in met else {"Code": "None"} for item in items]  # fmt: skip
                raise ClientError({"Error": {"Code": "TransactionCanceledException",
                                             "Message": "Transaction cancelled, please refer cancellation reasons"},
                                   "CancellationReasons": reasons}, "TransactWriteItems")  # fmt: skip
            self._in_flight.update(items)
            try:
                answer = self._client.transact_write_items(**kwargs)
            except Exception:
                self._in_flight.subtract(items)
                raise
            self.committed += 1
        try:
            time.sleep(self.commit_seconds)  # the rest of its commit: its items stay in flight meanwhile
        finally:
            with self._lock:
                self._in_flight.subtract(items)
        if self.after_commit is not None:
            self.after_commit()
        return answer

    def _single(self, operation: str, item: Item, call: Callable[[], Any]) -> Any:
        with self._lock:
            if self._in_flight[item]:
                self.conflicts[item] += 1
                raise ClientError({"Error": {"Code": "TransactionConflictException",
                                             "Message": "Operation was rejected because there is an ongoing "
                                             "transaction for the item"}}, operation)  # fmt: skip
        return call()

    def put_item(self, **kwargs: Any) -> Any:
        return self._single("PutItem", _of({"Put": kwargs}), lambda: self._client.put_item(**kwargs))

    def update_item(self, **kwargs: Any) -> Any:
        return self._single("UpdateItem", _item(kwargs["TableName"], kwargs["Key"]),
                            lambda: self._client.update_item(**kwargs))  # fmt: skip

    def delete_item(self, **kwargs: Any) -> Any:
        return self._single("DeleteItem", _item(kwargs["TableName"], kwargs["Key"]),
                            lambda: self._client.delete_item(**kwargs))  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
