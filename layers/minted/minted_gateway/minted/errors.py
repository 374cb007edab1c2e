"""Typed errors of the Minted Connect client.

Messages never carry credentials, request bodies or personal data: they name the operation, the
HTTP status and Minted's own message, and field errors keep only field paths and Minted's texts.
"""

from __future__ import annotations

from decimal import Decimal


class MintedError(Exception):
    """Base of every error the client raises."""

    def __init__(self, operation: str, message: str, *, status: int | None = None) -> None:
        self.operation = operation
        self.status = status
        self.message = message
        super().__init__(f"{operation}: {message}" + (f" (HTTP {status})" if status else ""))


class MintedValidationError(MintedError):
    """422 (or 400): Minted refused the request's content. ``field_errors`` maps field paths to texts."""

    def __init__(
        self, operation: str, message: str, *, status: int = 422, field_errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(operation, message, status=status)
        self.field_errors = field_errors or {}


class MintedNewCustomerError(MintedValidationError):
    """422 Parameter Error (New Customer): the customer is unknown and the inline fields cannot create them."""


class MintedCardDeclinedError(MintedValidationError):
    """Minted refused the card payment itself (a refusal naming only payment fields)."""


class MintedPriceTokenError(MintedValidationError):
    """422 on ``price_token``: unknown, expired or already used. Quote again."""


class MintedForbiddenError(MintedError):
    """403: this partner may not do this."""


class MintedBadCredentialsError(MintedError):
    """401 that survived a fresh challenge and a refreshed secret."""


class MintedNotFoundError(MintedError):
    """404: Minted has no such order, customer or document."""


class MintedRateLimitedError(MintedError):
    """429: slow down; ``retry_after`` is in seconds when Minted said so."""

    def __init__(self, operation: str, message: str, *, retry_after: Decimal | None) -> None:
        super().__init__(operation, message, status=429)
        self.retry_after = retry_after


class MintedUnavailableError(MintedError):
    """5xx, refused or reset connection on a call that changes nothing at Minted."""


class MintedTimeoutError(MintedError):
    """No answer in time on a call that changes nothing (or a buy/sell that was never sent)."""


class MintedBadResponseError(MintedError):
    """A body that is empty, not JSON, not the envelope, or lacks fields the model needs."""


class MintedOutcomeUnknownError(MintedError):
    """A buy or sell was sent but its answer was lost: Minted may or may not have created the order.

    Never retry the same call: look the order up by ``external_id`` first.
    """

    def __init__(self, operation: str, message: str, *, cause: str, status: int | None = None) -> None:
        super().__init__(operation, message, status=status)
        self.cause = cause


class MintedCredentialsError(MintedError):
    """The partner secret is missing or malformed (names the fields, never their values)."""
