"""The local API gateway of ``make dev``: the template's HttpApi routes on 127.0.0.1:3000.

Each request becomes the API Gateway payload v2 event (the shape ``sam local generate-event
apigateway http-api-proxy`` produces) and goes to the real handler, imported in-process from its
CodeUri. It also serves the merged OpenAPI document at /openapi.json and Swagger UI at /swagger,
which exist only on this local stage: the deployed API has no such routes. Swagger UI's files come
from the pinned npm package swagger-ui-dist (``npm ci``), so the page loads nothing from outside.

Like API Gateway, it gives every request an id (``requestContext.requestId``); every answer carries
it as ``X-Request-Id``, and the gateway's own refusals (no route, body too large, a crashed
handler) use the API's error envelope. Each request is one access-log line, naming its caller.

Like API Gateway's JWT authorizer, it lets a request reach a function only with a valid token that
holds the route's scope (template.yaml's ``security`` of the route): 401 without one, 403 without the
scope, both in the error envelope. The token's claims go to the function in
``requestContext.authorizer.jwt``, as API Gateway passes them. The issuer is make dev's own
(local/jwt_issuer.py), its keys served on this port at /.well-known/jwks.json.
"""

from __future__ import annotations

import base64
import contextvars
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from aws_lambda_powertools import Metrics
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from local.jwt_issuer import DISCOVERY_PATH, JWKS_PATH, Authorized, JwtAuthorizer, LocalIssuer, Refusal
from local.openapi_document import finish_document
from local.serving import BackgroundServer
from local.template import TEMPLATE, FunctionSpec, functions_of, load_template, resources_of_type
from minted_gateway.observability import redact

logger = logging.getLogger(__name__)
ROOT = TEMPLATE.parent
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
REQUEST_ID_HEADER = "X-Request-Id"
# The methods a line or an answer may name: any other word in a request line is the caller's text.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
POWERTOOLS_SERVICE = "minted-gateway"  # the logger every function's Powertools Logger writes through
SWAGGER_ASSETS = ROOT / "node_modules" / "swagger-ui-dist"
SWAGGER_FILES = {  # what the page needs from the package, and nothing else is served from it
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI form: /orders/{external_id}
    function: FunctionSpec
    operation_id: str | None = None  # the template's name for it, which clients generated from the OpenAPI use
    scopes: tuple[str, ...] = ()  # the JWT scopes the template's route requires (one of them)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, raw_path: str) -> dict[str, str] | None:
        want, got = self.path.strip("/").split("/"), raw_path.split("?", maxsplit=1)[0].strip("/").split("/")
        if len(want) != len(got):
            return None
        params = {}
        for pattern, segment in zip(want, got, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                params[pattern[1:-1]] = unquote(segment)  # API Gateway hands path values decoded
            elif pattern != segment:
                return None
        return params


ANY_METHOD = "x-amazon-apigateway-any-method"  # API Gateway's ANY route: the path's every other method


def routes_from_template(template: dict[str, Any] | None = None, *, any_method: bool = False) -> list[Route]:
    """The HttpApi's routes (the operations); ``any_method``: its ANY routes instead, as method ``ANY``."""
    template = template or load_template()
    (api,) = resources_of_type(template, "AWS::Serverless::HttpApi").values()
    functions = functions_of(template)
    routes = []
    for path, operations in api["Properties"]["DefinitionBody"]["paths"].items():
        for method, operation in operations.items():
            if (method == ANY_METHOD) != any_method:
                continue
            uri = operation["x-amazon-apigateway-integration"]["uri"]
            text = uri["Fn::Sub"] if isinstance(uri, dict) else str(uri)
            function = re.search(r"\$\{(\w+)\.Arn\}", text).group(1)  # type: ignore[union-attr]
            route = Route(
                "ANY" if any_method else method.upper(),
                path,
                functions[function],
                operation.get("operationId"),
                jwt_scopes(operation),
            )
            routes.append(route)
    return routes


def jwt_scopes(operation: dict[str, Any]) -> tuple[str, ...]:
    """The route's scopes in JWT mode: ``security: !If [UseJwtAuth, [{PartnerJwt: [scope]}], !Ref AWS::NoValue]``."""
    security = operation.get("security") or []
    if isinstance(security, dict) and "Fn::If" in security:
        security = security["Fn::If"][1]
    return tuple(scope for requirement in security for scope in requirement.get("PartnerJwt", []))


_import_lock = threading.Lock()


def load_handler(function: FunctionSpec) -> Any:
    """Import the function's module from its CodeUri (module names are unique per function)."""
    module_name, function_name = function.handler.rsplit(".", 1)
    with _import_lock:
        module = sys.modules.get(module_name)
        if module is None:
            path = ROOT / function.code_uri / f"{module_name}.py"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {function.handler} from {function.code_uri}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[module_name] = module
    return getattr(module, function_name)


# The function whose handler this thread is running (for tests that attribute AWS calls to functions).
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_function", default=None)


_invocation = threading.local()


class _InvocationLogKeys(logging.Filter):
    """Powertools' inject_lambda_context writes the request's ids on the one formatter every function's
    logger shares (and clears any per-thread keys first). On this gateway's threads that would stamp
    one request's lines with another's correlation_id, so each line gets its own thread's invocation's
    values as record attributes, which the formatter writes over the shared ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (getattr(_invocation, "log_keys", None) or {}).items():
            setattr(record, key, value)
        return True


_STAMP = _InvocationLogKeys()


def _stamp_each_line_with_its_invocation() -> None:
    """The last filter, after the one that masks personal data (a request id is not a phone number)."""
    with _import_lock:
        for handler in logging.getLogger(POWERTOOLS_SERVICE).handlers:
            if handler.filters[-1:] != [_STAMP]:
                handler.removeFilter(_STAMP)
                handler.addFilter(_STAMP)


class _InvocationSet(dict):  # type: ignore[type-arg]
    """One of Powertools Metrics' class-level sets (metrics, dimensions, metadata), held per invocation.

    In Lambda an execution environment serves one invocation at a time, so one process-wide set is
    one invocation's. On this gateway's threads every function shares the process: one invocation's
    flush would print (and clear) metrics another invocation added, lines CloudWatch never sees. Each
    invocation gets empty sets of its own; outside one (a module's import) the set is process-wide and
    no invocation flushes it (Lambda's first would: no module here adds a metric outside a handler).
    Only the dict methods Powertools calls are per invocation; C-level fast paths (json.dumps of the
    set itself, ==) see an empty dict.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name
        self._outside: dict[str, Any] = {}

    def _data(self) -> dict[str, Any]:
        sets: dict[str, dict[str, Any]] | None = getattr(_invocation, "metric_sets", None)
        return self._outside if sets is None else sets.setdefault(self._name, {})

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data()

    def __iter__(self) -> Any:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return repr(self._data())

    def get(self, key: str, default: Any = None) -> Any:
        return self._data().get(key, default)

    def keys(self) -> Any:
        return self._data().keys()

    def values(self) -> Any:
        return self._data().values()

    def items(self) -> Any:
        return self._data().items()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._data().update(*args, **kwargs)

    def clear(self) -> None:
        self._data().clear()

    def copy(self) -> dict[str, Any]:
        return self._data().copy()

    def pop(self, key: str, *default: Any) -> Any:
        return self._data().pop(key, *default)


def _metrics_per_invocation() -> None:
    """Give Powertools Metrics per-invocation sets, before any function's module makes its Metrics
    (an instance keeps the class's sets it found): this module loads every handler."""
    for attribute, name in (("_metrics", "metrics"), ("_dimensions", "dimensions"), ("_metadata", "metadata")):
        if not isinstance(getattr(Metrics, attribute), _InvocationSet):
            setattr(Metrics, attribute, _InvocationSet(name))


_metrics_per_invocation()


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """What the functions print meanwhile (their log and metric lines, on stdout as on Lambda) is written
    and dropped: the cost stays, the text goes. At the descriptor, so that a handler bound to the old
    sys.stdout (the logger's) is quiet too."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def invoke(function: FunctionSpec, event: dict[str, Any]) -> Any:
    """Run a function's handler as Lambda would: its event, a context with its timeout."""
    token = current_function.set(function.logical_id)
    handler = load_handler(function)
    _stamp_each_line_with_its_invocation()
    context = LocalContext(function.logical_id, function.timeout)
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    outer = getattr(_invocation, "log_keys", None)
    _invocation.log_keys = {
        "function_name": context.function_name,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
        "correlation_id": (request_context or {}).get("requestId"),  # None: no line shows another's
    }
    outer_metric_sets = getattr(_invocation, "metric_sets", None)
    _invocation.metric_sets = {}
    try:
        return handler(event, context)
    finally:
        _invocation.metric_sets = outer_metric_sets
        _invocation.log_keys = outer
        current_function.reset(token)


class LocalContext:
    """The parts of Lambda's context object that our handlers and Powertools read."""

    def __init__(self, function_name: str, timeout: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_event(
    request: Request, route: Route, path_params: dict[str, str], request_id: str, authorized: Authorized | None = None
) -> dict[str, Any]:
    raw_uri = request.environ.get("RAW_URI") or request.full_path
    raw_path, _, raw_query = raw_uri.partition("?")
    body_bytes = request.get_data()
    try:
        body: str | None = body_bytes.decode("utf-8") if body_bytes else None
        encoded = False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(body_bytes).decode("ascii"), True
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "cookies": [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()],
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": authorized.claims, "scopes": authorized.scopes}} if authorized else {},
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body
    return event


def to_response(result: Any) -> Response:
    """API Gateway's payload v2 response rules: a dict with statusCode, or anything else as JSON."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def gateway_error(status: int, code: str, message: str, request_id: str) -> Response:
    """The gateway's own refusals, in the same envelope the functions use."""
    body = {"error": {"code": code, "message": message, "details": [], "request_id": request_id}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def refused(refusal: Refusal, request_id: str) -> Response:
    """The authorizer's 401 or 403 (API Gateway answers {"message": ...}; ours is the envelope)."""
    if refusal.status == 401:
        response = gateway_error(401, "unauthorized", f"No valid token: {refusal.description}.", request_id)
    else:
        message = f"The token lacks the scope this route requires ({' or '.join(refusal.scopes)})."
        response = gateway_error(403, "forbidden_scope", message, request_id)
    response.headers["WWW-Authenticate"] = refusal.www_authenticate
    return response


def caller_shown(authorized: Authorized | None) -> str:
    """The access log's caller: the token's subject and client, never the token."""
    if authorized is None:
        return "-"
    claims = authorized.claims
    shown = {"sub": claims.get("sub"), "client": claims.get("client_id") or claims.get("azp"),
             "customer": claims.get("minted_customer")}  # fmt: skip
    # The token's text: a line break in sub wrote a forged line (found by a hostile-input review).
    return " ".join(f"{name}={shown_text(value, 80)}" for name, value in shown.items() if value) or "-"


class LocalGateway:
    """A WSGI app: route, build the event, invoke the handler, translate its answer."""

    def __init__(self, routes: list[Route] | None = None, issuer: LocalIssuer | None = None) -> None:
        self.routes = routes if routes is not None else routes_from_template()
        self.issuer = issuer  # None: no authorizer (only for a document, as make api-docs builds it)
        self._authorizer: JwtAuthorizer | None = None
        self._document: dict[str, Any] | None = None  # the OpenAPI document, written on its first request
        self._local = threading.local()
        # A method no route of its path takes goes to the path's ANY route, as API Gateway sends it.
        self.other_methods = routes_from_template(any_method=True) if routes is None else []
        # This stage's own pages, not the API's: their paths are fixed, so the access log may show them.
        self.own_paths = frozenset({"/openapi.json", "/swagger", JWKS_PATH, DISCOVERY_PATH,
                                    *(f"/swagger/{name}" for name in SWAGGER_FILES)})  # fmt: skip

    @property
    def authorizer(self) -> JwtAuthorizer | None:
        """API Gateway's JWT authorizer, configured with the issuer and audience (as the template's
        jwtConfiguration), reading the issuer's published keys."""
        if self.issuer is not None and (self._authorizer is None or self._authorizer.issuer != self.issuer.issuer):
            self._authorizer = JwtAuthorizer(self.issuer.issuer, [self.issuer.audience], self.issuer.jwks())
        return self._authorizer

    def handler_for(self, route: Route) -> Any:
        return load_handler(route.function)

    def openapi(self, server_url: str) -> dict[str, Any]:
        """One document from every function's routes (each function documents its own, through Powertools),
        written once per gateway: the routes do not change while it runs."""
        if self._document is None:
            self._document = self._write_document()
        return {**self._document, "servers": [{"url": server_url}]}

    def _write_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {
                "title": "Minted Connect partner gateway",
                "version": "1.0",
                "description": "Prices, quotes and exactly-once buys of digital gold, silver and platinum through "
                "Minted Connect. A deployed stage takes a JWT holding the route's scope or an IAM SigV4 signature "
                "(AuthMode); this local stage takes a JWT from make dev's own issuer (make token SCOPES=...; "
                'Authorize above). Every answer carries X-Request-Id; errors are {"error": {...}}.',
            },
            "servers": [],
            "paths": {},
            "components": {"schemas": {}},
        }
        seen = set()
        for route in self.routes:
            self.handler_for(route)
            module = sys.modules[route.function.handler.rsplit(".", 1)[0]]
            if module.__name__ in seen:
                continue
            seen.add(module.__name__)
            # Each function builds its routes on its first HTTP event: http_api() is that router.
            schema = json.loads(module.http_api().get_openapi_json_schema(title="Minted Connect partner gateway"))
            # Two functions may serve one path (GET /orders and POST /orders): merge their operations.
            for path, operations in schema.get("paths", {}).items():
                document["paths"].setdefault(path, {}).update(operations)
            document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
        return finish_document(document, {(r.method.lower(), r.path): r.operation_id for r in self.routes})

    def route_for(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route API Gateway sends the request to, with its path values; None: API Gateway answers 404."""
        # The most specific route takes it: a path without variables first, then the method's own route over ANY.
        candidates = sorted([*self.routes, *self.other_methods],
                            key=lambda r: (r.path.count("{"), r.method == "ANY"))  # fmt: skip
        for route in candidates:
            params = route.match(raw_path)
            if params is not None and route.method in (method, "ANY"):
                return route, params
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        self._local.authorized = None
        self._local.route_path = None
        response = self.respond(request, request_id)
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        # One line per request, as an access log: no query string, no body, no personal data, no token. A
        # routed request shows its route (/orders/{external_id}), as the deployed log's routeKey does, and a
        # path no route takes shows "-", as routeKey does: a path's values are the caller's text (an id, an
        # email, a name no mask can tell, a line break that would forge another line).
        logger.info(
            "%s %s %s %.0f ms %s %s",
            request.method if request.method in HTTP_METHODS else "-",  # http.server takes any word as one
            self._local.route_path or (request.path if request.path in self.own_paths else "-"),
            response.status_code,
            (time.monotonic() - started) * 1000,
            request_id,
            caller_shown(self._local.authorized),
        )
        return response(environ, start_response)

    def respond(self, request: Request, request_id: str) -> Response:
        if request.method == "GET" and request.path == "/openapi.json":
            return Response(json.dumps(self.openapi(request.host_url.rstrip("/"))), content_type="application/json")
        if request.method == "GET" and (request.path == "/swagger" or request.path.startswith("/swagger/")):
            return swagger(request.path.removeprefix("/swagger").strip("/"), request_id)
        if request.method == "GET" and self.issuer is not None and request.path in (JWKS_PATH, DISCOVERY_PATH):
            published = self.issuer.jwks() if request.path == JWKS_PATH else self.issuer.discovery()
            return Response(json.dumps(published), content_type="application/json")
        raw_path = (request.environ.get("RAW_URI") or request.path).split("?")[0]
        routed = self.route_for(request.method, raw_path)
        self._local.route_path = routed[0].path if routed is not None else None  # for the access log, a 413 too
        # Read one byte past the limit and no further: a chunked body has no Content-Length to check first
        # (werkzeug stops a chunked read at the bound; it refuses a declared length over it).
        request.max_content_length = MAX_BODY_BYTES + 1
        try:
            too_large = len(request.get_data()) > MAX_BODY_BYTES  # kept for the event
        except RequestEntityTooLarge:
            too_large = True
        if too_large:
            return gateway_error(413, "payload_too_large", "The body is larger than 10 MiB.", request_id)
        if routed is not None:
            route, params = routed
            authorized = None
            if self.authorizer is not None:
                try:
                    authorized = self.authorizer.authorize(request.headers.get("Authorization"), route.scopes)
                except Refusal as refusal:
                    self._local.authorized = refusal.caller  # a valid token without the scope: named in the log
                    return refused(refusal, request_id)
                self._local.authorized = authorized
            event = http_event(request, route, params, request_id, authorized)
            try:
                result = invoke(route.function, event)
            except Exception:
                logger.exception("function %s failed (request %s)", route.function.logical_id, request_id)
                return gateway_error(500, "internal_error", "Something went wrong on our side.", request_id)
            return to_response(result)
        # API Gateway's HTTP API answers a request no route takes with 404 (a served path's other methods
        # have its ANY route: 405 from the function).
        # The path is not repeated: it is the caller's text, and may hold an email or a name (API Gateway's
        # own answer names nothing either).
        method = request.method if request.method in HTTP_METHODS else "this method"
        return gateway_error(404, "route_not_found", f"No route takes {method} on this path.", request_id)


SWAGGER_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Minted Connect partner gateway (local)</title>
<link rel="icon" type="image/png" href="/swagger/favicon-32x32.png">
<link rel="stylesheet" href="/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null});</script>
</body></html>"""
# The browser may load nothing but this gateway's own files.
SWAGGER_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
)


def shown_text(text: str, limit: int) -> str:
    """The caller's text (a token's claim) as the access log shows it: one line
    (control characters and non-ASCII escaped), at most ``limit`` characters, and anything shaped like
    personal data masked."""
    shown = redact(text.encode("unicode_escape").decode("ascii"))  # masked whole: a cut number is not one
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def swagger(asset: str, request_id: str) -> Response:
    """Swagger UI's page and its files from the pinned swagger-ui-dist package."""
    if not (SWAGGER_ASSETS / "swagger-ui-bundle.js").is_file():
        message = "Swagger UI's files are not installed: run npm ci (make dev does)."
        return gateway_error(503, "swagger_not_installed", message, request_id)
    if not asset:
        response = Response(SWAGGER_HTML, content_type="text/html; charset=utf-8")
    elif asset in SWAGGER_FILES:
        response = Response((SWAGGER_ASSETS / asset).read_bytes(), content_type=SWAGGER_FILES[asset])
    else:
        return gateway_error(404, "route_not_found", "Swagger UI has no such file.", request_id)
    response.headers["Content-Security-Policy"] = SWAGGER_POLICY
    return response


# What the HTTP server refuses before a request reaches the gateway: http.server's limits (a request line
# or a header line over 64 KB, more than 100 headers) and a request line it cannot read.
SERVER_REFUSALS = {
    414: ("uri_too_long", "The request line is longer than 64 KB."),
    431: ("headers_too_large", "A header is longer than 64 KB, or there are more than 100."),
}
UNREADABLE_REQUEST = ("bad_request", "The request line or its headers could not be read.")


class EnvelopeErrors(WSGIRequestHandler):
    """The server's own refusals in the envelope, as the gateway's are, rather than http.server's HTML page,
    and logged as an access line of their own: http.server logs its reason, which quotes the caller's text
    (a request line of 64 KB, or whatever stood in its version)."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        request_id = str(uuid.uuid4())
        error_code, text = SERVER_REFUSALS.get(code, UNREADABLE_REQUEST)
        body = json.dumps({"error": {"code": error_code, "message": text, "details": [],
                                     "request_id": request_id}}).encode()  # fmt: skip
        logger.info("- - %d - %s -", code, request_id)  # no method or path: the line could not be read
        self.close_connection = True
        # An unreadable request line leaves http.server's HTTP/0.9 default, which writes no status line.
        self.request_version = self.protocol_version
        self.send_response_only(code)  # send_response would log the request line too
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(REQUEST_ID_HEADER, request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class GatewayServer(BackgroundServer):
    def __init__(self, gateway: LocalGateway, *, host: str = "127.0.0.1", port: int = 3000) -> None:
        super().__init__(gateway, host=host, port=port, name="local-gateway", request_handler=EnvelopeErrors)
