"""Our router answers every request as Powertools' resolver built from the same routes does: the hostile-input
corpus (tests/reliability/test_hostile_input.py's requests, and a few more about query and body shapes) and
schemathesis's generation from the served document, each sent to the function the template routes it to,
through both, compared byte for byte (status, headers, body; one request id for both).

The handlers are replaced by a probe (the same on both sides) that answers with what it was called with
(its validated arguments, the caller, the query's ``limit`` as the handlers read it), or raises a domain
error or a bug when the request asks it to: what differs is only what serves the routes.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from local.gateway import LocalGateway, http_event, load_handler
from local.jwt_issuer import Authorized
from minted_gateway import jsonutil
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import API_METHODS, json_response, request_caller
from minted_gateway.api.router import Router
from minted_gateway.errors import LedgerUnavailable
from tests.api.test_openapi_document import GOLDEN
from tests.reliability.test_hostile_input import (
    EXTREME_NUMBERS,
    JSON_SPELLINGS,
    OTHER_METHODS,
    POST_ROUTES,
    _body_for,
)
from tests.stack import customer, order

GATEWAY = LocalGateway()  # the template's routes, as API Gateway sends each request to a function
CALLER = Authorized(claims={"sub": "partner-app", "client_id": "parity"}, scopes=["minted/orders.write"])
PROBE = "x-probe"  # "gateway-error" or "bug": what the probe raises instead of answering
EXAMPLES = int(os.environ.get("PARITY_EXAMPLES", "25"))  # schemathesis's cases per operation and mode
SEED = 20261206
JSON = {"Content-Type": "application/json"}
TRANSPORT = ("method", "url", "headers", "params", "json", "data")  # what a generated case sends


@functools.cache
def served_by(logical_id: str) -> tuple[Router, Any]:
    """The function's router with its handlers probed, and Powertools' resolver built from its routes."""
    function = next(
        r.function for r in [*GATEWAY.routes, *GATEWAY.other_methods] if r.function.logical_id == logical_id
    )
    load_handler(function)
    router: Router = sys.modules[function.handler.rsplit(".", 1)[0]].http_api.__wrapped__()
    router.metrics = None  # nothing to count here
    for served in router.routes:
        served.func = _probe(router, served.func)
    return router, router.powertools_resolver()


def _probe(router: Router, handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)  # the handler's signature: what both sides validate and pass
    def probe(**arguments: Any) -> Any:
        request = router.current_event
        asked = (request.raw_event.get("headers") or {}).get(PROBE)
        if asked == "gateway-error":
            raise LedgerUnavailable("The ledger is unavailable; try again.", retry_after=3)
        if asked == "bug":
            raise RuntimeError("a bug")
        called = {
            "handler": handler.__name__,
            "arguments": {name: repr(value) for name, value in arguments.items()},
            "caller": request_caller(router).model_dump(),
            "limit": request.get_query_string_value("limit"),
        }
        return json_response(200, called)

    return probe


def send(method: str, target: str, headers: dict[str, str] | None = None, body: bytes | str | None = None) -> None:
    """``target`` (path and query, as sent) to its function, through our router and through Powertools'."""
    raw_path, _, query = target.partition("?")
    routed = GATEWAY.route_for(method, raw_path)
    if routed is None:
        return  # API Gateway answers 404 itself: no function runs
    route, params = routed
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    environ = EnvironBuilder(method=method, path=raw_path, query_string=query, headers=headers, data=data).get_environ()
    environ["RAW_URI"] = target
    event = http_event(Request(environ), route, params, "parity-request", CALLER)
    ours, powertools = (
        json.dumps(dispatch(copy.deepcopy(event), None, lambda app=app: app, {}))
        for app in served_by(route.function.logical_id)
    )
    assert ours == powertools, f"{method} {target[:200]}"


# ---------------------------------------------------------------- the hostile-input corpus
def hostile_requests() -> Iterator[tuple[str, str, dict[str, str] | None, bytes | str | None]]:
    person = customer()
    for route in POST_ROUTES:
        for raw in EXTREME_NUMBERS:
            yield "POST", route, JSON, _body_for(route, raw)
        yield "POST", route, JSON, '{"note": {"deep": [' + "7" * 4301 + "]}}"
        yield "POST", route, {"Content-Type": "multipart/form-data"}, b"--x\r\n"
        yield "POST", route, JSON, {"items": [{"sku": "GAU", "amount": 1, "zz": n} for n in range(200_000)]}
        yield "POST", route, JSON, "{" + ",".join(f'"k{n}": 1, "k{n}": 2' for n in range(100_000)) + "}"
        yield "POST", route, JSON, '{"items": [' + ",".join("1e999" for _ in range(1000)) + "]}"
    yield (
        "POST",
        "/quotes",
        JSON,
        '{"currency": "TRY", "total": 1e-999999999, "sku": "GAU", "customer_external_id": "c-1"}',
    )
    for content_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", *JSON_SPELLINGS):  # fmt: skip
        yield (
            "POST",
            "/quotes",
            {"Content-Type": content_type},
            '{"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]}',
        )
    yield "POST", "/orders", JSON, '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}"
    yield "POST", "/orders", JSON, b"\xed\x78\x38\xff"
    for raw in ["..%2Fcustomer%2Fcust-0001", "a%2Fb", "%2E%2E%2Fpartner", "ok-id%3Fx%3D1", "%00abc", "!!!", "a,b"]:
        yield "GET", f"/orders/{raw}", None, None
        yield "GET", f"/customers/{raw}/balances", None, None
    surrogate = jsonutil.dumps(order("sur-1", "A" * 32)).replace("ayse.yilmaz@example.com", "ayse\\ud800@example.com")
    yield "POST", "/orders", JSON, surrogate
    yield (
        "POST",
        "/orders",
        JSON,
        re.sub(r'("amount":[0-9.]+)', r'\1,"amount":1000', jsonutil.dumps(order("t-1", "A" * 32))),
    )
    yield "POST", "/orders", JSON, "{" + ",".join(f'"k{n}": 1' for n in range(900)) + "}"
    yield "POST", "/quotes", JSON, '{"' + "k" * 1_000_000 + '": 1, "items": []}'
    for birthdate in [0, "631152000", Decimal("631152000.5"), "1990-1-1", "1990-01-01T00:00:00Z"]:
        yield "POST", "/customers", JSON, jsonutil.dumps({**person, "birthdate": birthdate})
        yield "PATCH", "/customers/cust-0001", JSON, jsonutil.dumps({"birthdate": birthdate})
        yield (
            "POST",
            "/orders",
            JSON,
            jsonutil.dumps(order("bd-1", "A" * 32, customer={**person, "birthdate": birthdate})),
        )
    for raw in ["10.0", "%205", "1_0", "%2B5", "5%20", "%D9%A5", "", "0", "101", "5"]:
        yield "GET", f"/orders?limit={raw}", None, None
        yield "GET", f"/plans?customer_external_id=cust-0001&limit={raw}", None, None
    for guard in ({"max_unit_price": 1}, {"min_unit_price": 99999}):
        yield "POST", "/orders/workflow", JSON, json.dumps({"external_id": "gd-1", "side": "sell", "guard": guard,
                                                         "items": [{"sku": "GAU", "amount": "0.5"}]})  # fmt: skip
    for path, methods in API_METHODS.items():
        concrete = path.replace("{external_id}", "cust-0001").replace("{document_type}", "kvkk_disclosure")
        concrete = concrete.replace("{plan_id}", "plan-0001").replace("{trigger_id}", "t-0001")
        for method in [*OTHER_METHODS, *methods]:
            yield method, concrete, None, None
        yield "GET", concrete + "/", None, None  # a trailing slash is another path
    yield "PATCH", "/customers/cust-0001", JSON, '{"middlename": null}'
    yield "PATCH", "/customers/!!!", JSON, "{"  # a body that is not JSON is the one problem named


def more_requests() -> Iterator[tuple[str, str, dict[str, str] | None, bytes | str | None]]:
    """Query and body shapes the corpus does not try: a name twice, a comma, the body's edge shapes."""
    yield "GET", "/orders?side=buy&side=sell", None, None
    yield "GET", "/orders?status=a,b&cursor=x,y", None, None
    yield "GET", "/orders?from=2026-01-01T00:00:00%2B00:00&to=nonsense&state=nothing&wallet=partner", None, None
    yield "GET", "/prices?currency=XXX", None, None
    yield "GET", "/prices?currency=GBP&currency=TRY", None, None
    yield "GET", "/legal/Not-A-Type", None, None
    quote = {"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]}
    for body in ("", "null", "[]", json.dumps([quote]), json.dumps([quote, {}]), '"text"', "1", "{", "[1,"):
        yield "POST", "/quotes", JSON, body
    yield "POST", "/quotes", {"Content-Type": "application/x-www-form-urlencoded"}, None
    yield "POST", "/quotes", None, json.dumps(quote)
    for probe in ("gateway-error", "bug", "none"):
        yield "POST", "/quotes", {**JSON, PROBE: probe}, json.dumps(quote)
        yield "GET", "/orders/ord-1", {PROBE: probe}, None
        yield "DELETE", "/plans/plan-0001", {PROBE: probe}, None
        yield "PATCH", "/customers/cust-0001", {**JSON, PROBE: probe}, '{"lastname": "Demir"}'


@pytest.mark.parametrize("corpus", [hostile_requests, more_requests])
def test_every_hostile_request_is_answered_as_powertools_answered_it(corpus: Callable[[], Iterator[Any]]) -> None:
    for method, target, headers, body in corpus():
        send(method, target, headers, jsonutil.dumps(body) if isinstance(body, dict) else body)


# ---------------------------------------------------------------- schemathesis's cases
OPERATIONS = [result.ok() for result in schemathesis.openapi.from_path(GOLDEN).get_all_operations()]


@pytest.mark.timeout(20 * EXAMPLES)
@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_every_generated_request_is_answered_as_powertools_answered_it(
    operation: Any, mode: schemathesis.GenerationMode
) -> None:
    @seed(SEED)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def exercise(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://gw")
        sent = requests.Request(**{key: kwargs[key] for key in TRANSPORT if key in kwargs}).prepare()
        assert sent.url is not None and sent.method is not None
        send(sent.method, sent.url.removeprefix("http://gw"), dict(sent.headers), sent.body)

    exercise()
