"""Minted Connect's typed requests and answers (contract sections 3 to 12), one module per operation:
``base`` (what all share), ``prices``, ``buy`` (buy and sell), ``delivery``, ``orders`` (what Minted
answers about an order), ``lookups`` (finding and listing orders), ``legal`` and ``customers``.

Import a model from its module: a function then loads only the models of the calls it makes (each
model's class costs its cold start). ``from minted_gateway.minted.models import Order`` still works and
costs nothing more: a name is looked up here only when asked for, and loads only its own module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minted_gateway.minted.models.base import (
        EXTERNAL_ID_MAX_LENGTH,
        EXTERNAL_ID_PATTERN,
        ISTANBUL,
        ORDER_STATUS_NAMES,
        PRODUCT_ID_BY_SKU,
        SKU_BY_PRODUCT_ID,
        TERMINAL_STATUS_NAMES,
        Birthdate,
        Currency,
        CustomerPageId,
        ExternalId,
        Grams,
        MintedDateTime,
        MintedDecimal,
        MintedModel,
        Name,
        OptionalText,
        name_statuses_with,
        parse_minted_datetime,
    )
    from minted_gateway.minted.models.buy import (
        BuyerCustomer,
        BuyRequest,
        CardBuyRequest,
        CardPayment,
        OrderLine,
        SellerCustomer,
        SellRequest,
    )
    from minted_gateway.minted.models.customers import (
        Balance,
        Customer,
        CustomerProfile,
        CustomerUpdate,
    )
    from minted_gateway.minted.models.delivery import (
        BillingAddress,
        DeliveryAddress,
        DeliveryCustomer,
        DeliveryRequest,
        ShippingAddress,
    )
    from minted_gateway.minted.models.legal import (
        LegalDocument,
        LegalDocumentSummary,
    )
    from minted_gateway.minted.models.lookups import (
        OrderLookup,
        OrdersPage,
        OrdersQuery,
        OrderStatus,
        PageLink,
    )
    from minted_gateway.minted.models.orders import (
        CargoTracking,
        Order,
        OrderCustomer,
        OrderItem,
        OrderResult,
        PaymentOutcome,
    )
    from minted_gateway.minted.models.prices import (
        FixedPrice,
        PriceFix,
        PriceFixRequest,
        ProductPrice,
    )

__all__ = [
    "EXTERNAL_ID_MAX_LENGTH",
    "EXTERNAL_ID_PATTERN",
    "ISTANBUL",
    "ORDER_STATUS_NAMES",
    "PRODUCT_ID_BY_SKU",
    "SKU_BY_PRODUCT_ID",
    "TERMINAL_STATUS_NAMES",
    "Balance",
    "BillingAddress",
    "Birthdate",
    "BuyRequest",
    "BuyerCustomer",
    "CardBuyRequest",
    "CardPayment",
    "CargoTracking",
    "Currency",
    "Customer",
    "CustomerPageId",
    "CustomerProfile",
    "CustomerUpdate",
    "DeliveryAddress",
    "DeliveryCustomer",
    "DeliveryRequest",
    "ExternalId",
    "FixedPrice",
    "Grams",
    "LegalDocument",
    "LegalDocumentSummary",
    "MintedDateTime",
    "MintedDecimal",
    "MintedModel",
    "Name",
    "OptionalText",
    "Order",
    "OrderCustomer",
    "OrderItem",
    "OrderLine",
    "OrderLookup",
    "OrderResult",
    "OrderStatus",
    "OrdersPage",
    "OrdersQuery",
    "PageLink",
    "PaymentOutcome",
    "PriceFix",
    "PriceFixRequest",
    "ProductPrice",
    "SellRequest",
    "SellerCustomer",
    "ShippingAddress",
    "name_statuses_with",
    "parse_minted_datetime",
]

# Each public name and the module that defines it.
_MODULE_OF = {
    "Balance": "customers",
    "BillingAddress": "delivery",
    "Birthdate": "base",
    "BuyRequest": "buy",
    "BuyerCustomer": "buy",
    "CardBuyRequest": "buy",
    "CardPayment": "buy",
    "CargoTracking": "orders",
    "Currency": "base",
    "Customer": "customers",
    "CustomerPageId": "base",
    "CustomerProfile": "customers",
    "CustomerUpdate": "customers",
    "DeliveryAddress": "delivery",
    "DeliveryCustomer": "delivery",
    "DeliveryRequest": "delivery",
    "EXTERNAL_ID_MAX_LENGTH": "base",
    "EXTERNAL_ID_PATTERN": "base",
    "ExternalId": "base",
    "FixedPrice": "prices",
    "Grams": "base",
    "ISTANBUL": "base",
    "LegalDocument": "legal",
    "LegalDocumentSummary": "legal",
    "MintedDateTime": "base",
    "MintedDecimal": "base",
    "MintedModel": "base",
    "Name": "base",
    "ORDER_STATUS_NAMES": "base",
    "OptionalText": "base",
    "Order": "orders",
    "OrderCustomer": "orders",
    "OrderItem": "orders",
    "OrderLine": "buy",
    "OrderLookup": "lookups",
    "OrderResult": "orders",
    "OrderStatus": "lookups",
    "OrdersPage": "lookups",
    "OrdersQuery": "lookups",
    "PRODUCT_ID_BY_SKU": "base",
    "PageLink": "lookups",
    "PaymentOutcome": "orders",
    "PriceFix": "prices",
    "PriceFixRequest": "prices",
    "ProductPrice": "prices",
    "SKU_BY_PRODUCT_ID": "base",
    "SellRequest": "buy",
    "SellerCustomer": "buy",
    "ShippingAddress": "delivery",
    "TERMINAL_STATUS_NAMES": "base",
    "name_statuses_with": "base",
    "parse_minted_datetime": "base",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})
