"""``make dev``: the whole API on one machine, no Docker, no AWS account.

Starts moto_server (the template's tables and secrets created in it, the partner secret pointing at
the sandbox), the Minted sandbox, and the local gateway that serves the template's HttpApi routes
by invoking the real handlers in-process. Runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import threading
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.gateway import GatewayServer, LocalGateway
from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from local.template import create_secrets, create_tables, function_environment, load_template

REGION = "eu-central-1"
# What Lambda or the template would set, and what only makes sense locally.
LOCAL_RUNTIME_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


class DevStack:
    def __init__(self, *, host: str = "127.0.0.1", moto_port: int = 5000, sandbox_port: int = 8080,
                 gateway_port: int | None = 3000) -> None:  # fmt: skip
        self.settings = SandboxSettings()
        self.sandbox = SandboxServer(self.settings, host=host, port=sandbox_port)
        self.moto = ThreadedMotoServer(ip_address=host, port=moto_port, verbose=False)
        self.aws_url = f"http://{host}:{moto_port}"
        self._host = host
        self._gateway_port = gateway_port
        self.gateway: GatewayServer | None = None

    def start(self) -> DevStack:
        self.moto.start()
        self.sandbox.start()
        template = load_template()
        self.tables = create_tables(self._client("dynamodb"), template)
        partner = {"username": self.settings.username, "password": self.settings.password,
                   "base_url": self.sandbox.url, "client_id": "web"}  # fmt: skip
        self.secrets = create_secrets(
            self._client("secretsmanager"),
            {"PartnerSecret": json.dumps(partner), "LedgerKeySecret": secrets.token_urlsafe(48)},
            template,
        )
        self.env = {
            **function_environment(template, {**self.tables, **self.secrets}, {"Stage": "local"}),
            **LOCAL_RUNTIME_ENV,
            "AWS_ENDPOINT_URL": self.aws_url,
        }
        if self._gateway_port is not None:
            # The handlers run in this process, as Lambda would run them: with the template's environment.
            os.environ.update(self.env)
            self.gateway = GatewayServer(LocalGateway(), host=self._host, port=self._gateway_port)
            self.gateway.start()
        return self

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        self.sandbox.stop()
        self.moto.stop()

    def environment(self) -> dict[str, str]:
        """What a process needs to use this stack's AWS side (the variables the template sets)."""
        return dict(self.env)

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
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", "3000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8080")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request from three servers is noise
    stack = DevStack(moto_port=args.moto_port, sandbox_port=args.sandbox_port, gateway_port=args.gateway_port).start()
    assert stack.gateway is not None  # noqa: S101 - started with a port
    print(f"Partner API      {stack.gateway.url}  (OpenAPI /openapi.json, Swagger UI /swagger)")
    print(
        f"Minted sandbox   {stack.sandbox.url}  (Digest user {stack.settings.username}; control API under /_sandbox/)"
    )
    print(f"moto_server      {stack.aws_url}  (tables {', '.join(stack.tables)}; secrets {', '.join(stack.secrets)})")
    print("Ctrl-C stops the stack.", flush=True)
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
