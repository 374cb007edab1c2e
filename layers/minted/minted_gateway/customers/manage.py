"""Register, change and read a customer at Minted. Nothing about a customer is stored here.

Creating the same customer twice is safe without a record of our own: Minted refuses a taken
external_id, so on that refusal (or an answer lost on the way back) the customer is looked up, and
answered when what Minted holds agrees with what was asked. Personal data is compared in memory
and never logged; a mismatch names the fields, never their values.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any, NamedTuple, Protocol

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import (
    CustomerConflict,
    CustomerRejected,
    GatewayError,
    NotFound,
    PartnerForbidden,
    field_details,
    from_minted,
)
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.customers import Customer, CustomerProfile, CustomerUpdate
from minted_gateway.personal_values import without_personal_values

logger = logging.getLogger(__name__)

# Fields compared between a create and the customer Minted already holds under its external_id.
_COMPARED = ("account_type", "firstname", "middlename", "lastname", "email", "phone", "gender",
             "identity_number", "birthdate", "tax_office")  # fmt: skip
# Not compared when Minted's answer leaves them out: it may withhold the identity number, and older
# answers carry no account_type or tax_office. Every other profile field is the customer as Minted holds it.
_MAY_WITHHOLD = frozenset({"identity_number", "account_type", "tax_office"})
# Sent, but the answer may not say: Minted's answer is not told apart from a lost one by text.
_OUTCOME_UNKNOWN = (minted_errors.MintedOutcomeUnknownError, minted_errors.MintedTimeoutError,
                    minted_errors.MintedUnavailableError, minted_errors.MintedBadResponseError)  # fmt: skip


class MintedCustomers(Protocol):
    def create_customer(self, profile: CustomerProfile) -> Customer: ...

    def update_customer(self, external_id: str, update: CustomerUpdate) -> Customer: ...

    def get_customer(self, external_id: str) -> Customer: ...


class CreatedCustomer(NamedTuple):
    customer: Customer
    replayed: bool  # Minted already held this customer, as asked: nothing new was created


class CreateCustomer:
    def __init__(self, minted: MintedCustomers) -> None:
        self._minted = minted

    def __call__(self, profile: CustomerProfile, caller: Caller = PARTNER) -> CreatedCustomer:
        try:
            return self._create(profile, caller)
        except GatewayError as exc:
            raise without_customer(exc, profile) from None

    def _create(self, profile: CustomerProfile, caller: Caller) -> CreatedCustomer:
        caller.act_for(profile.external_id)
        replayed = True
        try:
            return CreatedCustomer(self._minted.create_customer(profile), replayed=False)
        except minted_errors.MintedValidationError as exc:
            if "external_id" not in exc.field_errors:
                raise CustomerRejected(
                    "Minted refused the customer; see details.",
                    details=field_details(exc.field_errors),
                    upstream_message=exc.message,
                ) from None
            # The only external_id Minted refuses after our own checks is a taken one.
            existing = self._existing(profile.external_id)
            if existing is None:
                raise CustomerRejected(
                    "Minted refused the customer; see details.",
                    details=field_details(exc.field_errors),
                    upstream_message=exc.message,
                ) from None
        except _OUTCOME_UNKNOWN as exc:
            existing = self._existing(profile.external_id)
            if existing is None:
                raise from_minted(exc) from None  # not created: a retry is safe
            replayed = False  # the answer to our own create was lost on the way back
        except minted_errors.MintedForbiddenError as exc:
            raise PartnerForbidden(
                "Minted does not allow this partner to create customers.", upstream_message=exc.message
            ) from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
        differing = differing_fields(profile, existing)
        if differing:
            raise CustomerConflict(
                "Minted already holds a different customer under this external_id; nothing was changed.",
                details=[{"field": name, "message": "differs from the customer Minted holds"} for name in differing],
            )
        logger.info("customer found at Minted", extra={"customer_external_id": profile.external_id})
        return CreatedCustomer(existing, replayed=replayed)

    def _existing(self, external_id: str) -> Customer | None:
        try:
            return self._minted.get_customer(external_id)
        except minted_errors.MintedNotFoundError:
            return None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None


def differing_fields(profile: CustomerProfile, held: Customer) -> list[str]:
    """The fields asked for that Minted holds otherwise. A profile field Minted holds no value for (null,
    empty or left out of its answer) differs from one asked for: a create asking for a middlename is not
    a replay of one made without. Only what Minted may withhold is not compared when it does not answer."""
    asked = profile.model_dump(exclude_none=True)
    asked.setdefault("account_type", "individual")
    answered = held.model_dump()
    return [
        name
        for name in _COMPARED
        if name in asked
        and (answered.get(name) is not None or name not in _MAY_WITHHOLD)
        and _same(name, asked[name]) != _same(name, answered.get(name))
    ]


def _same(name: str, value: Any) -> Any:
    """A value as Minted may have normalised it: phones without spacing, text without edge spaces, and an
    account a company's or not (Minted publishes only "company": a person's may come back as anything)."""
    if name == "account_type":
        return str(value).strip().lower() == "company"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return re.sub(r"[\s().-]", "", text) if name == "phone" else text


class UpdateCustomer:
    def __init__(self, minted: MintedCustomers) -> None:
        self._minted = minted

    def __call__(self, external_id: str, update: CustomerUpdate, caller: Caller = PARTNER) -> Customer:
        caller.act_for(external_id)
        try:
            return self._update(external_id, update)
        except GatewayError as exc:
            raise without_customer(exc, update) from None

    def _update(self, external_id: str, update: CustomerUpdate) -> Customer:
        try:
            return self._minted.update_customer(external_id, update)
        except minted_errors.MintedNotFoundError:
            raise NotFound("Minted has no customer with this external_id.") from None
        except minted_errors.MintedValidationError as exc:
            raise CustomerRejected(
                "Minted refused the change; see details.",
                details=field_details(exc.field_errors),
                upstream_message=exc.message,
            ) from None
        except minted_errors.MintedForbiddenError as exc:
            raise PartnerForbidden(
                "Minted does not allow this partner to change customers.", upstream_message=exc.message
            ) from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None


def without_customer(error: GatewayError, asked: CustomerProfile | CustomerUpdate) -> GatewayError:
    """The error without the customer's own values in Minted's words: a validator that quotes its input
    would hand them back in the answer (which a client may log), as a buy's refusal never does."""
    values = [getattr(asked, name, None) for name in ("identity_number", "firstname", "middlename", "lastname",
                                                       "email", "phone", "tax_office")]  # fmt: skip
    dates = [asked.birthdate] if asked.birthdate else []
    return error.masked(lambda text: without_personal_values(text, values, dates))


class GetCustomer:
    def __init__(self, minted: MintedCustomers) -> None:
        self._minted = minted

    def __call__(self, external_id: str, caller: Caller = PARTNER) -> Customer:
        caller.read_customer(external_id)
        try:
            return self._minted.get_customer(external_id)
        except minted_errors.MintedNotFoundError:
            raise NotFound("Minted has no customer with this external_id.") from None
        except minted_errors.MintedError as exc:
            raise from_minted(exc) from None
