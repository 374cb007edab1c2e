"""Every function's HTTP routes, served without Powertools' Event Handler.

Importing and running the Event Handler was about 60 ms of CPU on every HTTP cold start (its resolver
module, its OpenAPI parameter classes, asyncio) and its validation machinery on each route's first
request (docs/performance.md). A route here is declared as before (``@app.post(path, **openapi)``,
parameters marked ``Annotated[..., Body()]``, ``Path(...)``, ``Query(...)``) and checked with pydantic
directly, the way Powertools checks it: the same errors with the same ``loc``, so every answer, 4xx
included, is the one Powertools gave (tests/api/test_router_parity.py replays hostile and generated
requests through both).

The OpenAPI document is still Powertools': ``get_openapi_json_schema`` builds its resolver from these
same routes, only when a document is asked for, never on a request.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Mapping
from types import UnionType
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    NamedTuple,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)
from urllib.parse import parse_qs

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from minted_gateway import jsonutil
from minted_gateway.api.http import (
    invalid_request,
    not_base64,
    not_served,
    refusal,
    refused,
    unexpected,
    unsupported_media_type,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from minted_gateway.api.resolver import GatewayResolver

Body_T = TypeVar("Body_T")
JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Powertools' dynamic routes: ``<name>`` takes RFC 3986's safe and unsafe characters and word characters
# (so "%2F" and "a,b" reach validation as they were sent, and "/" never does).
_SAFE_URI = "-._~()'!*:@,;=+&$"
_UNSAFE_URI = r"%<> \[\]{}|^"
_DYNAMIC_PART = re.compile(r"(<\w+>)")
_NAMED_GROUP = rf"(?P\1[{_SAFE_URI}{_UNSAFE_URI}\\w]+)"
_DOCUMENT_ONLY = ("alias", "description", "examples", "title")  # a marker's options that do not validate


class Response(Generic[Body_T]):
    """An answer: status, body, headers and content type, shaped as Powertools' Response is, so that its
    resolver (the document's, the parity test's reference) can send one too."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: Body_T | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = dict(headers) if headers else {}
        self.content_type = content_type
        self.cookies: list[Any] = []
        self.compress: bool | None = None
        self.base64_encoded = False
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def is_json(self) -> bool:
        return self.headers.get("Content-Type", "").startswith(JSON_MEDIA_TYPE)


class Param:
    """Where a handler's parameter comes from, and its rules (``pattern``, ``min_length``, ``max_length``,
    ``ge``, ``le``) with what the document says of it (``alias``, ``description``, ``examples``)."""

    where = ""

    def __init__(self, **options: Any) -> None:
        self.options = options


class Path(Param):
    where = "path"


class Query(Param):
    where = "query"


class Body(Param):
    where = "body"


class Argument(NamedTuple):
    """One parameter of a route, ready to validate: where it is read, under which name, and how."""

    name: str
    alias: str
    required: bool
    default: Any
    validate: Callable[[Any], Any]


class InvalidRequest(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


class NotJson(Exception):
    pass


class Request:
    """The request a router answers, as the handlers read it (``raw_event``, ``path``, a query value)."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event: dict[str, Any] = dict(event)

    @property
    def method(self) -> str:
        return str(self.raw_event["requestContext"]["http"]["method"]).upper()

    @property
    def path(self) -> str:
        """rawPath without a named stage (``$default`` has none in the path)."""
        stage = self.raw_event["requestContext"]["stage"]
        raw_path = str(self.raw_event["rawPath"])
        return raw_path if stage == "$default" else raw_path[len("/" + stage) :]

    def get_query_string_value(self, name: str, default_value: str | None = None) -> str | None:
        return (self.raw_event.get("queryStringParameters") or {}).get(name, default_value)

    def query_value(self, name: str) -> Any:
        """API Gateway joins a repeated name's values with commas: a name sent twice is a list (refused by a
        single value's rules), a value holding a comma is one text."""
        value = (self.raw_event.get("queryStringParameters") or {}).get(name)
        if value is None or "," not in value:
            return value
        raw_query = self.raw_event.get("rawQueryString") or ""
        repeated = len(parse_qs(raw_query, keep_blank_values=True).get(name, ())) > 1
        return value.split(",") if repeated else value

    def json_body(self) -> Any:
        body = self.raw_event.get("body")
        if self.raw_event.get("isBase64Encoded") and body:
            try:
                body = base64.b64decode(body.encode()).decode()  # UnicodeDecodeError: not UTF-8
            except binascii.Error:  # Powertools answers 500 here (docs/decisions.md: a deliberate difference)
                raise not_base64() from None
        if not body:
            return None
        try:
            return jsonutil.loads_request(body)
        except json.JSONDecodeError as exc:
            raise InvalidRequest([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                   "input": {}, "ctx": {"error": exc.msg}}]) from exc  # fmt: skip

    def content_type(self) -> str:
        """Of two keys differing only in case, the last one, as Powertools' case-insensitive headers read it."""
        headers = self.raw_event.get("headers") or {}
        values = [str(value) for key, value in headers.items() if key.lower() == "content-type"]
        return (values[-1] if values else "").strip()


Types = Callable[[], Mapping[str, Any]]


def imported(module: str, *names: str) -> Types:
    """A route's ``types``: ``names`` from ``module``, imported when the route is first served (or documented).

    A handler annotated ``Annotated["QuoteRequest", Body()]`` with ``types=imported(module, "QuoteRequest")``
    costs the function's other routes nothing: its model classes (and the modules they stand on) are made
    only for its own first request. Every route's classes were made on any route's cold start before.
    """

    def types() -> Mapping[str, Any]:
        loaded = importlib.import_module(module)
        return {name: getattr(loaded, name) for name in names}

    return types


class Route:
    """A method and path, its handler, and what the document says of it; its arguments are read from the
    handler's signature on the route's first request (most containers never serve most routes)."""

    def __init__(
        self, method: str, path: str, func: Callable[..., Any], openapi: dict[str, Any], types: Types | None = None
    ) -> None:
        self.method, self.path, self.func, self.openapi, self.types = method, path, func, openapi, types
        self.rule = re.compile(f"^{_DYNAMIC_PART.sub(_NAMED_GROUP, path)}$")
        self._arguments: tuple[list[Argument], list[Argument], Argument | None] | None = None
        self._lock = threading.Lock()

    def signature(self) -> inspect.Signature:
        """The handler's signature, its annotations evaluated: text (a module with postponed annotations
        declares them so) and names the route's ``types`` import."""
        hints = get_type_hints(self.func, localns=dict(self.types()) if self.types else None, include_extras=True)
        signature = inspect.signature(self.func)
        parameters = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
        returns = hints.get("return", signature.return_annotation)
        return signature.replace(parameters=parameters, return_annotation=returns)

    def arguments(self) -> tuple[list[Argument], list[Argument], Argument | None]:
        """The path's, the query's and the body's arguments, in the handler's order."""
        if self._arguments is None:
            with self._lock:
                if self._arguments is None:
                    self._arguments = _arguments_of(self)
        return self._arguments


class Router:
    """One function's routes; counts each refused request as ``RequestsRefused`` by status class."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics
        self._routes: list[Route] = []
        self._local = threading.local()  # the local gateway answers requests on threads, Lambda one at a time

    # ------------------------------------------------------------ declaring
    def route(
        self, path: str, method: str, types: Types | None = None, **openapi: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """``types``: names the handler's annotations use, imported on the route's first use (``imported``)."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self._routes.append(Route(method, path, func, openapi, types))
            return func

        return register

    def get(self, path: str, **openapi: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "GET", **openapi)

    def post(self, path: str, **openapi: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "POST", **openapi)

    def patch(self, path: str, **openapi: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "PATCH", **openapi)

    def delete(self, path: str, **openapi: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "DELETE", **openapi)

    @property
    def routes(self) -> list[Route]:
        """As Powertools tries them: paths without a parameter first, then in the order declared."""
        return sorted(self._routes, key=lambda route: route.rule.groups > 0)

    def prepare(self) -> None:
        """Every route's validators, built now (SnapStart's before-snapshot hook) rather than on first use."""
        for route in self._routes:
            route.arguments()

    # ------------------------------------------------------------ answering
    @property
    def current_event(self) -> Request:
        request: Request = self._local.request
        return request

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """API Gateway's payload v2 answer to ``event``; every error is answered in the envelope."""
        request = self._local.request = Request(event)
        try:
            response = self._answer(request)
        except InvalidRequest as exc:
            response = refused(self, invalid_request(exc.errors))
        except NotJson:
            response = refused(self, unsupported_media_type())
        except Exception as exc:  # every other error is answered too: in the envelope, or as a 500
            error = refusal(exc)
            response = refused(self, error) if error is not None else unexpected(self, exc)
        return _payload(response)

    def count_refusal(self, status: int) -> None:
        if self.metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415 - Metrics has it loaded

            self.metrics.add_metric(name=f"RequestsRefused{status // 100}xx", unit=MetricUnit.Count, value=1)

    def _answer(self, request: Request) -> Response[Any]:
        method, path = request.method, request.path
        for route in self.routes:
            matched = route.rule.match(path) if route.method == method else None
            if matched:
                result: Response[Any] = route.func(**_validated(route, request, matched.groupdict()))
                return result
        return not_served(self, self.routes, path)

    # ------------------------------------------------------------ documenting
    def get_openapi_schema(self, **options: Any) -> Any:
        return self.powertools_resolver().get_openapi_schema(**options)

    def get_openapi_json_schema(self, **options: Any) -> str:
        document: str = self.powertools_resolver().get_openapi_json_schema(**options)
        return document

    def powertools_resolver(self) -> GatewayResolver:
        """Powertools' resolver serving these same routes: the OpenAPI document's author, and the reference
        the parity test compares answers with. Never built to answer a request."""
        from minted_gateway.api.http import new_resolver  # noqa: PLC0415 - imports the Event Handler

        resolver = new_resolver(self.metrics)
        for route in self._routes:
            openapi = dict(route.openapi)
            if callable(openapi.get("responses")):  # api/schemas.answers: the answer types, made for the document
                openapi["responses"] = openapi["responses"]()
            resolver.route(route.path, route.method, **openapi)(self._powertools_view(route, resolver))
        return resolver

    def _powertools_view(self, route: Route, resolver: GatewayResolver) -> Callable[..., Any]:
        """The handler as Powertools reads it: our markers as its Body, Path and Query, our Response as its."""
        from aws_lambda_powertools.event_handler import Response as PowertoolsResponse  # noqa: PLC0415

        signature = route.signature()
        parameters = [p.replace(annotation=_for_powertools(p.annotation)) for p in signature.parameters.values()]
        returns = signature.return_annotation
        if returns is Response or get_origin(returns) is Response:
            returns = PowertoolsResponse[get_args(returns) or str]  # type: ignore[misc]

        def view(**arguments: Any) -> Any:
            self._local.request = Request(resolver.current_event.raw_event)  # what the handler reads of it
            return route.func(**arguments)

        functools.update_wrapper(view, route.func)
        del view.__wrapped__  # type: ignore[attr-defined]  # Powertools must read the signature below
        view.__signature__ = signature.replace(parameters=parameters, return_annotation=returns)  # type: ignore[attr-defined]
        view.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": returns}
        return view


def _for_powertools(annotation: Any) -> Any:
    if get_origin(annotation) is not Annotated:
        return annotation
    from aws_lambda_powertools.event_handler.openapi import params  # noqa: PLC0415

    kind, *metadata = get_args(annotation)
    translated = [getattr(params, type(m).__name__)(**m.options) if isinstance(m, Param) else m for m in metadata]
    return Annotated[(kind, *translated)]


def _arguments_of(route: Route) -> tuple[list[Argument], list[Argument], Argument | None]:
    path_names = set(re.findall(r"<(\w+)>", route.path))
    read: dict[str, list[Argument]] = {"path": [], "query": [], "body": []}
    for name, parameter in route.signature().parameters.items():
        kind, marker = _marker(parameter.annotation)
        where = marker.where if marker is not None else ("path" if name in path_names else "query")
        unsupported = _unsupported(parameter.annotation, kind, marker, where)
        if unsupported:
            raise TypeError(f"{route.method} {route.path}: parameter {name!r} {unsupported}")
        options = marker.options if marker is not None else {}
        required = parameter.default is inspect.Parameter.empty
        read[where].append(Argument(name, options.get("alias") or name, required,
                                    None if required else parameter.default, _validator(kind, options)))  # fmt: skip
    if len(read["body"]) > 1:
        raise TypeError(f"{route.method} {route.path}: one body parameter at most (Powertools would embed them)")
    return read["path"], read["query"], next(iter(read["body"]), None)


def _unsupported(annotation: Any, kind: Any, marker: Param | None, where: str) -> str | None:
    """Why the router cannot serve a declaration as Powertools would (None: it can). Refused when the route's
    arguments are built (SnapStart's hook, or the first request) rather than answered differently."""
    metadata = get_args(annotation)[1:] if get_origin(annotation) is Annotated else ()
    foreign = [type(m).__name__ for m in metadata if type(m).__module__.startswith("aws_lambda_powertools")]
    if foreign:
        return f"is marked with Powertools' {foreign[0]}(): mark it with the router's Path, Query or Body"
    if marker is None and _holds(kind, lambda t: isinstance(t, type) and issubclass(t, BaseModel)):
        return "is a model without Body(): Powertools would read it as the body; mark it Body()"
    if where != "body" and _holds(
        kind, lambda t: t in (list, tuple, set, frozenset) or get_origin(t) in (list, tuple, set, frozenset)
    ):
        return f"is a sequence in the {where}: the router reads one value per name"
    if marker is not None and marker.options.get("embed"):
        return "is an embedded body (Body(embed=True)): the router reads the body as the one model"
    return None


def _holds(kind: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``kind`` or a member of its union (or the type an Annotated wraps) passes ``test``."""
    if test(kind):
        return True
    origin = get_origin(kind)
    if origin is Annotated:
        return _holds(get_args(kind)[0], test)
    return origin in (Union, UnionType) and any(_holds(member, test) for member in get_args(kind))


def _marker(annotation: Any) -> tuple[Any, Param | None]:
    """The annotation without our marker, and the marker (``Annotated[str, Path(...)]``: str and the Path)."""
    if get_origin(annotation) is not Annotated:
        return annotation, None
    kind, *metadata = get_args(annotation)
    marker = next((m for m in metadata if isinstance(m, Param)), None)
    rest = [m for m in metadata if not isinstance(m, Param)]
    return (Annotated[(kind, *rest)] if rest else kind), marker


def _validator(kind: Any, options: dict[str, Any]) -> Callable[[Any], Any]:
    """What Powertools validates a value with (a TypeAdapter of the annotation and its rules); a model's own
    validator when it has no rules beside it (the same errors, without a TypeAdapter to build)."""
    rules = {key: value for key, value in options.items() if key not in _DOCUMENT_ONLY}
    if not rules and isinstance(kind, type) and issubclass(kind, BaseModel):
        if not kind.__pydantic_complete__:
            kind.model_rebuild()
        return functools.partial(kind.model_validate, from_attributes=True)
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[kind, Field(**rules)] if rules else kind)
    return functools.partial(adapter.validate_python, from_attributes=True)


def _validated(route: Route, request: Request, path_values: dict[str, str]) -> dict[str, Any]:
    """The handler's arguments, validated; every problem of the path and query, then the body's, as
    Powertools collects them (a body that is not JSON at all is the one problem named)."""
    path_arguments, query_arguments, body_argument = route.arguments()
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for argument in path_arguments:
        _read(argument, path_values.get(argument.alias), ("path", argument.alias), values, errors)
    for argument in query_arguments:
        _read(argument, request.query_value(argument.alias), ("query", argument.alias), values, errors)
    if body_argument is not None:
        # A list is refused as the object it is not, as ``[]`` always was. Powertools read a list sent for one
        # object as its first item and dropped the rest: a batch of two orders placed one, answered 201 (a
        # deliberate difference, docs/decisions.md).
        _read(body_argument, _body(request), ("body",), values, errors)
    if errors:
        raise InvalidRequest(errors)
    return values


def _body(request: Request) -> Any:
    content_type = request.content_type()
    if not content_type or content_type.startswith(JSON_MEDIA_TYPE):
        return request.json_body()
    # dispatch refuses a body of another type; what passes it is an empty one, which Powertools read as an
    # empty form (and as a 500 when multipart named no boundary, where this reads an empty form too: a
    # deliberate difference, docs/decisions.md)
    if content_type.startswith(FORM_MEDIA_TYPES) and not request.raw_event.get("body"):
        return {}
    raise NotJson


def _read(argument: Argument, value: Any, loc: tuple[str, ...], values: dict[str, Any], errors: list[Any]) -> None:
    if value is None:
        if argument.required:
            errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
        else:
            values[argument.name] = argument.default
        return
    _check(argument, value, loc, values, errors)


def _check(argument: Argument, value: Any, loc: tuple[str, ...], values: dict[str, Any], errors: list[Any]) -> None:
    try:
        values[argument.name] = argument.validate(value)
    except ValidationError as exc:
        errors.extend({**error, "loc": loc + tuple(error["loc"])} for error in exc.errors())


def _payload(response: Response[Any]) -> dict[str, Any]:
    """API Gateway's payload v2 answer, as Powertools builds it: bytes go base64-encoded, no cookies."""
    body, encoded = response.body, False
    if isinstance(body, bytes):
        body, encoded = base64.b64encode(body).decode(), True
    return {"statusCode": response.status_code, "body": body, "isBase64Encoded": encoded,
            "headers": dict(response.headers), "cookies": []}  # fmt: skip
