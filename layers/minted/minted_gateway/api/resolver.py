"""Powertools' HTTP resolver, built from a function's router (``router.Router.powertools_resolver``):
it writes the OpenAPI document, and the parity test compares the router's answers with its own. Safe for
a process that answers several requests at once, and counting the requests it refuses.

Its own module so that only a document (or that test) imports the Event Handler; no request does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit

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

    def get_openapi_schema(self, **options: Any) -> Any:
        if not self.openapi_config.security_schemes:
            self.openapi_config.security_schemes = security_schemes()
        return super().get_openapi_schema(**options)

    def _to_response(self, result: Any) -> Any:
        # The handlers answer with the router's Response, which has the attributes Powertools reads of its own.
        return result if isinstance(result, Response) else super()._to_response(result)

    def count_refusal(self, status: int) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=f"RequestsRefused{status // 100}xx", unit=MetricUnit.Count, value=1)


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
