"""``python -m local.minted_sandbox --port 8080``: a Minted Connect stand-in on loopback."""

from __future__ import annotations

import argparse
import logging
import os
from decimal import Decimal

from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings


def main(argv: list[str] | None = None) -> None:
    defaults = SandboxSettings()
    parser = argparse.ArgumentParser(prog="python -m local.minted_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one; default 8080)")
    parser.add_argument("--username", default=defaults.username, help="partner username (default: %(default)s)")
    parser.add_argument(
        "--password-env",
        default="MINTED_SANDBOX_PASSWORD",
        help="environment variable holding the partner password (default: %(default)s; "
        f"unset means {defaults.password!r})",
    )
    parser.add_argument(
        "--completion-delay",
        type=float,
        default=defaults.completion_delay_seconds,
        help="seconds until an order is Completed (default: %(default)s)",
    )
    parser.add_argument("--token-ttl", type=int, default=defaults.token_ttl_seconds, help="price token lifetime, s")
    parser.add_argument("--seed", type=int, default=None, help="seed for the price random walk")
    parser.add_argument("--realm", default=defaults.realm, help="Digest realm (default: %(default)s)")
    args = parser.parse_args(argv)
    settings = SandboxSettings(
        username=args.username,
        password=os.environ.get(args.password_env, defaults.password),
        completion_delay_seconds=args.completion_delay,
        token_ttl_seconds=args.token_ttl,
        seed=args.seed,
        realm=args.realm,
        spread=Decimal("0.015"),
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = SandboxServer(settings, host=args.host, port=args.port)
    print(
        f"Minted sandbox on {server.url} (realm {settings.realm}, user {settings.username}); Ctrl-C stops it",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
