"""What every route's documented answers share, for the OpenAPI document.

Each room documents its own answers beside it (``orders/bodies.py``, ``prices/bodies.py``, ...), and the
error envelope is ``error_body.py``. Those classes are the document's alone (our answers are written by
``views.py``), so a route names them with ``documented()`` and they are made only when the document is
written, never on a request. Schemathesis checks every answer against them in the tests, so the document
cannot drift from the behaviour. Money and grams are exact decimals sent as JSON numbers; a Step Functions
task gets them as strings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from pydantic import BaseModel, WithJsonSchema

if TYPE_CHECKING:  # a request never imports the Event Handler; only the document reads these
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

Number = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "an exact decimal"})]


MINTED_ERRORS = {
    429: "Minted is rate limiting (Retry-After)",
    502: "Minted refused the partner's credentials, or answered in a way this route does not expect",
    503: "Minted is unavailable (Retry-After)",
}


# What API Gateway answers before any function runs (the local gateway answers the same, in the envelope).
GATE_ERRORS = {
    401: "No valid token (unauthorized): missing, expired, not the issuer's or not for this API",
    403: "The token lacks the route's scope (forbidden_scope), or IAM does not let the caller invoke it",
}
CUSTOMER_MISMATCH = "The token is bound to another customer (customer_mismatch)"


class Documented(NamedTuple):
    """An answer's body class, by module and name: imported (and so made) only when the document is written."""

    module: str
    name: str

    def model(self) -> type[BaseModel]:
        model: type[BaseModel] = getattr(importlib.import_module(self.module), self.name)
        return model


def documented(module: str, *names: str) -> tuple[Documented, ...]:
    """The body classes of ``module`` a function's routes document, named now and made for the document only."""
    return tuple(Documented(module, name) for name in names)


Responses = Callable[[], "dict[int, OpenAPIResponse]"]


def answers(ok: Mapping[int, tuple[str, type[BaseModel] | Documented]], errors: dict[int, str]) -> Responses:
    """A route's ``responses``, written when the document is: its successes with their bodies, and its errors
    with the error body (the gate's 401 and 403 on every route, beside what the route itself may answer with
    them). The router calls it for the document only (router.Router.powertools_resolver)."""

    def responses() -> dict[int, OpenAPIResponse]:
        from minted_gateway.api.error_body import ErrorBody  # noqa: PLC0415 - the document's alone

        documented: dict[int, Any] = {
            status: {"description": text, "content": {"application/json": {"model": _model(model)}}}
            for status, (text, model) in ok.items()
        }
        given = {**errors, **{status: "; ".join(filter(None, (text, errors.get(status))))
                              for status, text in GATE_ERRORS.items()}}  # fmt: skip
        for status, text in given.items():
            documented[status] = {"description": text, "content": {"application/json": {"model": ErrorBody}}}
        return documented

    return responses


def _model(model: type[BaseModel] | Documented) -> type[BaseModel]:
    return model.model() if isinstance(model, Documented) else model
