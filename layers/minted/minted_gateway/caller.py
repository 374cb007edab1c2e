"""Who is calling, and for whom they may act: read from what API Gateway's authorizer passed on.

API Gateway checks the token (JWT authorizer: signature, issuer, audience, lifetime, the route's
scope) or the SigV4 signature (IAM) before any function runs, and hands the function the token's
claims (``requestContext.authorizer.jwt.claims``) or the IAM caller (``requestContext.authorizer.iam``).
Nothing here is read from a header or a body.

A token with the claim ``minted_customer`` acts for that one customer (a customer's session in the
partner's app); a token without it, or an IAM caller, is the partner's server and may act for any
customer. The rule is enforced by the use cases (``Caller.act_for`` and its friends), so that every
trigger of an operation keeps it. A token whose ``minted_customer`` is present but names no one, or
that names no caller at all (no ``sub``, ``client_id`` or ``azp``), is refused: the first would act for
every customer, the second's orders would record no one.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from minted_gateway.errors import CustomerMismatch, NotFound, PartnerForbidden

CUSTOMER_CLAIM = "minted_customer"
MAX_CLAIM_CHARS = 256  # what the ledger keeps of a claim: an identifier, never a long text


class Scope(StrEnum):
    """The one scope each route requires (template.yaml's OpenAPI body, and the served document)."""

    PRICES_READ = "minted/prices.read"
    ORDERS_READ = "minted/orders.read"
    ORDERS_WRITE = "minted/orders.write"
    CUSTOMERS_READ = "minted/customers.read"
    CUSTOMERS_WRITE = "minted/customers.write"
    PLANS_READ = "minted/plans.read"
    PLANS_WRITE = "minted/plans.write"


def requires(scope: Scope) -> list[dict[str, list[str]]]:
    """A route's OpenAPI ``security``: the JWT with its scope, or (AuthMode=IAM) a SigV4 signature."""
    return [{"PartnerJwt": [scope.value]}, {"PartnerIam": []}]


class Caller(BaseModel):
    """The caller of one request, as the ledger records it: identifiers only, never a token."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str | None = None  # the JWT's subject
    client_id: str | None = None  # the JWT's client_id (Cognito access tokens) or azp
    principal: str | None = None  # the IAM caller's ARN (AuthMode=IAM)
    customer: str | None = None  # the minted_customer claim: this caller acts for that customer only

    @property
    def bound(self) -> bool:
        return self.customer is not None

    def act_for(self, customer_external_id: str | None) -> None:
        """Buy, sell or quote for ``customer_external_id`` (None: the partner's own wallet)."""
        if self.customer is None or customer_external_id == self.customer:
            return
        whom = f"customer {customer_external_id}" if customer_external_id else "the partner's own wallet (B2B)"
        raise CustomerMismatch(
            f"This token acts for customer {self.customer} only; it cannot act for {whom}.",
            details=[{"field": "customer", "message": "not the token's customer"}],
        )

    def read_customer(self, customer_external_id: str) -> None:
        """A customer's details or balances: a bound token reads only its own customer's."""
        self.act_for(customer_external_id)

    def may_see(self, customer_external_id: str | None) -> bool:
        """An order of ``customer_external_id``: a bound token sees only its customer's orders."""
        return self.customer is None or customer_external_id == self.customer

    def see_order(self, customer_external_id: str | None) -> None:
        """Another customer's order answers as if it did not exist: a 404, never a 403 that says it does."""
        if not self.may_see(customer_external_id):
            raise NotFound("No order has this external_id, here or at Minted.")

    def recorded(self) -> "Caller | None":
        """What the ledger keeps of the caller, or None when nothing names one (a task, a direct call)."""
        return self if (self.sub or self.client_id or self.principal) else None


PARTNER = Caller()  # a call with no authorizer behind it: a workflow task, the schedule, a direct invocation


def caller_of(event: Mapping[str, Any]) -> Caller:
    """The caller of a payload v2 event: the JWT's claims, or the IAM caller; PARTNER when neither is there."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt")
    claims = (jwt or {}).get("claims") or {}
    iam = authorizer.get("iam") or {}
    caller = Caller(
        sub=_claim(claims.get("sub")),
        client_id=_claim(claims.get("client_id") or claims.get("azp")),
        principal=_claim(iam.get("userArn")),
        customer=_customer(claims),
    )
    if jwt is not None and not (caller.sub or caller.client_id):
        raise PartnerForbidden(
            "The token names no caller (no sub, client_id or azp claim): an order must record who placed it.",
            details=[{"field": "sub", "message": "missing from the token"}],
        )
    return caller


def _customer(claims: Mapping[str, Any]) -> str | None:
    """The customer a token is bound to; a present claim must name one (an empty one is not the partner's)."""
    if CUSTOMER_CLAIM not in claims:
        return None
    value = claims[CUSTOMER_CLAIM]
    customer = "" if value is None else str(value)
    if not customer.strip() or len(customer) > MAX_CLAIM_CHARS:
        raise PartnerForbidden(
            f"The token's {CUSTOMER_CLAIM} claim names no customer: it must be a customer's external_id.",
            details=[{"field": CUSTOMER_CLAIM, "message": f"empty or longer than {MAX_CLAIM_CHARS} characters"}],
        )
    return customer


def _claim(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:MAX_CLAIM_CHARS]
