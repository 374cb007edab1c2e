"""A customer's balances at Minted, one per wallet, with the metal's sku where the wallet is a metal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import NotFound, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.base import PRODUCT_ID_BY_SKU, SKU_BY_PRODUCT_ID
from minted_gateway.minted.models.customers import Balance


class MintedBalances(Protocol):
    def customer_balance(self, external_id: str) -> list[Balance]: ...


class WalletBalance(NamedTuple):
    sku: str | None  # None for a wallet that is not a metal (cash)
    currency_code: str
    currency_id: int | None
    is_cash: bool
    balance: Decimal
    blocked: Decimal
    soft_blocked: Decimal
    available: Decimal


class Balances(NamedTuple):
    customer_external_id: str
    as_of: datetime
    wallets: list[WalletBalance]


def sku_of(wallet: Balance) -> str | None:
    """Minted names a wallet by currency_code (a metal's sku in practice) and currency_id (its product id)."""
    if wallet.is_cash:
        return None
    if wallet.currency_code.upper() in PRODUCT_ID_BY_SKU:
        return wallet.currency_code.upper()
    return SKU_BY_PRODUCT_ID.get(wallet.currency_id or 0)


def available_of(wallet: Balance) -> Decimal:
    # Minted publishes the fields, not their arithmetic (docs/decisions.md): blocked and soft-blocked
    # amounts are not free to sell; never below zero.
    return max(Decimal(0), wallet.balance - wallet.blocked - wallet.soft_blocked_amount)


def wallet_balance(wallet: Balance) -> WalletBalance:
    return WalletBalance(
        sku=sku_of(wallet),
        currency_code=wallet.currency_code,
        currency_id=wallet.currency_id,
        is_cash=wallet.is_cash,
        balance=wallet.balance,
        blocked=wallet.blocked,
        soft_blocked=wallet.soft_blocked_amount,
        available=available_of(wallet),
    )


class GetBalances:
    def __init__(self, minted: MintedBalances, clock: Callable[[], datetime] | None = None) -> None:
        self._minted = minted
        self._clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, external_id: str, caller: Caller = PARTNER) -> Balances:
        caller.read_customer(external_id)
        try:
            wallets = self._minted.customer_balance(external_id)
        except minted_errors.MintedNotFoundError:
            raise NotFound("Minted has no customer with this external_id.") from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        return Balances(
            customer_external_id=external_id, as_of=self._clock(), wallets=list(map(wallet_balance, wallets))
        )
