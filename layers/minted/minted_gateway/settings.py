"""Typed configuration from the environment, validated once per container.

A missing or malformed variable fails with its name, at the first invocation, not mid-order.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SettingsError(RuntimeError):
    pass


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
    minted_connect_timeout_seconds: float = Field(default=3.05, gt=0, le=10)
    minted_read_timeout_seconds: float = Field(default=10.0, gt=0, le=25)
    # Only the buy function starts the workflow; elsewhere it is not set.
    buy_workflow_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = ", ".join(
                f"{'.'.join(str(p) for p in error['loc']).upper()} "
                f"({'missing' if error['type'] == 'missing' else error['msg']})"
                for error in exc.errors()
            )
            raise SettingsError(f"invalid environment: {problems}") from None


@functools.cache
def settings() -> Settings:
    return Settings.from_env()
