"""Typed configuration from the environment, validated once per container.

A missing or malformed variable fails with its name, at the first invocation, not mid-order.
"""

import functools
import os
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SettingsError(RuntimeError):
    pass


M = TypeVar("M", bound=BaseModel)


def model_from_env(model: type[M], env: Mapping[str, str] | None) -> M:
    """``model`` from the variables named like its fields (upper case); a bad one is named in the error."""
    env = os.environ if env is None else env
    raw = {name: env[name.upper()] for name in model.model_fields if name.upper() in env}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = ", ".join(
            f"{'.'.join(str(p) for p in error['loc']).upper()} "
            f"({'missing' if error['type'] == 'missing' else error['msg']})"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid environment: {problems}") from None


_from_env = model_from_env  # the name orders/limits.py imports (that module is under a mutation run)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Literal["local", "dev", "prod"]
    orders_table: str = Field(min_length=1)
    prices_table: str = Field(min_length=1)
    partner_secret_id: str = Field(min_length=1)
    ledger_key_secret_id: str = Field(min_length=1)
    # A cached price older than this is refreshed from Minted (and the schedule refreshes it sooner).
    price_max_age_seconds: int = Field(default=90, ge=1)
    legal_cache_seconds: int = Field(default=3600, ge=0)
    # A RECEIVED claim older than this belongs to an invocation that died: look Minted up, then go on.
    claim_seconds: int = Field(default=40, ge=1)
    # An attempt Minted still does not have this long after its claim can no longer be placed (its
    # price token has expired): GET then settles it as NOT_PLACED. Minted's example TTL is 239 s.
    price_token_seconds: int = Field(default=300, ge=1)
    secret_max_age_seconds: int = Field(default=300, ge=0)
    # Minted's host and the partner's client id (template parameters); the partner secret's own win.
    minted_base_url: str | None = None
    minted_client_id: str | None = None
    minted_connect_timeout_seconds: float = Field(default=3.05, gt=0, le=10)
    minted_read_timeout_seconds: float = Field(default=10.0, gt=0, le=25)
    # Minted's Buy page masks birthdate as 31-12-1990 but its example sends 1970-01-31 (contract 9.4).
    minted_birthdate_format: Literal["YYYY-MM-DD", "DD-MM-YYYY"] = "YYYY-MM-DD"
    # Accept-Language: Minted's own default is Turkish. Our messages are English whatever this says;
    # Minted's text rides along as upstream_message.
    minted_language: Literal["tr", "en"] = "tr"
    # Only the buy function starts the workflow; elsewhere it is not set.
    buy_workflow_arn: str | None = None
    # Where the buy workflow's customer waits for its tasks (the buy function's only).
    workflow_customers_table: str | None = None
    # The reconciler (docs/operations.md): rows one run looks at, the seconds it may spend (below the
    # function's timeout), and how long a row it took waits before another run looks again.
    reconcile_max_rows: int = Field(default=100, ge=1, le=1000)
    reconcile_time_budget_seconds: float = Field(default=40, gt=0, le=840)
    reconcile_lease_seconds: int = Field(default=120, ge=1)
    # The follow schedule: an order it found unchanged is looked at again after this (its schedule's rate
    # bounds it from below), so GET /orders shows a status at most about a minute or two old.
    follow_lease_seconds: int = Field(default=50, ge=1)
    # The daily comparison with Minted's order list: days back (Minted's days) and pages of 30 read at most.
    compare_days: int = Field(default=1, ge=0, le=31)
    compare_max_pages: int = Field(default=50, ge=1, le=1000)
    # Only the reconciler publishes (an order at Minted the ledger does not have); elsewhere it is not set.
    order_events_bus: str | None = None
    # Conditional orders and price alerts (minted_gateway/conditional): their table, and the queue the
    # price refresh hands fired orders to. Unset: the refresh checks no triggers.
    triggers_table: str | None = None
    fired_orders_queue_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        return model_from_env(cls, env)

    @property
    def minted_birthdate_strftime(self) -> str:
        return BIRTHDATE_FORMATS[self.minted_birthdate_format]


BIRTHDATE_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "DD-MM-YYYY": "%d-%m-%Y"}


class InputRules(BaseModel):
    """Rules on partner input that Minted does not publish: each a partner choice, off by default.

    Set by template parameters (IdentityNumberCheckDigits, PhoneE164, BuyerNameLengths, EmailFormat,
    QuoteCurrencyMustMatch)
    through the environment. Read apart from ``Settings`` so that validating a request needs only them.
    """

    model_config = ConfigDict(frozen=True)

    identity_number_check_digits: bool = False  # T.C. Kimlik No. check digits
    phone_e164: bool = False  # phone must be E.164 (normalised before it is sent)
    buyer_name_lengths: bool = False  # names 3-40 characters on a buy (published for Create Customer only)
    email_format: bool = False  # email must look like an address
    # An order's currency must be its quote's. The gateway checks its own quotes always (it knows their
    # currency); a price token it did not issue cannot be checked, and is refused only with this on:
    # Minted publishes no such check, and its own examples pair a TRY price fix with a GBP buy.
    quote_currency_must_match: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "InputRules":
        return model_from_env(cls, env)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def input_rules() -> InputRules:
    return InputRules.from_env()
