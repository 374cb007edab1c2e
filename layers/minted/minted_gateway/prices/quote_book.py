"""Which currency each quote this gateway gave out was priced in, for as long as its token can buy.

Minted's price token is opaque and a buy naming another ``currency_code`` is bought in the token's
currency (Minted publishes no check), so the gateway remembers each quote's currency and an order
that names another one is refused before Minted is called. A token the gateway never gave out (or
one it could not note down) is not known here: Minted alone decides it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.errors import CacheUnavailable

logger = logging.getLogger(__name__)
QUOTE_KEY = "QUOTE"  # the partition of the prices table that holds the quotes' currencies
KEPT_BEYOND_EXPIRY_SECONDS = 300  # Minted's clock may run behind ours: keep the note a while longer


class QuoteBook(Protocol):
    def remember(self, price_token: str, currency: str, expires_in_seconds: int) -> None: ...

    def currency_of(self, price_token: str) -> str | None:
        """The currency the gateway quoted ``price_token`` in; None when it did not (or no longer knows)."""


def token_key(price_token: str) -> str:
    # Not the token itself: a table reader must not be able to buy with it.
    return hashlib.sha256(price_token.encode("utf-8")).hexdigest()


class DynamoDbQuoteBook:
    """Items (QUOTE, sha256 of the token) with the currency, expiring through the table's TTL."""

    def __init__(self, client: Any, table_name: str, clock: Any = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def remember(self, price_token: str, currency: str, expires_in_seconds: int) -> None:
        """Best effort: a quote is still given when it cannot be noted (the order is then Minted's to judge)."""
        expires_at = math.ceil(self._clock()) + max(0, expires_in_seconds) + KEPT_BEYOND_EXPIRY_SECONDS
        item = {"pk": {"S": QUOTE_KEY}, "sk": {"S": token_key(price_token)}, "currency": {"S": currency},
                "expires_at": {"N": str(expires_at)}}  # fmt: skip
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("quote currency not noted", extra={"reason": type(exc).__name__})

    def currency_of(self, price_token: str) -> str | None:
        key = {"pk": {"S": QUOTE_KEY}, "sk": {"S": token_key(price_token)}}
        try:
            item = self._client.get_item(TableName=self._table, Key=key).get("Item") or {}
        except (ClientError, BotoCoreError) as exc:
            reason = type(exc).__name__
            raise CacheUnavailable(f"The quote's currency cannot be read ({reason}).", retry_after=2) from None
        currency = item.get("currency", {}).get("S")
        return str(currency) if currency else None
