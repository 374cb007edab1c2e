"""make dev's identity provider and API Gateway's JWT authorizer, so the local API has the same gate.

``LocalIssuer`` is a throwaway OIDC issuer: an RSA key made when the stack starts, its public half
served as a JWKS on the local gateway's port (``/.well-known/jwks.json``, found through
``/.well-known/openid-configuration``), and tokens signed with it (``make token``, the tests).
Its private key is a local development key only: written, for ``make token``, to a git-ignored file
that only its owner can read, and removed when the stack stops.

``JwtAuthorizer`` checks a request as API Gateway's JWT authorizer does (HTTP API, "Control access
to HTTP APIs with JWT authorizers"): the token in the Authorization header (``Bearer`` optional),
its ``kid`` in the issuer's JWKS, an RSA signature (RS256), ``iss``, ``aud`` (or ``client_id`` when
there is no ``aud``) among the audiences, ``exp``, ``nbf`` and ``iat``; any of these wrong is 401.
Then the route's scopes: the token's ``scope`` (or ``scp``) must hold one of them, else 403.
The verification is joserfc's; nothing here is hand-written cryptography.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

ALGORITHM = "RS256"  # API Gateway's JWT authorizer takes RSA signatures only
LOCAL_AUDIENCE = "minted-gateway-local"
LOCAL_CLIENT_ID = "make-dev"
DEFAULT_SUBJECT = "local-developer"
DEFAULT_TTL_SECONDS = 3600
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
CUSTOMER_CLAIM = "minted_customer"  # minted_gateway.caller reads it: a token for one customer only


class LocalIssuer:
    """A signing key and the tokens it signs, for one running stack."""

    def __init__(self, key: RSAKey | None = None, *, issuer: str = "", audience: str = LOCAL_AUDIENCE) -> None:
        self.key = key or RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": ALGORITHM}
        )
        self.issuer = issuer  # the gateway's URL, once it has a port
        self.audience = audience

    @classmethod
    def from_key_file(cls, path: Path, *, issuer: str, audience: str = LOCAL_AUDIENCE) -> LocalIssuer:
        return cls(RSAKey.import_key(json.loads(path.read_text(encoding="utf-8"))), issuer=issuer, audience=audience)

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def discovery(self) -> dict[str, Any]:
        """The part of an OpenID provider's configuration an authorizer reads: where the keys are."""
        return {"issuer": self.issuer, "jwks_uri": self.issuer + JWKS_PATH,
                "id_token_signing_alg_values_supported": [ALGORITHM]}  # fmt: skip

    def mint(
        self,
        scopes: Iterable[str],
        *,
        customer: str | None = None,
        ttl: int = DEFAULT_TTL_SECONDS,
        subject: str = DEFAULT_SUBJECT,
        **claims: Any,
    ) -> str:
        """A token as an identity provider's client-credentials (or user) flow gives one."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": LOCAL_CLIENT_ID,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
        }
        if customer is not None:
            payload[CUSTOMER_CLAIM] = customer
        payload.update(claims)
        return sign(payload, self.key)

    def write_key(self, path: Path) -> Path:
        """The private key (a JWK, with its kid) for ``make token``: readable by its owner only, created so."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(json.dumps(self.key.as_dict(private=True)).encode())
        return path


def sign(payload: Mapping[str, Any], key: RSAKey, header: Mapping[str, Any] | None = None) -> str:
    return jwt.encode({"alg": ALGORITHM, "typ": "JWT", "kid": key.kid, **(header or {})}, dict(payload), key)


@dataclass(frozen=True)
class Refusal(Exception):
    """Why the authorizer refused a request: 401 (no valid token) or 403 (not the route's scope)."""

    status: int
    description: str
    scopes: tuple[str, ...] = ()
    caller: Authorized | None = None  # a 403's valid token: whom the access log names

    @property
    def www_authenticate(self) -> str:
        # API Gateway's header (its troubleshooting guide shows this form).
        error = "insufficient_scope" if self.status == 403 else "invalid_token"
        return f'Bearer scope="{" ".join(self.scopes)}" error="{error}" error_description="{self.description}"'


@dataclass(frozen=True)
class Authorized:
    """What API Gateway hands the function in ``requestContext.authorizer.jwt``."""

    claims: dict[str, str]
    scopes: list[str]


class JwtAuthorizer:
    def __init__(self, issuer: str, audiences: Iterable[str], jwks: Mapping[str, Any]) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self.keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]

    def authorize(self, authorization: str | None, route_scopes: Iterable[str]) -> Authorized:
        wanted = tuple(route_scopes)
        token = _bearer(authorization)
        if not token:
            raise Refusal(401, "the request has no token", wanted)
        try:
            decoded = jwt.decode(token, self.keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            raise Refusal(401, "the token is not signed by the issuer's keys", wanted) from None
        if decoded.header.get("kid") not in {key.kid for key in self.keys.keys}:
            raise Refusal(401, "the token's kid is not one of the issuer's keys", wanted)
        claims = decoded.claims
        if claims.get("iss") != self.issuer:
            raise Refusal(401, "the token does not have a valid issuer", wanted)
        audiences = claims.get("aud") if "aud" in claims else claims.get("client_id")
        if not self.audiences.intersection([audiences] if isinstance(audiences, str) else audiences or []):
            raise Refusal(401, "the token does not have a valid audience", wanted)
        now = time.time()
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now:
            raise Refusal(401, "the token has expired", wanted)
        for name in ("nbf", "iat"):
            if name in claims and (not isinstance(claims[name], int | float) or claims[name] > now):
                raise Refusal(401, f"the token's {name} is in the future", wanted)
        scopes = token_scopes(claims)
        authorized = Authorized({name: claim_text(value) for name, value in claims.items()}, scopes)
        if wanted and not set(wanted).intersection(scopes):
            raise Refusal(403, "the token does not have the scope this route requires", wanted, authorized)
        return authorized


def _bearer(authorization: str | None) -> str:
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """``scope`` (a space-separated string) or ``scp`` (a list, or a string)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    return [str(scope) for scope in value] if isinstance(value, list) else []


def claim_text(value: Any) -> str:
    """API Gateway passes every claim on as a string (an array as "[a b]")."""
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
