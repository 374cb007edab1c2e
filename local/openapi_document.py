"""The finishing touches on the OpenAPI document the local gateway serves at /openapi.json.

Each function's resolver documents its own routes; merged, the document gets what a client
generator needs: the template's operationIds (``listPrices``, ``placeOrder``, ...), the two ways a
deployed stage authenticates callers, and no schema that nothing refers to; and what Swagger UI's
"Try it out" needs: each body's and path parameter's first example as its default, a valid request.
Each route's ``security`` (the JWT scope it requires, or a SigV4 signature) is the function's own
(``minted_gateway.caller``); a test holds it equal to the template's.
"""

from __future__ import annotations

import json
from typing import Any

SECURITY_SCHEMES = {
    "PartnerJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "AuthMode=JWT (the default): a JWT from your identity provider, issuer JwtIssuer, "
        "audience JwtAudience, holding the route's scope (minted/...). Locally: the output of make token.",
    },
    "PartnerIam": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AuthMode=IAM: the request signed with AWS Signature Version 4 (execute-api).",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
}
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SCHEMA_PREFIX = "#/components/schemas/"


def finish_document(document: dict[str, Any], operation_ids: dict[tuple[str, str], str | None]) -> dict[str, Any]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            if operation_ids.get((method, path)):
                operation["operationId"] = operation_ids[(method, path)]
            _true_validation_answer(operation)
            _default_examples(operation, document.get("components", {}).get("schemas", {}))
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    document.pop("security", None)  # each route names its own (the JWT's scope), none is left to a default
    components["schemas"] = used_schemas(document)
    return document


def _true_validation_answer(operation: dict[str, Any]) -> None:
    """Powertools adds a 422 in its own error shape to a route that documents none; ours is ErrorBody.

    A route with neither parameters nor a body has nothing to refuse, so its 422 goes.
    """
    responses = operation.get("responses", {})
    if f"{SCHEMA_PREFIX}HTTPValidationError" not in json.dumps(responses.get("422", {})):
        return
    if not operation.get("parameters") and not operation.get("requestBody"):
        del responses["422"]
        return
    responses["422"] = {
        "description": "Invalid input",
        "content": {"application/json": {"schema": {"$ref": f"{SCHEMA_PREFIX}ErrorBody"}}},
    }


def _default_examples(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """The first of a schema's examples as the operation's ``example``, which Swagger UI fills in: without
    one it builds a body from every property (both quote modes at once) and leaves path values empty."""
    for parameter in operation.get("parameters", []):
        examples = parameter.get("examples") or parameter.get("schema", {}).get("examples")
        if isinstance(examples, list) and examples and "example" not in parameter:
            parameter["example"] = examples[0]
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        ref = schema.get("$ref", "")
        examples = (schemas.get(ref.removeprefix(SCHEMA_PREFIX), {}) if ref.startswith(SCHEMA_PREFIX) else schema).get(
            "examples"
        )
        if isinstance(examples, list) and examples and "example" not in media:
            media["example"] = examples[0]


def used_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The component schemas the paths refer to, directly or through other schemas."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    used: set[str] = set()
    pending = _references(document["paths"])
    while pending:
        name = pending.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        pending |= _references(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in used}


def _references(node: Any) -> set[str]:
    text = json.dumps(node)
    found = set()
    for part in text.split(f'"$ref": "{SCHEMA_PREFIX}')[1:]:
        found.add(part.split('"', 1)[0])
    return found
