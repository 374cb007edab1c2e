"""Order status names from Minted's Order Statusses call, so a status Minted adds later is named.

Contract section 6 names ids 1-12 (``ORDER_STATUS_NAMES``). Minted's list is fetched by the price
schedule and kept as one item of the price cache table; an order that carries only a ``status_id``
the contract does not name is named from that item (read once per container, again on a miss after
``reload_seconds``), instead of being refused as an answer without a status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.dynamodb import from_item, to_item
from minted_gateway.errors import CacheUnavailable, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.lookups import OrderStatus

ITEM_KEY = {"pk": "ORDER_STATUSES", "sk": "ALL"}


class MintedStatuses(Protocol):
    def order_statuses(self) -> list[OrderStatus]: ...


class DynamoDbStatusNames:
    """The item (ORDER_STATUSES, ALL) of the price cache table: ``names`` maps each id (as text) to its name."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self) -> dict[int, str]:
        try:
            response = self._client.get_item(TableName=self._table, Key=to_item(ITEM_KEY))
        except (ClientError, BotoCoreError) as exc:
            raise CacheUnavailable(f"The status cache is unavailable ({type(exc).__name__}).", retry_after=2) from None
        names = from_item(response.get("Item") or {}).get("names") or {}
        return {int(status_id): str(name) for status_id, name in names.items() if str(status_id).isdigit()}

    def save(self, names: dict[int, str], fetched_at: float) -> None:
        item = {**ITEM_KEY, "names": {str(k): v for k, v in names.items()}, "fetched_at": Decimal(int(fetched_at))}
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except (ClientError, BotoCoreError) as exc:
            raise CacheUnavailable(f"The status cache is unavailable ({type(exc).__name__}).", retry_after=2) from None


class RefreshOrderStatuses:
    """The schedule's second job beside the prices: Minted's current list of order statuses."""

    def __init__(self, store: DynamoDbStatusNames, minted: MintedStatuses, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._minted = minted
        self._clock = clock

    def __call__(self) -> dict[str, Any]:
        try:
            statuses = self._minted.order_statuses()
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        names = {status.id: status.name for status in statuses}
        self._store.save(names, self._clock())
        return {"order_statuses": len(names)}


class StatusNames:
    """Names for ids the contract does not list, from the cached list; None when it does not know one either."""

    def __init__(
        self, store: DynamoDbStatusNames, *, reload_seconds: float = 300, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._reload_seconds = reload_seconds
        self._clock = clock
        self._names: dict[int, str] = {}
        self._loaded_at: float | None = None

    def name(self, status_id: int) -> str | None:
        if status_id not in self._names and self._may_reload():
            self._loaded_at = self._clock()
            try:
                self._names = self._store.load()
            except CacheUnavailable:
                return None  # the order is then refused as unnamed, as before the cache existed
        return self._names.get(status_id)

    def _may_reload(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._reload_seconds
