"""Powertools' HTTP resolver, built from a function's router (``router.Router.powertools_resolver``):
it writes the OpenAPI document, and the parity test compares the router's answers with its own. Safe for
a process that answers several requests at once, and counting the requests it refuses.

Its own module so that only a document (or that test) imports the Event Handler; no request does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, get_args

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from minted_gateway import jsonutil
from minted_gateway.api.router import Response

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics


class OneRequestPerThread(APIGatewayHttpResolver):
    """Powertools' resolver with the request it answers kept per thread.

    Powertools keeps the current request on its class (``BaseRouter.current_event``) and the
    matched route in one dict per resolver: right in Lambda, where an environment takes one event
    at a time, and wrong where one process answers several at once (the local gateway serves each
    request on a thread): two buys would each read the other's body. Lambda is not changed by this.
    """

    def __init__(self, **options: Any) -> None:
        self._local = threading.local()
        super().__init__(**options)

    @property
    def current_event(self) -> Any:
        return self._local.event

    @current_event.setter
    def current_event(self, event: Any) -> None:
        self._local.event = event

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(self._local, "context"):
            self._local.context = {}
        context: dict[str, Any] = self._local.context
        return context

    @context.setter
    def context(self, context: dict[str, Any]) -> None:
        self._local.context = context

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self._local.event = self._to_proxy_event(dict(event))
        return super().resolve(event, context)


class GatewayResolver(OneRequestPerThread):
    """Powertools' resolver, counting each refused request as ``RequestsRefused`` by status class."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=jsonutil.loads_request)
        self.metrics = metrics
        self._dependants = threading.Lock()  # a route's dependant is set by a request or by the document

    def get_openapi_schema(self, **options: Any) -> Any:
        if not self.openapi_config.security_schemes:
            self.openapi_config.security_schemes = security_schemes()
        with self._dependants:
            for route in self._static_routes + self._dynamic_routes:
                if getattr(route._dependant, "answers_left_out", False):
                    route._dependant = None  # Powertools makes the full one, the answers' models included
            return super().get_openapi_schema(**options)

    def _call_route(self, route: Any, route_arguments: dict[str, str]) -> Any:
        if route._dependant is None:  # the route's first request: Powertools is about to read its models
            complete_models(route.func)
            with self._dependants:
                if route._dependant is None:
                    route._dependant = request_dependant(route)
        return super()._call_route(route, route_arguments)

    def _to_response(self, result: Any) -> Any:
        # The handlers answer with the router's Response, which has the attributes Powertools reads of its own.
        return result if isinstance(result, Response) else super()._to_response(result)

    def count_refusal(self, status: int) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=f"RequestsRefused{status // 100}xx", unit=MetricUnit.Count, value=1)


def complete_models(route: Callable[..., Any]) -> None:
    """Build the validators of the models a route takes before Powertools wraps them in TypeAdapters.

    Our models build their validators on first use (``defer_build``); a TypeAdapter made around an
    unbuilt model generates the model's schema for itself without keeping it on the class, so the
    model's own first use (dumping it, validating a copy) generated it a second time: about 2.5 ms
    of CPU for an order's body on a cold start. Built first, the TypeAdapter reuses it.
    """
    for annotation in route.__annotations__.values():
        kind = get_args(annotation)[0] if hasattr(annotation, "__metadata__") else annotation  # Annotated[M, ...]
        if isinstance(kind, type) and issubclass(kind, BaseModel) and not kind.__pydantic_complete__:
            kind.model_rebuild()


def request_dependant(route: Any) -> Any:
    """What validating a request reads of a route: its parameters, body and return annotation, without
    the documented answers' models (``responses``).

    Powertools wraps each of those in a TypeAdapter when it first reads a route, and only the OpenAPI
    document uses them: for POST /orders 13 TypeAdapters, about 15 ms of its first request. Marked, so
    that generating the document replaces it with Powertools' full one.
    """
    from aws_lambda_powertools.event_handler.openapi.dependant import get_dependant  # noqa: PLC0415

    dependant: Any = get_dependant(path=route.openapi_path, call=route.func, responses=None)
    dependant.answers_left_out = True
    return dependant


def security_schemes() -> dict[str, Any]:
    """The schemes each route's ``security`` names (minted_gateway.caller.requires): API Gateway's JWT
    authorizer (AuthMode=JWT) or a SigV4 signature (AuthMode=IAM); the served document describes them.

    Made only when a document is generated: Powertools' OpenAPI models (about 40 pydantic classes,
    rebuilt as they are imported) are the largest single cost of building the routes, and no request
    needs them (docs/performance.md).
    """
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer  # noqa: PLC0415

    return {
        "PartnerJwt": HTTPBearer(bearerFormat="JWT"),
        "PartnerIam": APIKey(in_=APIKeyIn.header, name="Authorization"),
    }
