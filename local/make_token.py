"""``make token SCOPES="minted/orders.write minted/orders.read" [CUSTOMER=cust-0001] [TTL=3600]``.

Prints a token for the running ``make dev``, signed by its local issuer (the issuer, audience and
signing key it recorded beside ``.dev/stack.json``), for ``curl -H "Authorization: Bearer $TOKEN"``
or Swagger UI's Authorize button. ``CUSTOMER`` binds the token to one customer (the claim
``minted_customer``): it then acts for that customer only. No running stack is one line and a
non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local import stackfile
from local.jwt_issuer import DEFAULT_TTL_SECONDS, LocalIssuer
from minted_gateway.caller import Scope

NO_STACK, BAD_USAGE = 2, 64


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make token", description=__doc__)
    parser.add_argument("--scopes", default="", help="space-separated, e.g. minted/prices.read minted/orders.read")
    parser.add_argument("--customer", default=None, help="a customer's external_id: the token acts for them only")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds until it expires")
    args = parser.parse_args(argv)
    scopes = args.scopes.split()
    unknown = sorted(set(scopes) - {scope.value for scope in Scope})
    if not scopes or unknown:
        known = " ".join(scope.value for scope in Scope)
        problem = f"unknown scope {', '.join(unknown)}" if unknown else "no scope given"
        print(f'make token: {problem}; SCOPES="..." takes one or more of: {known}', file=sys.stderr)
        return BAD_USAGE
    if args.ttl < 1:
        print("make token: TTL is in seconds, 1 or more", file=sys.stderr)
        return BAD_USAGE
    stack = stackfile.read()
    if stack is None:
        print(f"make token: {stackfile.no_stack_message()}", file=sys.stderr)
        return NO_STACK
    key = Path(stack.signing_key_file) if stack.signing_key_file else None
    if key is None or not key.is_file():
        print("make token: no make dev is running here (start it first: make dev)", file=sys.stderr)
        return NO_STACK
    issuer = LocalIssuer.from_key_file(key, issuer=stack.issuer, audience=stack.audience)
    print(issuer.mint(scopes, customer=args.customer or None, ttl=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
