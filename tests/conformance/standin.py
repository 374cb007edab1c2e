"""A stand-in Minted that answers only with Minted's published examples: no rules, no state, no Digest.

Price Fix answers the contract's section 3 example; a buy answers the published Buy answer whatever
it was asked; Get Order and the alternative lookup answer the published order held under the id
asked for, or 404. It counts what it was asked, so a test can prove how many buys reached it.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask import Flask, Response, request

from local.serving import BackgroundServer
from minted_gateway import jsonutil
from tests.conformance.examples import example

ISTANBUL = timezone(timedelta(hours=3))


def price_fix_example() -> dict[str, Any]:
    """Contract section 3's example (TRY, amount mode); only the token and its expiry are made now."""
    expires = (datetime.now(UTC) + timedelta(seconds=239)).astimezone(ISTANBUL)
    return {
        "data": {
            "token": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)),
            "expires_at": expires.isoformat(timespec="seconds"),
            "expire_ttl": 239,
            "is_total_price": False,
            "total": None,
            "currency": "TRY",
            "prices": [
                {"currency_id": None, "product_id": 3000001, "sku": "GAU", "spot_price": Decimal("2939.71"),
                 "buy_price": Decimal("2889.71"), "sell_price": Decimal("2857.4"), "buy_amount": None},
                {"currency_id": None, "product_id": 3000002, "sku": "GAG", "spot_price": Decimal("34.7041"),
                 "buy_price": Decimal("34.68"), "sell_price": Decimal("31.16"), "buy_amount": None},
            ],
        },
        "success": True,
        "code": 0,
        "message": "",
    }  # fmt: skip


def _published_orders() -> list[dict[str, Any]]:
    return [example("get-order-200.json")["data"], example("find-order-200.json")["data"],
            example("card-get-order-200.json")["data"]]  # fmt: skip


def _held(**key: str) -> dict[str, Any] | None:
    """The published order held under this guid, order_code or external_id.

    The published lookup request asks by a guid that no published answer carries; the page pairs it
    with the published lookup answer, and so does the stand-in.
    """
    if key.get("guid") == example("find-order-request.json")["guid"]:
        return example("find-order-200.json")
    for order in _published_orders():
        if any(value and order.get(name) == value for name, value in key.items()):
            return {"data": order, "success": True, "code": 0, "message": ""}
    return None


def _json(body: Any, status: int = 200) -> Response:
    return Response(jsonutil.dumps(body), status=status, mimetype="application/json")


_NOT_FOUND = {"data": None, "success": False, "code": 404, "message": "Not Found"}


def create_standin() -> tuple[Flask, Counter[str], dict[str, list[Any]]]:
    app = Flask("published_minted")
    asked: Counter[str] = Counter()
    bodies: dict[str, list[Any]] = {}  # what each order-placing call was sent
    lock = threading.Lock()

    def count(name: str) -> None:
        with lock:
            asked[name] += 1

    @app.post("/partner/pricefix")
    def pricefix() -> Response:
        count("pricefix")
        return _json(price_fix_example())

    @app.post("/partner/order/digital/buy")
    def buy() -> Response:
        count("buy")
        bodies.setdefault("buy", []).append(jsonutil.loads(request.get_data() or b"{}"))
        return _json(example("buy-response-200.json"))

    @app.get("/partner/order/<path:external_id>")
    def get_order(external_id: str) -> Response:
        count("get_order")
        held = _held(external_id=external_id)
        return _json(held) if held else _json(_NOT_FOUND, 404)

    @app.post("/partner/order")
    def find_order() -> Response:
        count("find_order")
        body = jsonutil.loads(request.get_data() or b"{}")
        held = _held(**{k: str(body.get(k) or "") for k in ("guid", "order_code", "external_id")})
        return _json(held) if held else _json(_NOT_FOUND, 404)

    return app, asked, bodies


class StandinMinted(BackgroundServer):
    def __init__(self) -> None:
        app, self.asked, self.bodies = create_standin()
        super().__init__(app, name="published-minted")
