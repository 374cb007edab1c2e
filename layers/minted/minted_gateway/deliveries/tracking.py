"""A delivery's cargo tracking number and URL, where Minted gives them, as ledger changes."""

from __future__ import annotations

from typing import Any

from minted_gateway.minted.models.orders import Order


def tracking_changes(orders: list[Order]) -> dict[str, Any]:
    tracked = [order.delivery for order in orders if order.delivery is not None]
    given = [t for t in tracked if t.cargo_tracking_number or t.cargo_tracking_url]
    return {"tracking": given[0].model_dump(exclude_none=True)} if given else {}
