"""Minted's answers in the shapes its published examples show (shared/minted-examples/).

Each endpoint has its own shape: the Buy answer's orders carry no ``status_id`` and a ``null``
customer, Get Order carries no ``type``, ``order_at`` or ``items[].sku``, and Get Order
(Alternative) no ``status_id``; the date formats differ too. These functions take the sandbox's
full view of an order (``SandboxState.order_view``) and keep exactly the published keys, so the
client is proven against what Minted sends, not against what its schema promises. The
conformance tests compare these shapes with the examples key by key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _pick(view: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: view[key] for key in keys}


_BUY_ORDER = ("guid", "order_code", "external_id", "type", "price", "tax", "total", "currency_rate",
              "currency_total", "status_name", "order_at", "currency_code")  # fmt: skip
_BUY_ITEM = ("product_id", "product_name", "spot_price", "price", "tax_rate", "tax", "amount", "total", "sku")


def buy_answer(views: list[dict[str, Any]], order_at: str) -> dict[str, Any]:
    """Buy (and Sell) Order Response: ``views`` in the lookup's date style, ``order_at`` as YYYY-MM-DD HH:MM:SS."""
    orders = [
        {**_pick(view, _BUY_ORDER), "items": [_pick(item, _BUY_ITEM) for item in view["items"]], "customer": None}
        for view in views
    ]
    price = sum((view["price"] for view in views), Decimal(0))
    answer = {
        "order_code": [view["order_code"] for view in views],
        "guid": [view["guid"] for view in views],
        "price": price,
        "tax": 0,
        "total": price,
        "order_at": order_at,
        "orders": orders,
    }
    if "payment" in views[0]:  # a card buy: "the Order Response plus data.payment" (contract 11)
        answer["payment"] = views[0]["payment"]
    return answer


_GET_ITEM = ("product_id", "product_name", "spot_price", "price", "tax_rate", "tax", "amount", "total")
_GET_ITEM_EXTRAS = {"product_weight": 1, "currency_id": None, "currency_rate": None, "currency_total": 0}


def get_order_answer(view: dict[str, Any]) -> dict[str, Any]:
    """Get Order (``GET /partner/order/{id}``), the older published shape; a card order's as published
    for card orders; a delivery's with its ``delivery`` cargo (e-commerce orders carry one, contract 12)."""
    if "payment" in view:
        return card_get_order_answer(view)
    if "delivery" in view:
        return {**_get_order_answer(view), "tx_type": "delivery", "type": "Delivery", "delivery": view["delivery"]}
    return _get_order_answer(view)


_CARD_ORDER = ("guid", "order_code", "external_id", "type", "price", "tax", "total", "status_name", "order_at",
               "payment_cost", "currency_code", "customer", "payment")  # fmt: skip


def card_get_order_answer(view: dict[str, Any]) -> dict[str, Any]:
    """Card Payment Get Order (card-get-order-200.json): the CVV echoed in payment.details, as published."""
    return {**_pick(view, _CARD_ORDER), "items": [_pick(item, _FIND_ITEM) for item in view["items"]]}


def delivery_answer(view: dict[str, Any]) -> dict[str, Any]:
    """Delivery - Create's answer as the published example describes it: a whole order, tx_type delivery,
    status Created (id 1), order_at ISO with offset, external_id null although one was sent, items priced
    0 and a total that is the delivery's charge."""
    return {
        **_pick(view, ("guid", "order_code")),
        "external_id": None,
        "tx_type": "delivery",
        **_pick(view, ("price", "tax", "total", "status_id", "status_name", "order_at", "currency_code")),
        "items": [_pick(item, _FIND_ITEM) for item in view["items"]],
    }


def _get_order_answer(view: dict[str, Any]) -> dict[str, Any]:
    return {
        **_pick(view, ("guid", "order_code", "external_id")),
        "channel": "partner",
        "tx_type": "oneoffpurchase",
        "price_token": None,
        **_pick(view, ("price", "tax", "total")),
        "currency_rate": None,
        "currency_total": 0,
        **_pick(view, ("status_id", "status_name")),
        "items": [{**_pick(item, _GET_ITEM), **_GET_ITEM_EXTRAS} for item in view["items"]],
        "customer": view["customer"],
    }


_FIND_ORDER = ("guid", "order_code", "external_id", "type", "price", "tax", "total", "status_name",
               "payment_type", "order_at", "payment_cost", "currency_code")  # fmt: skip
_FIND_ITEM = ("product_id", "sku", "product_name", "spot_price", "price", "tax_rate", "tax", "amount", "total")


def find_order_answer(view: dict[str, Any]) -> dict[str, Any]:
    """Get Order (Alternative) (``POST /partner/order``): no status_id; an absent middlename is null."""
    customer = view["customer"]
    if customer is not None:
        customer = {**customer, "middlename": customer["middlename"] or None}
    return {
        **_pick(view, _FIND_ORDER),
        "customer": customer,
        "payment": view.get("payment"),
        "items": [_pick(item, _FIND_ITEM) for item in view["items"]],
    }
