"""The order ledger on DynamoDB: one item per external_id, every change a conditional write.

A new order costs two writes and no read: a conditional put claims the external_id (returning the
stored row when it is taken, so a replay needs no second call) and a conditional update records
Minted's answer.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import condition_failed, conditional_write, error_code, from_item, to_item
from minted_gateway.errors import LedgerUnavailable
from minted_gateway.orders.ledger import LedgerConflict
from minted_gateway.orders.limits import DailyTotals, count_again_if_placed, give_back_if_refused
from minted_gateway.orders.record import (
    DEFAULT_TOKEN_SECONDS,
    HistoryEntry,
    OrderRecord,
    PlacedOrder,
    State,
    all_final,
    attention_due,
)

if TYPE_CHECKING:  # the history's types, imported when a history is read: a buy or a GET never needs them
    from minted_gateway.orders.history import HistoryPage, IndexRead, Position

# The history indexes' partition keys; both sort by listed_at (time, then external_id).
INDEX_KEYS = {"by_wallet": "wallet", "by_time": "listed"}
# Index pages one history page may read: a selective filter returns a short page with a cursor
# rather than reading the whole ledger in one request.
MAX_READS_PER_PAGE = 5

# The reconciler's sparse index (docs/decisions.md, "The reconciler"): only rows that need a look
# carry ``attention`` (their state) and ``attention_due`` (when to look, epoch seconds); every write
# sets or removes both, so settled rows leave the index. The key is the state, not one key for all:
# every claim enters as RECEIVED and leaves a moment later, and a key of its own keeps that churn
# off the partitions where the few UNKNOWN and FOREIGN rows wait (each key is one index partition,
# 1,000 writes per second, the same bound as by_time; shard the key by a hash suffix beyond that).
ATTENTION_INDEX = "by_attention"
# In the order a run looks at them: the outcomes nobody knows and the strangers' orders (no lookup,
# but the age alarm sees them only when a run reports them) before the routine refresh of every fresh
# buy, which alone can fill a run.
ATTENTION_STATES = (State.UNKNOWN, State.RECEIVED, State.FOREIGN, State.NOT_PLACED, State.SUBMITTED)


class DueRow(NamedTuple):
    external_id: str
    state: State
    due: int


class LedgerEntry(NamedTuple):
    """What the comparison needs of a row: its state and the guids and codes of Minted's orders it records."""

    state: State
    minted_ids: frozenset[str]


class DynamoDbOrderLedger:
    def __init__(
        self,
        client: Any,
        table_name: str,
        totals: DailyTotals | None = None,
        *,
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
    ) -> None:
        self._client = client
        self._table = table_name
        self._totals = totals  # the day's limit counters, when a daily limit is set
        self._token_seconds = token_seconds

    def claim(self, record: OrderRecord) -> OrderRecord | None:
        item = record.model_dump(mode="python", exclude_none=True)
        # This write's own mark: botocore sends a put again when its answer times out, and if the first one
        # landed, the second meets our own row; the mark tells it from another caller's claim.
        item["claim_id"] = claim_id = secrets.token_hex(16)
        due = self._due(record.state, record.is_final, record.claim_expires_at, record.sent_at, record.updated_at)
        if due is not None:
            item.update(attention=record.state.value, attention_due=due)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(external_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if not condition_failed(exc):
                raise _unavailable(exc) from None
            stored: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            # An implementation that ignores ReturnValuesOnConditionCheckFailure costs one read more.
            found = OrderRecord.model_validate(from_item(stored)) if stored else self.get(record.external_id)
            return None if found is not None and found.claim_id == claim_id else found
        except BotoCoreError as exc:
            raise _unavailable(exc) from None

    def release_claim(self, record: OrderRecord) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"external_id": {"S": record.external_id}},
                ConditionExpression="#version = :version AND #state = :received",
                ExpressionAttributeNames={"#version": "version", "#state": "state"},
                ExpressionAttributeValues={":version": {"N": str(record.version)}, ":received": {"S": "RECEIVED"}},
            )
        except (ClientError, BotoCoreError):
            return False  # the claim then expires, and a GET or a retry settles it
        return True

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
        names, values, expression = _update_expression({**changes, **self._attention(record, changes, entry)}, entry)
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
        updated = OrderRecord.model_validate(from_item(response["Attributes"]))
        # A refused or not-placed order gives back what it reserved, whoever moved it there (orders/limits.py).
        give_back_if_refused(updated, self._totals)
        # ...and an order found at Minted after all counts again (a lost attempt that landed late).
        count_again_if_placed(record.state, updated, self._totals)
        return updated

    def _attention(self, record: OrderRecord, changes: dict[str, Any], entry: HistoryEntry) -> dict[str, Any]:
        """The index attributes of the row as this update leaves it (None removes them)."""
        state = State(changes.get("state", record.state))
        orders = changes.get("orders", record.orders)
        statuses = [order.status if isinstance(order, PlacedOrder) else order.get("status") for order in orders]
        final = state in (State.REJECTED, State.FOREIGN) or (
            state is State.SUBMITTED and all_final(changes.get("status", record.status), statuses)
        )
        due = self._due(state, final, changes.get("claim_expires_at", record.claim_expires_at),
                        changes.get("sent_at", record.sent_at), entry.at)  # fmt: skip
        return {"attention": None if due is None else state.value, "attention_due": due}

    def _due(self, state: State, final: bool, claim_expires_at: int, sent_at: int | None, at: str) -> int | None:
        written_at = datetime.fromisoformat(at).timestamp()
        return attention_due(state, final=final, claim_expires_at=claim_expires_at, sent_at=sent_at,
                             written_at=written_at, token_seconds=self._token_seconds)  # fmt: skip

    def due(self, state: State, now: int, limit: int) -> list[DueRow]:
        """Up to ``limit`` rows in ``state`` whose look is due, the longest waiting first (no Scan)."""
        try:
            response = self._client.query(
                TableName=self._table, IndexName=ATTENTION_INDEX, Limit=limit,
                KeyConditionExpression="attention = :state AND attention_due <= :now",
                ExpressionAttributeValues={":state": {"S": state.value}, ":now": {"N": str(now)}},
            )  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from None
        return [
            DueRow(item["external_id"]["S"], state, int(item["attention_due"]["N"]))
            for item in response.get("Items", [])
        ]

    def status_read(self, record: OrderRecord, at: str) -> bool:
        """One small write, no new version: the stream then carries no change of state or status, so no event."""
        return (
            self._conditional_update(
                record.external_id,
                "SET status_read_at = :at",
                "#version = :version",
                {":at": {"S": at}, ":version": {"N": str(record.version)}},
                {"#version": "version"},
            )
            is not None
        )

    def lease(self, row: DueRow, until: int) -> int | None:
        """Take ``row`` for one reconciler run: move its look to ``until`` if nobody moved it since it was read.

        Two runs that read the same row both try; one wins (and gets the row's version back), the
        other gets None and leaves it. The version is left alone, like ``annotate``: a lease must not
        make the order's own writers fail.
        """
        old = self._conditional_update(
            row.external_id,
            "SET attention_due = :until",
            "attention = :state AND attention_due = :seen",
            {":until": {"N": str(until)}, ":state": {"S": row.state.value}, ":seen": {"N": str(row.due)}},
        )
        return None if old is None else int(old["version"]["N"])

    def release(self, record: OrderRecord) -> bool:
        """Take a row that needs nothing more out of the index, if it is still exactly as ``record`` shows it.

        The version alone cannot say so: a use case whose write the ledger refused answers with the
        changes it could not store, at the old version but one history entry ahead. Released then,
        an UNKNOWN row would leave the work list while still UNKNOWN.
        """
        return (
            self._conditional_update(
                record.external_id,
                "REMOVE attention, attention_due",
                "#version = :version AND size(#history) = :entries AND attribute_exists(attention)",
                {":version": {"N": str(record.version)}, ":entries": {"N": str(len(record.history))}},
                {"#version": "version", "#history": "history"},
            )
            is not None
        )

    def _conditional_update(
        self,
        external_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The row before the update, or None when the condition did not hold."""
        extra = {"ExpressionAttributeNames": names} if names else {}
        response = conditional_write(
            self._client.update_item, _unavailable,
            TableName=self._table, Key={"external_id": {"S": external_id}}, UpdateExpression=expression,
            ConditionExpression=condition, ExpressionAttributeValues=values, ReturnValues="ALL_OLD", **extra,
        )  # fmt: skip
        return None if response is None else dict(response["Attributes"])

    def known(self, external_ids: list[str]) -> dict[str, LedgerEntry]:
        """The rows of ``external_ids`` the ledger has: state and Minted's ids (batches of 100 keys)."""
        found: dict[str, LedgerEntry] = {}
        for start in range(0, len(external_ids), 100):
            keys: list[dict[str, Any]] = [
                {"external_id": {"S": key}} for key in dict.fromkeys(external_ids[start : start + 100])
            ]
            request: dict[str, Any] = {self._table: {
                "Keys": keys, "ProjectionExpression": "external_id, #state, guids, order_codes, #orders",
                "ExpressionAttributeNames": {"#state": "state", "#orders": "orders"}}}  # fmt: skip
            for _ in range(10):  # what DynamoDB leaves unprocessed is asked again, a bounded number of times
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise _unavailable(exc) from None
                for item in response.get("Responses", {}).get(self._table, []):
                    found[item["external_id"]["S"]] = _ledger_entry(from_item(item))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise LedgerUnavailable("The order ledger did not answer every key; try again.", retry_after=2)
        return found

    def annotate(self, external_id: str, owner: str, changes: dict[str, Any], entry: HistoryEntry) -> bool:
        names, values, expression = _update_expression(changes, entry)
        names["#owner"] = "workflow_owner"
        values[":owner"] = owner
        written = conditional_write(
            self._client.update_item,
            _unavailable,
            TableName=self._table,
            Key={"external_id": {"S": external_id}},
            UpdateExpression=expression,
            ConditionExpression="#owner = :owner",  # false when the row is absent, too
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )
        return written is not None

    def read(self, request: IndexRead) -> HistoryPage:
        """Newest first; filters beyond the key as a FilterExpression, read until the page is full."""
        from minted_gateway.orders.history import HistoryPage, Position  # noqa: PLC0415 - see TYPE_CHECKING above

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


def _ledger_entry(row: dict[str, Any]) -> LedgerEntry:
    orders = row.get("orders") or []
    ids = [*(row.get("guids") or []), *(row.get("order_codes") or []),
           *(o.get(key) for o in orders for key in ("guid", "order_code"))]  # fmt: skip
    return LedgerEntry(State(row["state"]), frozenset(str(i) for i in ids if i))
