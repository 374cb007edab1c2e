"""Customers: POST /customers, PATCH and GET /customers/{external_id}, GET /customers/{external_id}/balances.

A customer's personal data passes through to Minted and back to the caller: never stored, never logged.
"""

# No ``from __future__ import annotations``: the routes are defined inside http_api(), and the router
# reads their annotations (and Powertools, for the document), so they must be evaluated where their names are.

import functools
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit

from minted_gateway import runtime
from minted_gateway.api.dispatch import dispatch
from minted_gateway.api.http import REPLAY_HEADER, json_response, request_caller
from minted_gateway.api.views import balances_body, customer_body
from minted_gateway.caller import Scope, requires
from minted_gateway.observability import observability, with_lambda_context

if TYPE_CHECKING:
    from minted_gateway.api.router import Router
    from minted_gateway.customers.requests import CustomerChanges, NewCustomer

logger, tracer, metrics = observability()


@functools.cache
def http_api() -> "Router":
    """The HTTP routes, built on the first HTTP event: a task or a schedule never imports the Event Handler."""
    from minted_gateway.api.router import Body, Path, Response, Router, imported  # noqa: PLC0415
    from minted_gateway.api.schemas import CUSTOMER_MISMATCH, MINTED_ERRORS, answers, documented  # noqa: PLC0415

    BalancesBody, CustomerBody = documented(  # noqa: N806 - classes, named for the document
        "minted_gateway.customers.bodies", "BalancesBody", "CustomerBody"
    )  # made when the OpenAPI document is written, never on a request

    app = Router(metrics)

    # Create Customer publishes 3-40 letters, digits, "-" and "_" for a customer's external_id.
    CustomerId = Annotated[  # noqa: N806 - a type alias
        str, Path(pattern=r"^[A-Za-z0-9_-]{3,40}$", description="the partner's customer id", examples=["cust-0002"])
    ]
    not_found = {404: "Minted has no customer with this external_id"}

    @app.post(
        "/customers",
        security=requires(Scope.CUSTOMERS_WRITE),
        summary="Register a customer with Minted (an individual, or a company); the same request again creates nothing",
        tags=["customers"],
        responses=answers(
            {
                201: ("Created at Minted", CustomerBody),
                200: ("Minted already held this customer, as asked", CustomerBody),
            },
            {
                409: "Minted holds another customer under this external_id (customer_conflict; details name the "
                "fields)",
                415: "The body is not JSON",
                422: "The request is not valid (invalid_input), or Minted refused it (customer_rejected)",
                403: f"Minted does not allow this partner to create customers; {CUSTOMER_MISMATCH}",
                **MINTED_ERRORS,
            },
        ),
        types=imported("minted_gateway.customers.requests", "NewCustomer"),  # made on its own first request
    )
    def create_customer(customer: Annotated["NewCustomer", Body()]) -> Response[str]:
        created = runtime.create_customer()(customer.to_minted(), request_caller(app))
        metrics.add_metric(name="CustomersCreated" if not created.replayed else "CustomersReplayed",
                           unit=MetricUnit.Count, value=1)  # fmt: skip
        logger.info(
            "customer created", extra={"customer_external_id": customer.external_id, "replayed": created.replayed}
        )
        headers = {"Location": f"/customers/{customer.external_id}"}
        if created.replayed:
            headers[REPLAY_HEADER] = "true"
        return json_response(200 if created.replayed else 201, customer_body(created.customer), headers)

    @app.patch(
        "/customers/<external_id>",
        security=requires(Scope.CUSTOMERS_WRITE),
        summary="Change a customer's details at Minted",
        tags=["customers"],
        responses=answers(
            {200: ("The customer, changed", CustomerBody)},
            {
                **not_found,
                415: "The body is not JSON",
                422: "The request is not valid (invalid_input), or Minted refused it (customer_rejected)",
                403: f"Minted does not allow this partner to change customers; {CUSTOMER_MISMATCH}",
                **MINTED_ERRORS,
            },
        ),
        types=imported("minted_gateway.customers.requests", "CustomerChanges"),  # made on its own first request
    )
    def update_customer(external_id: CustomerId, changes: Annotated["CustomerChanges", Body()]) -> Response[str]:
        customer = runtime.update_customer()(external_id, changes.to_minted(), request_caller(app))
        logger.info("customer updated", extra={"customer_external_id": external_id})
        return json_response(200, customer_body(customer))

    @app.get(
        "/customers/<external_id>",
        security=requires(Scope.CUSTOMERS_READ),
        summary="A customer's profile and wallets, from Minted",
        tags=["customers"],
        responses=answers(
            {200: ("The customer", CustomerBody)},
            {403: CUSTOMER_MISMATCH, **not_found, 422: "The external_id is not a customer id", **MINTED_ERRORS},
        ),
    )
    def get_customer(external_id: CustomerId) -> Response[str]:
        return json_response(200, customer_body(runtime.get_customer()(external_id, request_caller(app))))

    @app.get(
        "/customers/<external_id>/balances",
        security=requires(Scope.CUSTOMERS_READ),
        summary="Each of a customer's wallets: balance, blocked and available amounts, and the metal's sku",
        tags=["customers"],
        responses=answers(
            {200: ("The balances, as Minted holds them now", BalancesBody)},
            {403: CUSTOMER_MISMATCH, **not_found, 422: "The external_id is not a customer id", **MINTED_ERRORS},
        ),
    )
    def get_customer_balances(external_id: CustomerId) -> Response[str]:
        return json_response(200, balances_body(runtime.get_balances()(external_id, request_caller(app))))

    return app


@with_lambda_context(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    runtime.bind_to_invocation(context)
    return dispatch(event, context, http_api, {})
