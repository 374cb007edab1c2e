"""Legal: GET /legal and GET /legal/{document_type}, Minted's documents a customer must see."""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import json_response
from minted_gateway.api.views import legal_body, legal_list_body
from minted_gateway.caller import Scope, requires
from minted_gateway.observability import observability, with_lambda_context

if TYPE_CHECKING:
    from minted_gateway.api.router import Router

logger, tracer, metrics = observability()


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: a task or a schedule never imports the Event Handler."""
    from minted_gateway.api.router import Path, Response, Router  # noqa: PLC0415
    from minted_gateway.api.schemas import MINTED_ERRORS, answers, documented  # noqa: PLC0415

    LegalDocumentBody, LegalListBody = documented(  # noqa: N806 - classes, named for the document
        "minted_gateway.legal.bodies", "LegalDocumentBody", "LegalListBody"
    )  # made when the OpenAPI document is written, never on a request

    app = Router(metrics)

    DocumentType = Annotated[  # noqa: N806
        str, Path(pattern=r"^[a-z_]{3,40}$", description="e.g. kvkk_disclosure", examples=["kvkk_disclosure"])
    ]

    @app.get(
        "/legal",
        security=requires(Scope.PRICES_READ),
        summary="The legal documents Minted publishes",
        tags=["legal"],
        responses=answers({200: ("The list", LegalListBody)}, MINTED_ERRORS),
    )
    def list_documents() -> Response[str]:
        metrics.add_metric(name="LegalDocumentsServed", unit=MetricUnit.Count, value=1)
        return json_response(200, legal_list_body(runtime.legal_documents().list()))

    @app.get(
        "/legal/<document_type>",
        security=requires(Scope.PRICES_READ),
        summary="One legal document (HTML content and PDF link)",
        tags=["legal"],
        responses=answers(
            {200: ("The document", LegalDocumentBody)},
            {**MINTED_ERRORS, 404: "No such document", 422: "Not a document type"},
        ),
    )
    def get_document(document_type: DocumentType) -> Response[str]:
        metrics.add_metric(name="LegalDocumentsServed", unit=MetricUnit.Count, value=1)
        return json_response(200, legal_body(runtime.legal_documents().get(document_type)))

    return app


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, http_api, {})
