"""The gateway's domain errors, and the one place they map to HTTP and Step Functions.

An error's class name is its Step Functions error name (Lambda reports it as ``errorType``), so a
workflow can Retry or Catch it by name. ``status`` and ``code`` make the HTTP answer
``{"error": {"code", "message", "details"}}``.

A refusal that comes from Minted keeps our own code and an English message, whatever language
Minted wrote in (``MINTED_LANGUAGE``); Minted's own text rides along as ``upstream_message``, on the
error and on each field Minted named. docs/api.md, "Minted's refusals", lists the codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minted_gateway.minted import errors as minted

# An error answer names the first problems and counts the rest, so it cannot grow with the request.
MAX_DETAILS = 25  # more than a request has fields, so a real mistake is listed whole


class GatewayError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        details_omitted: int = 0,
        upstream_message: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.upstream_message = upstream_message  # Minted's own words, in its language, when Minted answered
        self.details = (details or [])[:MAX_DETAILS]
        self.details_omitted = details_omitted + max(0, len(details or []) - MAX_DETAILS)
        self.retry_after = retry_after

    def masked(self, mask: Callable[[str], str]) -> GatewayError:
        """This error with ``mask`` (a request's ``redact``) applied to Minted's words in it: they may quote
        what was sent, and an answer is logged by clients, a refusal kept on a row. Our own message and a
        detail's ``field`` are left whole: a name that is part of a word ("Tom" in "customer") would break
        them, and a client reads the field. Itself, changed."""
        if self.upstream_message is not None:
            self.upstream_message = mask(self.upstream_message)
        self.details = [{k: mask(v) if isinstance(v, str) and k != "field" else v for k, v in d.items()}
                        for d in self.details]  # fmt: skip
        return self

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.details_omitted:
            error["details_omitted"] = self.details_omitted
        if self.upstream_message is not None:
            error["upstream_message"] = self.upstream_message
        return {"error": error}


class InvalidInput(GatewayError):
    status, code = 422, "invalid_input"


class InvalidCursor(InvalidInput):
    """A history cursor this API did not give (or one from a page that no longer decodes)."""

    code = "invalid_cursor"

    def __init__(self) -> None:
        # Named as the router names a query's problems: every cursor arrives in the query.
        super().__init__("The cursor is not one this API gave.",
                         details=[{"field": "query.cursor", "message": "not a valid cursor"}])  # fmt: skip


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class OrderConflict(GatewayError):
    status, code = 409, "order_conflict"


class ForeignOrder(GatewayError):
    """Minted holds an order under this external_id that is not the one asked for: never adopted."""

    status, code = 409, "foreign_order"


class OrderInProgress(GatewayError):
    status, code = 409, "order_in_progress"


class QuoteExpired(GatewayError):
    status, code = 422, "quote_expired"


class QuoteCurrencyMismatch(GatewayError):
    """The order names another currency than its quote was priced in: Minted would buy in the quote's."""

    status, code = 422, "currency_mismatch"


class QuoteUnknown(GatewayError):
    """With QuoteCurrencyMustMatch on, a price token this gateway did not issue: its currency cannot be checked."""

    status, code = 422, "quote_unknown"


class OrderRejected(GatewayError):
    status, code = 422, "order_rejected"


class CardDeclined(GatewayError):
    """Minted refused the card payment: final; ``details`` carry Minted's error code and message."""

    status, code = 422, "card_declined"


class PriceGuardExceeded(GatewayError):
    status, code = 422, "price_guard_exceeded"


class LimitExceeded(GatewayError):
    """The order would pass one of the partner's limits (per order, or a day's total): nothing was sent."""

    status, code = 422, "limit_exceeded"


class CustomerDetailsRequired(GatewayError):
    status, code = 422, "customer_details_required"


class CustomerRejected(GatewayError):
    """Minted refused a customer's details (Create or Update Customer)."""

    status, code = 422, "customer_rejected"


class CustomerConflict(GatewayError):
    """Minted holds another customer under the external_id a create names."""

    status, code = 409, "customer_conflict"


class PartnerForbidden(GatewayError):
    status, code = 403, "forbidden"


class CustomerMismatch(GatewayError):
    """A token bound to one customer (claim minted_customer) asked to act for another, or for the partner."""

    status, code = 403, "customer_mismatch"


class TriggerNotWaiting(GatewayError):
    """A conditional order or price alert that has fired, expired or been settled cannot be cancelled."""

    status, code = 409, "not_waiting"


class ExpiryOutOfRange(GatewayError):
    """A trigger's expires_at in the past, or further ahead than the safety bound (against the clock)."""

    status, code = 422, "expiry_out_of_range"


class TriggersUnavailable(GatewayError):
    status, code = 503, "triggers_unavailable"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class RouteNotFound(NotFound):
    """A route this function does not serve (``GET /prices/``): the code API Gateway's own 404 has in docs/api.md."""

    code = "route_not_found"


class MethodNotAllowed(GatewayError):
    status, code = 405, "method_not_allowed"


class UpstreamRateLimited(GatewayError):
    status, code = 429, "rate_limited"


class UpstreamUnavailable(GatewayError):
    status, code = 503, "upstream_unavailable"


class UpstreamMisconfigured(GatewayError):
    status, code = 502, "upstream_misconfigured"


class UpstreamUnexpected(GatewayError):
    status, code = 502, "upstream_unexpected"


class LedgerUnavailable(GatewayError):
    status, code = 503, "ledger_unavailable"


class EventsUnavailable(GatewayError):
    """The order-events bus refused what the reconciler reports (it raises, so the schedule retries)."""

    status, code = 503, "events_unavailable"


class WorkflowUnavailable(GatewayError):
    """Step Functions did not answer whether it started the buy workflow: the same request again finds it
    or starts it (an execution's name is its external_id)."""

    status, code = 503, "workflow_unavailable"


class WorkflowNotStarted(WorkflowUnavailable):
    """Step Functions refused to start the buy workflow: nothing was started."""


class CacheUnavailable(GatewayError):
    status, code = 503, "price_cache_unavailable"


REJECTIONS: dict[str, type[GatewayError]] = {
    cls.code: cls for cls in (QuoteExpired, OrderRejected, CardDeclined, CustomerDetailsRequired, PartnerForbidden)
}


def field_details(field_errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The fields Minted named: our English words, and Minted's text (in its language) beside them."""
    return [
        {"field": field, "message": "refused by Minted (upstream_message has its reason)", "upstream_message": text}
        for field, texts in field_errors.items()
        for text in texts
    ]


def minted_words(exc: minted.MintedError) -> str | None:
    """Minted's own message, when Minted answered at all (a timeout or a refused connection has none)."""
    return exc.message if exc.status is not None else None


# Minted's refusals (400/422, 403) tell the caller something only where the caller asked Minted to act.
ORDER_OPERATIONS = frozenset({"buy", "sell", "delivery"})


def from_minted(exc: minted.MintedError) -> GatewayError:
    """Minted's typed errors as the gateway's.

    A 404 means something only to a caller that looks for it first (an order lookup); a refusal of a
    read or a quote is Minted answering what no route documents. Both are one documented 502.
    """
    surprise = isinstance(exc, minted.MintedNotFoundError) or (
        isinstance(exc, minted.MintedValidationError | minted.MintedForbiddenError)
        and exc.operation not in ORDER_OPERATIONS
    )
    said = minted_words(exc)
    if surprise:
        return UpstreamUnexpected(
            f"Minted answered this request in a way the gateway does not expect (HTTP {exc.status}).",
            upstream_message=said,
        )
    if isinstance(exc, minted.MintedPriceTokenError):
        return QuoteExpired("The quote has expired or was used: ask for a new quote.",
                            details=field_details(exc.field_errors), upstream_message=said)  # fmt: skip
    if isinstance(exc, minted.MintedCardDeclinedError):
        return CardDeclined("Minted refused the card payment.", details=field_details(exc.field_errors),
                            upstream_message=said)  # fmt: skip
    if isinstance(exc, minted.MintedNewCustomerError):
        return CustomerDetailsRequired(
            "Minted does not know this customer and the details given cannot register them.",
            details=field_details(exc.field_errors),
            upstream_message=said,
        )
    if isinstance(exc, minted.MintedValidationError):
        return OrderRejected("Minted refused the order; see details.", details=field_details(exc.field_errors),
                             upstream_message=said)  # fmt: skip
    if isinstance(exc, minted.MintedForbiddenError):
        return PartnerForbidden("Minted does not allow this partner to do this.", upstream_message=said)
    if isinstance(exc, minted.MintedRateLimitedError):
        retry = int(exc.retry_after) + 1 if exc.retry_after is not None else 1
        return UpstreamRateLimited("Minted is rate limiting this partner; try again later.", retry_after=retry,
                                   upstream_message=said)  # fmt: skip
    if isinstance(exc, minted.MintedBadCredentialsError | minted.MintedCredentialsError):
        return UpstreamMisconfigured("The partner's Minted credentials are missing or refused.", upstream_message=said)
    return UpstreamUnavailable("Minted did not answer usably; try again later.", retry_after=2, upstream_message=said)


# Every code a Minted refusal (or failure) can reach a caller under: docs/api.md, "Minted's refusals",
# lists each, and a test keeps the two in step.
MINTED_REFUSAL_CODES = tuple(
    cls.code
    for cls in (QuoteExpired, CustomerDetailsRequired, CardDeclined, OrderRejected, CustomerRejected, CustomerConflict,
                PartnerForbidden, NotFound, UpstreamRateLimited, UpstreamMisconfigured, UpstreamUnexpected,
                UpstreamUnavailable)
)  # fmt: skip
