"""The partner's Minted credentials: a JSON secret in Secrets Manager, cached per container.

The secret holds ``{"username", "password"}``; Minted's host and client id are the stack's parameters
(``MINTED_BASE_URL``, ``MINTED_CLIENT_ID``), given here as ``defaults``. A secret from before they
moved out of it also holds ``base_url`` and ``client_id``, and those win: an upgrade changes nothing.
Nothing here puts a username or password in a repr, a log line or an exception message.
"""

import json
import time
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
    """Reads the partner secret and keeps it for ``max_age`` seconds.

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
        self._parsed: tuple[float, PartnerCredentials] | None = None  # until when, and what was read

    def get(self, *, force_refresh: bool = False) -> PartnerCredentials:
        if self._parsed is not None and not force_refresh and time.monotonic() < self._parsed[0]:
            return self._parsed[1]  # validated once per read
        raw = self._read()
        credentials = parse_credentials(raw, self.secret_id, self._defaults)
        self._parsed = (time.monotonic() + self._max_age, credentials)
        return credentials

    def _read(self) -> Any:
        # Imported here: the client must not pay for botocore at import time.
        from minted_gateway.secrets import UNREADABLE, read_secret  # noqa: PLC0415

        if self._boto3_client is None:
            import botocore.session  # noqa: PLC0415

            self._boto3_client = botocore.session.get_session().create_client("secretsmanager")
        try:
            value = read_secret(self._boto3_client, self.secret_id)
        except UNREADABLE as exc:
            reason = f"could not be read ({type(exc).__name__})"
            raise MintedCredentialsError("credentials", f"secret {self.secret_id} {reason}") from None
        try:
            return json.loads(value)
        except ValueError:
            raise MintedCredentialsError("credentials", f"secret {self.secret_id} is not a JSON object") from None

    def forget(self) -> None:
        """The next ``get`` reads the secret again (after a SnapStart restore: it may have rotated)."""
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
