"""Keyed hashes for the ledger: a request's fingerprint, a price token's, a workflow's customer block.

The fingerprint covers what is bought, for whom (``OrderRequest.purchase``): defaults filled in,
items in sku order, the price token left out, so a new quote for an order that never reached
Minted is a retry of it, not a different order.

HMAC with a secret key (not a bare SHA-256), because a request holds the customer's identity
number, which has too few possible values to stay secret behind an unkeyed hash. Rotating the key
changes every fingerprint, so a retry of an order sent before the rotation would read as a
conflict: keep the key.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from minted_gateway import jsonutil
from minted_gateway.orders.requests import CustomerIn, Purchase


def canonical(value: Any) -> Any:
    """Same meaning, same form: keys sorted, 1.50 and 1.5 alike."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, Decimal):
        normalised = value.normalize()
        return normalised.quantize(Decimal(1)) if normalised == normalised.to_integral() else normalised
    return value


class Fingerprinter:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the ledger key must be at least 16 bytes")
        self._key = key

    def purchase(self, purchase: Purchase) -> str:
        fields = purchase.model_dump(mode="python", exclude_none=True)
        if fields.get("side") == "buy":
            del fields["side"]  # a buy hashes as it did before orders had a side: its retries still replay
        fields["items"] = sorted(fields["items"], key=lambda item: item["sku"])  # listed in any order: one purchase
        payload = jsonutil.dumps(canonical(fields))
        return self._hmac("order:" + payload)

    def customer(self, customer: CustomerIn) -> str:
        """What a buy workflow's execution carries instead of its customer (orders/workflow_customers.py)."""
        return self._hmac("customer:" + jsonutil.dumps(canonical(customer.model_dump(mode="json", exclude_none=True))))

    def token(self, price_token: str) -> str:
        return self._hmac("token:" + price_token)

    def _hmac(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
