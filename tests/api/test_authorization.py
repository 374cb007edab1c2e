"""The gate in front of every route, as API Gateway's JWT authorizer keeps it, on make dev's stack.

The routes come from the served OpenAPI document, so a route added later without a scope, or one
the gateway lets through without its scope, fails here. A token that is not valid is 401; a valid
one without the route's scope is 403; both in the error envelope with the request id, before any
function runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

import pytest
import requests
from joserfc.jwk import RSAKey

from local.gateway import routes_from_template
from local.jwt_issuer import sign
from minted_gateway.caller import Scope
from tests.stack import Api

PATH_VALUES = {
    "external_id": "cust-0001",
    "document_type": "kvkk_disclosure",
    "trigger_id": "target-0001",
    "plan_id": "plan-0001",
}


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    document = api.get("/openapi.json").json()
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def call(api: Api, method: str, path: str) -> requests.Response:
    body = b"{}" if method in ("POST", "PATCH", "PUT") else None
    headers = {"Content-Type": "application/json"} if body else {}
    return api.http.request(method, api.url + concrete(path), data=body, headers=headers, timeout=30)


def assert_refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == code and error["details"] == [] and error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def jwt_scope(operation: dict[str, Any]) -> str:
    (jwt_requirement,) = [req["PartnerJwt"] for req in operation.get("security", []) if "PartnerJwt" in req]
    (scope,) = jwt_requirement
    return str(scope)


def test_every_route_in_the_document_requires_one_known_scope_and_the_gateway_enforces_it(api: Api) -> None:
    served = operations(api)
    assert len(served) >= 12
    for method, path, operation in served:
        scope = jwt_scope(operation)  # exactly one JWT requirement with exactly one scope
        assert scope in {s.value for s in Scope}, (method, path, scope)
        assert {"PartnerIam": []} in operation["security"], (method, path)
        others = [s.value for s in Scope if s.value != scope]
        assert_refused(call(api.as_caller(), method, path), 401, "unauthorized")
        assert_refused(call(api.as_caller(scopes=others), method, path), 403, "forbidden_scope")
        passed = call(api.as_caller(scopes=[scope]), method, path)
        assert passed.status_code not in (401, 403), (method, path, passed.text)


def test_the_template_gives_every_route_exactly_the_scope_the_document_serves(api: Api) -> None:
    template = {(route.method, route.path): route.scopes for route in routes_from_template()}
    served = {(method, path): (jwt_scope(op),) for method, path, op in operations(api)}
    assert template == served


def _segment(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _claims(api: Api, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": api.stack.issuer.issuer, "aud": api.stack.issuer.audience, "sub": "someone", "iat": now,
              "nbf": now, "exp": now + 600, "scope": " ".join(s.value for s in Scope)}  # fmt: skip
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _unsigned(api: Api) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": api.stack.issuer.kid}
    return f"{_segment(header)}.{_segment(_claims(api))}."


def _hs256_with_the_public_key(api: Api) -> str:
    """The classic confusion: HMAC keyed with the issuer's published RSA key."""
    public_pem = RSAKey.import_key(api.stack.issuer.jwks()["keys"][0]).as_pem(private=False)
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': api.stack.issuer.kid})}.{_segment(_claims(api))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


def _signed_by_another_key(api: Api) -> str:
    stranger = RSAKey.generate_key(2048, parameters={"kid": api.stack.issuer.kid})  # same kid, other key
    return sign(_claims(api), stranger)


def _tampered(api: Api) -> str:
    header, _, signature = api.mint().split(".")
    return f"{header}.{_segment(_claims(api, sub='someone-else'))}.{signature}"


INVALID_TOKENS = {
    "expired": lambda api: sign(_claims(api, exp=int(time.time()) - 5), api.stack.issuer.key),
    "not yet valid": lambda api: sign(_claims(api, nbf=int(time.time()) + 600), api.stack.issuer.key),
    "no expiry": lambda api: sign(_claims(api, exp=None), api.stack.issuer.key),
    "wrong issuer": lambda api: sign(_claims(api, iss="https://issuer.example.com/"), api.stack.issuer.key),
    "wrong audience": lambda api: sign(_claims(api, aud="another-api"), api.stack.issuer.key),
    "no audience, wrong client_id": lambda api: sign(_claims(api, aud=None, client_id="x"), api.stack.issuer.key),
    "bad signature": _signed_by_another_key,
    "tampered claims": _tampered,
    "alg none": _unsigned,
    "HS256 keyed with the JWKS public key": _hs256_with_the_public_key,
    "unknown kid": lambda api: sign(_claims(api), api.stack.issuer.key, {"kid": "not-the-issuers"}),
    "not a JWT": lambda api: "not-a-token",
}


@pytest.mark.parametrize("kind", list(INVALID_TOKENS))
def test_a_token_that_is_not_valid_is_401_in_the_envelope_before_any_function_runs(api: Api, kind: str) -> None:
    token = INVALID_TOKENS[kind](api)
    before = api.minted.counters()
    assert_refused(api.as_caller(token).get("/prices"), 401, "unauthorized")
    assert_refused(api.as_caller(token).post("/quotes", {"items": [{"sku": "GAU", "amount": 1}]}), 401, "unauthorized")
    assert api.minted.counters() == before  # nothing reached Minted


def test_a_valid_token_passes_with_or_without_bearer_and_by_client_id_when_it_has_no_audience(api: Api) -> None:
    issuer = api.stack.issuer
    assert api.get("/prices").status_code == 200
    bare = requests.get(api.url + "/prices", headers={"Authorization": api.mint()}, timeout=30)
    assert bare.status_code == 200, bare.text
    by_client = sign(_claims(api, aud=None, client_id=issuer.audience), issuer.key)
    assert api.as_caller(by_client).get("/prices").status_code == 200
    as_scp = sign(_claims(api, scope=None, scp=[Scope.PRICES_READ.value]), issuer.key)
    assert api.as_caller(as_scp).get("/prices").status_code == 200


def test_the_issuer_publishes_its_keys_on_the_gateway_port(api: Api) -> None:
    discovery = requests.get(api.url + "/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == api.url and discovery["jwks_uri"] == api.url + "/.well-known/jwks.json"
    (key,) = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert key["kty"] == "RSA" and key["kid"] == api.stack.issuer.kid and "d" not in key  # the public half only


def test_the_access_log_names_the_caller_a_scope_refused_and_no_one_for_a_bad_token(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="local.gateway"):
        refused = api.as_caller(scopes=[Scope.PRICES_READ.value], subject="dashboard").post("/quotes", {})
        unknown = api.as_caller("not-a-token").get("/prices")
    lines = {r.getMessage().split()[5]: r.getMessage() for r in caplog.records if r.name == "local.gateway"}
    assert lines[refused.headers["X-Request-Id"]].startswith("POST /quotes 403 ")
    assert lines[refused.headers["X-Request-Id"]].endswith(" sub=dashboard client=make-dev")
    assert lines[unknown.headers["X-Request-Id"]].endswith(" -")


@pytest.mark.parametrize("document", ["docs/auth.md", "README.md"])
def test_the_scope_tables_a_reader_follows_list_every_route_under_the_template_s_scope(document: str) -> None:
    """Found by a security review: docs/auth.md's table left POST /deliveries out. A reviewer grants scopes
    from these tables, so each lists every route of the template, under the scope the template requires."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / document).read_text(encoding="utf-8")
    listed: dict[str, str] = {}
    for scope, routes in re.findall(r"^\| `(minted/[a-z.]+)` \| (.+) \|$", text, flags=re.MULTILINE):
        for route in re.findall(r"`([A-Z]+ /[^`]*)`", routes):
            listed[route] = scope
    expected = {route.route_key: scope for route in routes_from_template() for scope in route.scopes}
    assert listed == expected


def test_the_cognito_recipe_creates_and_allows_every_scope() -> None:
    """Found by a security review: the recipe made no plans scopes, so a partner following it could not
    reach the plan routes."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs/auth.md").read_text(encoding="utf-8")
    recipe = text.split("### With Amazon Cognito", 1)[1].split("```", 2)[1]
    created = {f"minted/{name}" for name in re.findall(r"ScopeName=([a-z.]+)", recipe)}
    allowed = set(re.findall(r"minted/[a-z]+\.[a-z]+", recipe.split("--allowed-o-auth-scopes", 1)[1]))
    assert created == allowed == {scope.value for scope in Scope}
