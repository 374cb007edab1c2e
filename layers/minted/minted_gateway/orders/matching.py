"""Is the order Minted holds under our external_id the one we asked for? (design.md, "Exactly-once buys")

Only lookups are compared: the answer to our own buy is ours whatever it carries (Minted's
published buy answer shows another external_id on its order). A lookup can find an order that
someone placed under our id outside this ledger; adopting it would show a customer metal they
never bought. Fields Minted leaves out are not compared (read tolerantly; Minted's published buy
answer shows `customer: null` on a customer's order, so a null customer says nothing about the
wallet); a field it sends that differs from what was asked makes the order a stranger's.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from minted_gateway.minted.models import Order
from minted_gateway.orders.record import OrderRecord

PARTNER_WALLET = "partner wallet"


def asked(record: OrderRecord) -> str:
    """What the ledger row asked for, in one line without personal data."""
    return _describe(
        record.side.title(), _wallet(record.customer_external_id), ((line.sku, line.amount) for line in record.lines)
    )


def held(orders: list[Order]) -> str:
    """What Minted holds, in the same words."""
    sides = sorted({order.type for order in orders if order.type}) or ["?"]
    wallets = sorted({_held_wallet(order) for order in orders})
    lines = ((item.sku or f"product {item.product_id}", item.amount) for order in orders for item in order.items)
    return _describe("/".join(sides), "/".join(wallets), lines)


def differences(record: OrderRecord, orders: list[Order]) -> list[str]:
    """Why Minted's orders are not the one asked for; empty when they are ours.

    Minted may split a buy into one order per item and a lookup by external_id can show one of
    them, so orders holding part of the asked lines, each line exactly as asked, are ours.
    """
    found: list[str] = []
    for order in orders:
        if order.type is not None and order.type.casefold() != record.side:
            found.append(f"side {order.type}")
        held_by = order.customer.external_id if order.customer is not None else None
        if held_by and held_by != record.customer_external_id:
            found.append("another wallet")
    wanted = {line.sku: line.amount for line in record.lines}
    seen: dict[str, Decimal] = {}
    unweighed: set[str] = set()  # a line Minted sent without its grams: its amount cannot be compared
    for item in (item for order in orders for item in order.items):
        if item.sku is None or item.sku not in wanted:
            found.append(f"a product not asked for ({item.sku or item.product_id})")
        elif item.amount is None:
            unweighed.add(item.sku)
        else:
            seen[item.sku] = seen.get(item.sku, Decimal(0)) + item.amount
    found += [
        f"{sku} {amount} g, not {wanted[sku]} g"
        for sku, amount in seen.items()
        if amount != wanted[sku] and sku not in unweighed
    ]
    return found


def _wallet(customer_external_id: str | None) -> str:
    return f"customer {customer_external_id}" if customer_external_id else PARTNER_WALLET


def _held_wallet(order: Order) -> str:
    customer_id = order.customer.external_id if order.customer is not None else None
    return _wallet(customer_id) if customer_id else "a wallet not shown"


def _describe(side: str, wallet: str, lines: Iterable[tuple[str, Decimal | None]]) -> str:
    items = (
        ", ".join(f"{sku} {'?' if amount is None else f'{amount:f}'} g" for sku, amount in lines) or "no items shown"
    )
    return f"{side} for {wallet}: {items}"
