"""The partner's Minted credentials: a JSON secret in Secrets Manager, cached per container.

The secret holds ``{"username", "password"}``; Minted's host and client id are the stack's parameters
(``MINTED_BASE_URL``, ``MINTED_CLIENT_ID``), given here as ``defaults``. A secret from before they
moved out of it also holds ``base_url`` and ``client_id``, and those win: an upgrade changes nothing.
Nothing here puts a username or password in a repr, a log line or an exception message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from minted_gateway.minted.errors import MintedCredentialsError

DEFAULT_SECRET_MAX_AGE_SECONDS = 300


class PartnerCredentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    username: str = Field(min_length=1, repr=False)
    password: SecretStr = Field(min_length=1)
    base_url: str = Field(min_length=1)
    client_id: str = Field(default="web", min_length=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (or http:// for the local sandbox)")
        return value.rstrip("/")

    def password_value(self) -> str:
        return self.password.get_secret_value()


class CredentialsSource(Protocol):
    def get(self, *, force_refresh: bool = False) -> PartnerCredentials: ...


class StaticCredentials:
    """Fixed credentials, for local tools and tests that need no AWS."""

    def __init__(self, credentials: PartnerCredentials) -> None:
        self._credentials = credentials

    def get(self, *, force_refresh: bool = False) -> PartnerCredentials:
        return self._credentials

    def __repr__(self) -> str:
        return "StaticCredentials(<hidden>)"


class SecretsManagerCredentials:
    """Reads the partner secret through Powertools Parameters, which caches it for ``max_age``.

    ``force_refresh`` skips the cache: the client asks for it once when Minted refuses the cached
    credentials, so a rotated secret is picked up without waiting for the cache to expire.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        max_age: int = DEFAULT_SECRET_MAX_AGE_SECONDS,
        boto3_client: Any = None,
        defaults: Mapping[str, str | None] | None = None,
    ) -> None:
        self.secret_id = secret_id
        self._defaults = {key: value for key, value in (defaults or {}).items() if value}
        self._max_age = max_age
        self._boto3_client = boto3_client
        self._provider: Any = None
        self._parsed: tuple[Any, PartnerCredentials] | None = None

    def get(self, *, force_refresh: bool = False) -> PartnerCredentials:
        # Imported here: Parameters imports boto3, which the client must not pay for at import time.
        from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415
        from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
            GetParameterError,
            TransformParameterError,
        )

        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self._boto3_client)
        try:
            raw = self._provider.get(self.secret_id, transform="json", max_age=self._max_age, force_fetch=force_refresh)
        except TransformParameterError:
            raise MintedCredentialsError("credentials", f"secret {self.secret_id} is not a JSON object") from None
        except GetParameterError as exc:
            reason = type(exc.__cause__).__name__ if exc.__cause__ else "unknown error"
            raise MintedCredentialsError(
                "credentials", f"secret {self.secret_id} could not be read ({reason})"
            ) from None
        # Powertools hands back the same cached object until it fetches again: validate once per fetch.
        if self._parsed is not None and self._parsed[0] is raw:
            return self._parsed[1]
        credentials = parse_credentials(raw, self.secret_id, self._defaults)
        self._parsed = (raw, credentials)
        return credentials

    def forget(self) -> None:
        """The next ``get`` reads the secret again (after a SnapStart restore: it may have rotated)."""
        self._provider = None
        self._parsed = None

    def __repr__(self) -> str:
        return f"SecretsManagerCredentials({self.secret_id!r})"


def parse_credentials(raw: Any, source: str, defaults: Mapping[str, str] | None = None) -> PartnerCredentials:
    """The secret's fields over ``defaults`` (the stack's host and client id)."""
    try:
        return PartnerCredentials.model_validate({**(defaults or {}), **raw} if isinstance(raw, dict) else raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) or "secret" for error in exc.errors()})
        raise MintedCredentialsError(
            "credentials", f"secret {source} lacks valid fields: {', '.join(fields)}"
        ) from None
