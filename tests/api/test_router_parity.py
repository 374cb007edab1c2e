"""Our router answers every request as Powertools' resolver built from the same routes does: the hostile-input
corpus (tests/reliability/test_hostile_input.py's requests, and a few more about query and body shapes) and
schemathesis's generation from the served document, each sent to the function the template routes it to,
through both, compared byte for byte (status, headers, body; one request id for both).

The handlers are replaced by a probe (the same on both sides) that answers with what it was called with
(its validated arguments, the caller, the query's ``limit`` as the handlers read it), or raises a domain
error or a bug when the request asks it to: what differs is only what serves the routes.

Below them: path values outside Powertools' route class, events only a direct invoke sends, and the
deliberate differences (docs/decisions.md), exempt from parity by name with the router's answer pinned.
"""

from __future__ import annotations

import base64
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


def send(method: str, target: str, headers: dict[str, str] | None = None, body: bytes | str | None = None) -> bool:
    """``target`` (path and query, as sent) to its function, through our router and through Powertools';
    False: API Gateway answers it itself (no route), nothing was compared."""
    raw_path, _, query = target.partition("?")
    routed = GATEWAY.route_for(method, raw_path)
    if routed is None:
        return False  # API Gateway answers 404 itself: no function runs
    route, params = routed
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    environ = EnvironBuilder(method=method, path="/", query_string=query, headers=headers, data=data).get_environ()
    environ["RAW_URI"] = target
    event = http_event(Request(environ), route, params, "parity-request", CALLER)
    ours, powertools = both(route.function.logical_id, event)
    assert ours == powertools, f"{method} {target[:200]}"
    return True


def both(logical_id: str, event: dict[str, Any]) -> tuple[str, str]:
    """``event``'s answer from our router and from Powertools' resolver, as JSON."""
    ours, powertools = (
        json.dumps(dispatch(copy.deepcopy(event), None, lambda app=app: app, {})) for app in served_by(logical_id)
    )
    return ours, powertools


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
    for body in ("", "null", "[]", "[null]", "[1, 2]", '""', '"text"', "1", "{", "[1,"):
        yield "POST", "/quotes", JSON, body
    yield "PATCH", "/customers/cust-0001", JSON, "[null]"
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


# Characters outside Powertools' dynamic-route class, as sent and percent-encoded: a path value holding one
# is not served by that route (404) on both sides, so a router whose class takes more fails here.
PATH_VALUES = ['a"b', "a`b", "a\\b", "a€b", "a#b", "a\x01b", "a^b", "a%22b", "a%60b", "a%5Cb", "a%E2%82%ACb", "a%23b"]


@pytest.mark.parametrize("raw", PATH_VALUES)
def test_a_path_value_outside_the_route_class_is_answered_as_powertools_answered_it(raw: str) -> None:
    for target in (f"/orders/{raw}", f"/customers/{raw}/balances", f"/plans/{raw}", f"/legal/{raw}"):
        assert send("GET", target), f"API Gateway routes {target!r} to a function: it must be compared"


# ---------------------------------------------------------------- events only a direct invoke sends
def direct_event(
    method: str, raw_path: str, headers: dict[str, str], body: str | None = None, *, base64_encoded: bool = False
) -> tuple[str, dict[str, Any]]:
    """A payload v2 event as a direct invoke may shape it (API Gateway itself never sends these): the function
    the path is routed to, and the event."""
    routed = GATEWAY.route_for(method, raw_path)
    assert routed is not None, raw_path
    route, params = routed
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": headers,
        "pathParameters": params,
        "isBase64Encoded": base64_encoded,
        "requestContext": {
            "http": {"method": method, "path": raw_path},
            "requestId": "parity-request",
            "stage": "$default",
            "routeKey": route.route_key,
            "authorizer": {"jwt": {"claims": CALLER.claims, "scopes": CALLER.scopes}},
        },
    }
    if body is not None:
        event["body"] = body
    return route.function.logical_id, event


QUOTE = '{"currency": "TRY", "items": [{"sku": "GAU", "amount": 1.5}]}'
DIRECT_EVENTS = {
    "a body key holding the empty string": direct_event("POST", "/quotes", {"content-type": "application/json"}, ""),
    "a body of [null]": direct_event("POST", "/quotes", {"content-type": "application/json"}, "[null]"),
    "two content-type keys, no body": direct_event(
        "POST", "/quotes", {"Content-Type": "application/json", "content-type": "text/plain"}
    ),
    "two content-type keys the other way, no body": direct_event(
        "POST", "/quotes", {"content-type": "text/plain", "Content-Type": "application/json"}
    ),
    "two content-type keys, a body": direct_event(
        "POST", "/quotes", {"Content-Type": "application/json", "content-type": "text/plain"}, QUOTE
    ),
    "a base64-encoded body": direct_event(
        "POST",
        "/quotes",
        {"content-type": "application/json"},
        base64.b64encode(QUOTE.encode()).decode(),
        base64_encoded=True,
    ),
    "a base64-encoded body that is not UTF-8": direct_event(
        "POST",
        "/quotes",
        {"content-type": "application/json"},
        base64.b64encode(b"\xff\xfe{").decode(),
        base64_encoded=True,
    ),
}


@pytest.mark.parametrize("name", list(DIRECT_EVENTS))
def test_a_direct_invoke_is_answered_as_powertools_answered_it(name: str) -> None:
    ours, powertools = both(*DIRECT_EVENTS[name])
    assert ours == powertools


# Where our router answers on purpose otherwise than Powertools (docs/decisions.md): a 4xx naming the problem
# where Powertools answered 500, or took the first object of a list and dropped the rest. Each is exempt from
# parity by name; Powertools' status and the router's answer are pinned here.
LOWER_JSON = {"content-type": "application/json"}  # as API Gateway passes header names
NOT_AN_OBJECT = [{"field": "body", "message": "Input should be a valid dictionary or object to extract fields from"}]
DELIBERATE_DIFFERENCES = {
    "an empty multipart/form-data body without a boundary": (
        direct_event("POST", "/quotes", {"content-type": "multipart/form-data"}),
        500,
        422,
        [{"field": "body", "message": "give either items (amount mode) or total (total mode)"}],
    ),
    "a body marked base64-encoded that is not base64": (
        direct_event("POST", "/quotes", {"content-type": "application/json"}, "!!!not base64", base64_encoded=True),
        500,
        422,
        [{"field": "body", "message": "not valid base64"}],
    ),
    "a list of one object": (direct_event("POST", "/quotes", LOWER_JSON, "[" + QUOTE + "]"), 200, 422, NOT_AN_OBJECT),
    "a list of two objects": (
        direct_event("POST", "/quotes", LOWER_JSON, f"[{QUOTE}, {QUOTE}]"),
        200,
        422,
        NOT_AN_OBJECT,
    ),
    "a list of an object and another value": (
        direct_event("POST", "/quotes", LOWER_JSON, "[" + QUOTE + ", {}]"),
        200,
        422,
        NOT_AN_OBJECT,
    ),
    "a change given as a list": (
        direct_event("PATCH", "/customers/cust-0001", LOWER_JSON, '[{"lastname": "Demir"}]'),
        200,
        422,
        NOT_AN_OBJECT,
    ),
}


@pytest.mark.parametrize("name", list(DELIBERATE_DIFFERENCES))
def test_a_deliberate_difference_is_a_4xx_naming_the_body(name: str) -> None:
    (logical_id, event), powertools_status, status, details = DELIBERATE_DIFFERENCES[name]
    ours, powertools = (json.loads(answer) for answer in both(logical_id, event))
    assert powertools["statusCode"] == powertools_status, "Powertools answers otherwise now: compare instead?"
    assert ours["statusCode"] == status
    assert json.loads(ours["body"])["error"]["details"] == details


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
