"""The sandbox's catalogue, currencies and prices (contract sections 2.5, 3 and 10)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Product:
    product_id: int
    sku: str
    name: str
    tradable: bool  # has a buy/sell page (GPD, BGAU and BGAG are priced only)
    start_spot_try: Decimal


PRODUCTS = {
    p.sku: p
    for p in (
        Product(3000001, "GAU", "Gold - Digital storage", True, Decimal("2939.71")),
        Product(3000002, "GAG", "Silver - Digital storage", True, Decimal("34.70")),
        Product(3000090, "GPT", "Platinum - Digital storage", True, Decimal("1100.00")),
        Product(3000091, "GPD", "Palladium - Digital storage", False, Decimal("1050.00")),
        Product(3000088, "BGAU", "Gold", False, Decimal("2939.71")),
        Product(3000089, "BGAG", "Silver", False, Decimal("34.70")),
    )
}
PRODUCTS_BY_ID = {p.product_id: p for p in PRODUCTS.values()}

# TRY per unit of each currency, and Minted-style currency ids.
TRY_PER_UNIT = {"TRY": Decimal(1), "USD": Decimal("34.50"), "EUR": Decimal("36.40"), "GBP": Decimal("43.60")}
CURRENCY_IDS = {"TRY": 1, "USD": 2, "EUR": 3, "GBP": 4}

CENT = Decimal("0.01")
GRAM_STEP = Decimal("0.001")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(value: Decimal) -> Decimal:
    # Small unit prices (silver in GBP is under 1) keep 4 places so the spread stays visible.
    return value.quantize(Decimal("0.0001") if value < 100 else CENT, rounding=ROUND_HALF_UP)


def grams_for(total: Decimal, unit_price: Decimal) -> Decimal:
    return (total / unit_price).quantize(GRAM_STEP, rounding=ROUND_DOWN)


@dataclass(frozen=True)
class Quote:
    sku: str
    product_id: int
    currency: str
    spot: Decimal
    buy: Decimal
    sell: Decimal

    def as_dict(self) -> dict[str, object]:
        return {
            "currency_id": CURRENCY_IDS[self.currency],
            "product_id": self.product_id,
            "sku": self.sku,
            "spot_price": self.spot,
            "buy_price": self.buy,
            "sell_price": self.sell,
        }


class Market:
    """Spot prices in TRY that random-walk a little on every read, with a spread each side."""

    def __init__(self, *, spread: Decimal, seed: int | None) -> None:
        self._spread = spread
        self._random = random.Random(seed)
        self._spot_try = {sku: p.start_spot_try for sku, p in PRODUCTS.items()}
        self.frozen = False  # a test's market: prices move only when set

    def set_spot(self, sku: str, spot_try: Decimal) -> None:
        """Move a metal's spot (TRY per gram) to ``spot_try``: a test's market move."""
        if sku not in self._spot_try or spot_try <= 0:
            raise ValueError(f"no positive spot for {sku}")
        self._spot_try[sku] = spot_try

    def spots(self) -> dict[str, Decimal]:
        return dict(self._spot_try)

    def tick(self) -> None:
        if self.frozen:
            return
        for sku, spot in self._spot_try.items():
            step = Decimal(self._random.randint(-5, 5)) / Decimal(10_000)  # at most 0.05 % a tick
            self._spot_try[sku] = (spot * (1 + step)).quantize(Decimal("0.0001"))

    def quotes(self, currency: str) -> dict[str, Quote]:
        rate = TRY_PER_UNIT[currency]
        result = {}
        for sku, spot_try in self._spot_try.items():
            spot = spot_try / rate
            result[sku] = Quote(
                sku=sku,
                product_id=PRODUCTS[sku].product_id,
                currency=currency,
                spot=round_price(spot),
                buy=round_price(spot * (1 + self._spread)),
                sell=round_price(spot * (1 - self._spread)),
            )
        return result
