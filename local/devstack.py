"""``make dev``: the local stack on one machine, no Docker, no AWS account.

Starts moto_server (the template's tables and partner secret created in it, the secret pointing at
the sandbox) and the Minted sandbox, prints how to reach them, and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from local.template import create_partner_secret, create_tables, load_template

REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-central-1")


class DevStack:
    def __init__(self, *, host: str = "127.0.0.1", moto_port: int = 5000, sandbox_port: int = 8080) -> None:
        self.settings = SandboxSettings()
        self.sandbox = SandboxServer(self.settings, host=host, port=sandbox_port)
        self.moto = ThreadedMotoServer(ip_address=host, port=moto_port, verbose=False)
        self.aws_url = f"http://{host}:{moto_port}"

    def start(self) -> DevStack:
        self.moto.start()
        self.sandbox.start()
        template = load_template()
        self.tables = create_tables(self._client("dynamodb"), template)
        self.secret_id = create_partner_secret(
            self._client("secretsmanager"),
            {
                "username": self.settings.username,
                "password": self.settings.password,
                "base_url": self.sandbox.url,
                "client_id": "web",
            },
            template,
        )
        return self

    def stop(self) -> None:
        self.sandbox.stop()
        self.moto.stop()

    def environment(self) -> dict[str, str]:
        """What a process needs to use this stack (the same variables the template sets)."""
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_DEFAULT_REGION": REGION,
            "PARTNER_SECRET_ID": self.secret_id,
            "ORDERS_TABLE": self.tables["OrdersTable"],
            "PRICES_TABLE": self.tables["PricesTable"],
            "STAGE": "local",
        }

    def _client(self, service: Any) -> Any:
        # moto_server accepts any credentials; fixed fake ones keep a real profile out of it.
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8080")))
    args = parser.parse_args()
    stack = DevStack(moto_port=args.moto_port, sandbox_port=args.sandbox_port).start()
    print(
        f"Minted sandbox   {stack.sandbox.url}  (Digest user {stack.settings.username}; control API under /_sandbox/)"
    )
    print(f"moto_server      {stack.aws_url}  (tables {', '.join(stack.tables)}; secret {stack.secret_id})")
    print("Use it from another shell with:")
    for name, value in stack.environment().items():
        print(f"  export {name}={value}")
    print("Ctrl-C stops the stack.")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
