"""The API's error envelope and what every route's documented answers share, for the OpenAPI document.

Each room documents its own answers beside it (``orders/bodies.py``, ``prices/bodies.py``, ...), so a
function creates only the answer types of its own routes. Schemathesis checks every answer against
them in the tests, so the document cannot drift from the behaviour. Money and grams are exact
decimals sent as JSON numbers; a Step Functions task gets them as strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

if TYPE_CHECKING:  # a request never imports the Event Handler; only the document reads these
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

Number = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "an exact decimal"})]


class ErrorDetail(BaseModel):
    field: str
    message: str
    upstream_message: str | None = Field(
        default=None, description="Minted's own text for the field, when Minted named it"
    )


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail | dict[str, Any]]
    details_omitted: int | None = None  # problems beyond the first few, counted but not listed
    upstream_message: str | None = Field(
        default=None, description="Minted's own words, in MintedLanguage (tr or en), when the refusal is Minted's"
    )
    order: dict[str, Any] | None = None  # a refused order, with its ledger row
    request_id: str | None = None  # also the X-Request-Id header and the log lines' correlation_id


class ErrorBody(BaseModel):
    error: ErrorInfo


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


def answers(ok: dict[int, tuple[str, type[BaseModel]]], errors: dict[int, str]) -> dict[int, OpenAPIResponse]:
    """A route's ``responses``: its successes with their bodies, and its errors with the error body
    (the gate's 401 and 403 on every route, beside what the route itself may answer with them)."""
    documented: dict[int, Any] = {
        status: {"description": text, "content": {"application/json": {"model": model}}}
        for status, (text, model) in ok.items()
    }
    errors = {**errors, **{status: "; ".join(filter(None, (text, errors.get(status))))
                           for status, text in GATE_ERRORS.items()}}  # fmt: skip
    for status, text in errors.items():
        documented[status] = {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    return documented
