"""Latest prices for a currency: from the cache while fresh; otherwise one caller refreshes them."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from minted_gateway.errors import GatewayError, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.prices import ProductPrice
from minted_gateway.prices.price_cache import PriceCache, PriceSnapshot, SkuPrice

logger = logging.getLogger(__name__)
LEASE_SECONDS = 10  # long enough for one Minted price call; a crashed refresher is replaced after it


class MintedPrices(Protocol):
    def product_prices(self, currency: str | None = None) -> list[ProductPrice]: ...


class PricesView(NamedTuple):
    snapshot: PriceSnapshot
    age_seconds: int
    source: str  # "cache" or "minted"
    stale: bool = False  # older than the limit, served because another caller is refreshing or Minted failed


def snapshot_from(prices: list[ProductPrice], currency: str, fetched_at: float) -> PriceSnapshot:
    as_of = max((p.updated_at for p in prices), default=datetime.fromtimestamp(fetched_at, UTC))
    return PriceSnapshot(
        currency=currency,
        as_of=as_of,
        fetched_at=Decimal(str(round(fetched_at, 3))),
        prices=[
            SkuPrice(sku=p.sku, product_id=p.product_id, name=p.name, buy_price=p.buy_price, sell_price=p.sell_price,
                     spot_price=p.spot_price)
            for p in prices
        ],
    )  # fmt: skip


class GetPrices:
    def __init__(
        self, cache: PriceCache, minted: MintedPrices, *, max_age_seconds: int, clock: Callable[[], float]
    ) -> None:
        self._cache = cache
        self._minted = minted
        self._max_age = max_age_seconds
        self._clock = clock

    def __call__(self, currency: str) -> PricesView:
        now = self._clock()
        try:
            cached = self._cache.latest(currency)
        except GatewayError:
            logger.warning("price cache unreadable; answering from Minted")
            cached = None
        if cached is not None and now - float(cached.fetched_at) <= self._max_age:
            return self._view(cached, now, "cache")
        if cached is not None and not self._lease(currency, now):
            return self._view(cached, now, "cache", stale=True)  # someone else is refreshing
        try:
            live = self._minted.product_prices(currency)
        except minted_errors.MintedError as exc:
            if cached is not None:
                return self._view(cached, now, "cache", stale=True)
            raise from_minted(exc) from None
        fresh = snapshot_from(live, currency, now)
        try:
            self._cache.store(fresh)
        except GatewayError:
            logger.warning("price cache write failed; answering with the live prices")
        return self._view(fresh, now, "minted")

    def _lease(self, currency: str, now: float) -> bool:
        """Whether this caller refreshes; with a cache that takes no writes, every caller may."""
        try:
            return self._cache.take_refresh_lease(currency, now, LEASE_SECONDS)
        except GatewayError:
            logger.warning("price cache lease not writable; refreshing without it")
            return True

    def _view(self, snapshot: PriceSnapshot, now: float, source: str, *, stale: bool = False) -> PricesView:
        age = max(0, math.floor(now - float(snapshot.fetched_at)))
        return PricesView(snapshot=snapshot, age_seconds=age, source=source, stale=stale)


class RefreshPrices:
    """The scheduled refresh: fetch, keep the newest, and record one history item per minute."""

    def __init__(
        self,
        cache: PriceCache,
        minted: MintedPrices,
        *,
        clock: Callable[[], float],
        history_days: int = 30,
        after_store: Callable[[PriceSnapshot], dict[str, Any]] | None = None,
    ) -> None:
        self._cache = cache
        self._minted = minted
        self._clock = clock
        self._history_seconds = history_days * 86400
        self._after_store = after_store  # what else a refresh does with its prices (the triggers' check)

    def __call__(self, currency: str) -> dict[str, Any]:
        now = self._clock()
        previous = self._cache.latest(currency)
        try:
            snapshot = snapshot_from(self._minted.product_prices(currency), currency, now)
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        stored = self._cache.store(snapshot)
        minute = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%MZ")
        recorded = self._cache.record_history(snapshot, minute, int(now) + self._history_seconds)
        previous_age = math.floor(now - float(previous.fetched_at)) if previous else None
        checked = self._after_store(snapshot) if self._after_store is not None and stored else {}
        return {**checked, "currency": currency, "as_of": snapshot.as_of.isoformat(), "stored": stored,
                "history_minute": minute, "history_recorded": recorded, "skus": [p.sku for p in snapshot.prices],
                "previous_age_seconds": previous_age}  # fmt: skip
