"""The price cache: the latest prices per currency in one item, refreshed by one caller at a time."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from minted_gateway.dynamodb import condition_failed, from_item, to_item
from minted_gateway.errors import CacheUnavailable

LATEST = "LATEST"


class SkuPrice(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    product_id: int
    name: str | None = None
    buy_price: Decimal
    sell_price: Decimal
    spot_price: Decimal


class PriceSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    currency: str
    as_of: datetime  # when Minted priced them
    fetched_at: Decimal  # epoch seconds when we fetched them (orders writes: newer wins)
    prices: list[SkuPrice]


class PriceCache(Protocol):
    def latest(self, currency: str) -> PriceSnapshot | None: ...

    def store(self, snapshot: PriceSnapshot) -> bool:
        """Keep ``snapshot`` unless a newer one is stored; True when it was kept."""

    def take_refresh_lease(self, currency: str, now: float, seconds: int) -> bool:
        """True for exactly one caller per lease period: that caller refreshes from Minted."""

    def record_history(self, snapshot: PriceSnapshot, minute: str, expires_at: int) -> bool: ...


class DynamoDbPriceCache:
    """Items: (LATEST, currency) holds the latest snapshot and the refresh lease;
    (HISTORY#currency, minute) one snapshot per refresh minute, expiring through TTL."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def latest(self, currency: str) -> PriceSnapshot | None:
        try:
            response = self._client.get_item(TableName=self._table, Key=_key(LATEST, currency))
        except (ClientError, BotoCoreError) as exc:
            raise CacheUnavailable(f"The price cache is unavailable ({type(exc).__name__}).", retry_after=2) from None
        item = from_item(response.get("Item") or {})
        return PriceSnapshot.model_validate(item["snapshot"]) if "snapshot" in item else None

    def store(self, snapshot: PriceSnapshot) -> bool:
        return self._conditional_write(
            self._client.update_item,
            TableName=self._table,
            Key=_key(LATEST, snapshot.currency),
            UpdateExpression="SET #snapshot = :snapshot, #fetched = :fetched",
            ConditionExpression="attribute_not_exists(#fetched) OR #fetched < :fetched",
            ExpressionAttributeNames={"#snapshot": "snapshot", "#fetched": "fetched_at"},  # SNAPSHOT is reserved
            ExpressionAttributeValues=to_item({":snapshot": _plain(snapshot), ":fetched": snapshot.fetched_at}),
        )

    def take_refresh_lease(self, currency: str, now: float, seconds: int) -> bool:
        return self._conditional_write(
            self._client.update_item,
            TableName=self._table,
            Key=_key(LATEST, currency),
            UpdateExpression="SET #lease = :until",
            ConditionExpression="attribute_not_exists(#lease) OR #lease < :now",
            ExpressionAttributeNames={"#lease": "lease_until"},
            ExpressionAttributeValues=to_item({":until": Decimal(str(now + seconds)), ":now": Decimal(str(now))}),
        )

    def record_history(self, snapshot: PriceSnapshot, minute: str, expires_at: int) -> bool:
        """False when this minute is already recorded: running the refresh twice is harmless."""
        item = {
            "pk": f"HISTORY#{snapshot.currency}",
            "sk": minute,
            "snapshot": _plain(snapshot),
            "expires_at": expires_at,
        }
        return self._conditional_write(
            self._client.put_item,
            TableName=self._table,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(pk)",
        )

    @staticmethod
    def _conditional_write(write: Any, **request: Any) -> bool:
        """True when the write happened, False when its condition did not hold."""
        try:
            write(**request)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise CacheUnavailable("The price cache is unavailable.", retry_after=2) from None
        except BotoCoreError:
            raise CacheUnavailable("The price cache is unavailable.", retry_after=2) from None
        return True


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _plain(snapshot: PriceSnapshot) -> dict[str, Any]:
    data = snapshot.model_dump(mode="python")
    data["as_of"] = snapshot.as_of.isoformat()
    return data
