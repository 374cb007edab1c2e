"""``make dev``: the whole API on one machine, no Docker, no AWS account.

Starts moto_server (the template's tables and secrets created in it, the partner secret pointing at
the sandbox, and the buy workflow running in moto's Step Functions interpreter with its Lambda tasks
routed to our handlers), the Minted sandbox, the local gateway that serves the template's HttpApi
routes by invoking the real handlers in-process behind API Gateway's JWT check (tokens from a local
issuer whose key is made here: ``make token``), the price schedule, and the order-events pipe
(the ledger's stream to the order-events bus, each event printed). Runs until Ctrl-C.

``MINTED_BASE_URL=https://api.staging.mintedconnect.com make dev`` runs the same stack against that
Minted (or any Minted-compatible host) instead of the sandbox, which is then not started: the user
is ``MINTED_USERNAME``, the password comes from ``.dev/minted.env`` (``MINTED_PASSWORD=...``; git
ignores .dev/, and ``MINTED_ENV_FILE`` names another file) or from a prompt, never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
import threading
import time
import tomllib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
from moto.server import ThreadedMotoServer

from local import stackfile
from local.gateway import GatewayServer, LocalGateway
from local.jwt_issuer import JWKS_PATH, LocalIssuer
from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from local.moto_dynamodb import serialise_writes
from local.order_events import BusTap, LocalPipe, pipes_of, print_event
from local.queues import LocalEventSource, create_queues, event_sources_of
from local.scheduler import LocalScheduler, schedules_of
from local.stackfile import REGION, ROOT, STACK_NAME
from local.stepfunctions import (
    MOTO_CONFIG,
    MOTO_DEFAULT_CONFIG,
    LambdaRouter,
    configure_moto,
    deploy_workflow,
    lambda_routed_to,
)
from local.template import (
    create_archives,
    create_event_buses,
    create_secrets,
    create_tables,
    function_environment,
    functions_of,
    load_template,
)

# What Lambda or the template would set, and what only makes sense locally.
LOCAL_RUNTIME_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}
# make dev's console is one line per request and per event: the functions' metrics (EMF lines) are
# not written, and their own log lines only from WARNING up (LOG_LEVEL=INFO make dev shows them all).
CONSOLE_ENV = {"POWERTOOLS_METRICS_DISABLED": "true", "LOG_LEVEL": "WARNING"}
MINTED_ENV_FILE = ROOT / ".dev" / "minted.env"


@dataclass(frozen=True)
class MintedHost:
    """A Minted the stack uses instead of its sandbox (MINTED_BASE_URL): Minted's staging host, or any
    Minted-compatible one."""

    base_url: str
    username: str
    password: str = field(repr=False)


class DevStack:
    def __init__(self, *, host: str = "127.0.0.1", moto_port: int = 5000, sandbox_port: int = 8080,
                 gateway_port: int | None = 3000, schedule: bool = False, order_events: bool = False,
                 extra_env: dict[str, str] | None = None, parameters: dict[str, str] | None = None,
                 progress: Callable[[str], None] | None = None, minted: MintedHost | None = None) -> None:  # fmt: skip
        self.settings = SandboxSettings()
        self.minted = minted  # None: the sandbox is Minted
        # Not even bound when another Minted is used: SANDBOX_PORT may be taken, and nothing needs it.
        self._sandbox = SandboxServer(self.settings, host=host, port=sandbox_port) if minted is None else None
        self.moto = ThreadedMotoServer(ip_address=host, port=moto_port, verbose=False)
        self.aws_url = f"http://{host}:{moto_port}"
        self._host = host
        self._gateway_port = gateway_port
        self.gateway: GatewayServer | None = None
        self.issuer = LocalIssuer()  # its issuer URL is the gateway's, once it has a port
        self.router: LambdaRouter | None = None
        self.scheduler: LocalScheduler | None = None
        self._schedule = schedule
        self._routing: Any = None
        self._moto_port = moto_port
        self._extra_env = extra_env or {}
        self._parameters = {"Stage": "local", **(parameters or {})}  # the template's, as a deploy would give them
        self._progress = progress or (lambda _step: None)
        self._order_events = order_events
        self.pipes: list[LocalPipe] = []
        self.taps: list[BusTap] = []
        self.event_sources: list[LocalEventSource] = []

    @property
    def sandbox(self) -> SandboxServer:
        if self._sandbox is None:
            raise RuntimeError("this stack uses the Minted at MINTED_BASE_URL, not the sandbox")
        return self._sandbox

    @property
    def minted_url(self) -> str:
        return self.minted.base_url if self.minted else self.sandbox.url

    def start(self) -> DevStack:
        self._progress(f"starting moto_server (local AWS) on {self.aws_url}")
        serialise_writes()  # conditional writes as atomic as DynamoDB's (the limits' counters rely on it)
        self.moto.start()
        if self.minted is None:
            self._progress(f"starting the Minted sandbox on {self.sandbox.url}")
            self.sandbox.start()
        else:
            self._progress(f"using the Minted at {self.minted.base_url} (MINTED_BASE_URL), not the sandbox")
        self._progress("creating the template's tables and secrets in moto_server")
        template = load_template()
        self.tables = create_tables(self._client("dynamodb"), template)
        self.buses = create_event_buses(self._client("events"), template)
        self.queues = create_queues(self._client("sqs"), template)  # PlansQueue, FiredOrdersQueue, dead letters
        create_archives(self._client("events"), template)  # docs/operations.md's replay works here too
        user, password = (self.minted.username, self.minted.password) if self.minted else (
            self.settings.username, self.settings.password)  # fmt: skip
        partner = {"username": user, "password": password, "base_url": self.minted_url, "client_id": "web"}
        self.secrets = create_secrets(
            self._client("secretsmanager"),
            {"PartnerSecret": json.dumps(partner), "LedgerKeySecret": secrets.token_urlsafe(48)},
            template,
        )
        self.env = {
            **function_environment(
                template, {**self.tables, **self.secrets, **self.buses, **self.queues}, self._parameters
            ),
            **LOCAL_RUNTIME_ENV,
            "AWS_ENDPOINT_URL": self.aws_url,
            **self._extra_env,
        }
        if self._gateway_port is not None:
            self._start_functions(template)
        return self

    def _start_functions(self, template: dict[str, Any]) -> None:
        """The handlers run in this process, as Lambda would run them: with the template's environment."""
        configure_moto(self.aws_url, MOTO_CONFIG)
        self.router = LambdaRouter(functions_of(template))
        self._routing = lambda_routed_to(self.router)
        self._routing.__enter__()
        self._progress("deploying the buy workflow to moto's Step Functions")
        self.workflow_arn = deploy_workflow(self._client, STACK_NAME, template)
        # moto's interpreter calls Lambda at MOTO_PORT; the buy function starts the workflow by its ARN.
        self.env.update(BUY_WORKFLOW_ARN=self.workflow_arn, MOTO_PORT=str(self._moto_port))
        os.environ.update(self.env)
        self._progress("starting the partner API (the template's routes, the real handlers in-process)")
        self.gateway = GatewayServer(LocalGateway(issuer=self.issuer), host=self._host, port=self._gateway_port or 0)
        self.issuer.issuer = self.gateway.url
        self.gateway.start()
        if self._schedule:
            self.scheduler = LocalScheduler(schedules_of(template)).start()
        # The SQS event sources (plan runs, fired conditional orders), each with MaximumConcurrency workers.
        sqs = self._client("sqs")
        self.event_sources = [LocalEventSource(source, sqs, self.queues[source.queue]).start()
                              for source in event_sources_of(template, self._parameters)]  # fmt: skip
        if self._order_events:
            clients = self._client("dynamodb"), self._client("dynamodbstreams"), self._client("events")
            self.pipes = [LocalPipe(spec, *clients, print_event).start() for spec in pipes_of(template)]
            self.taps = [
                BusTap(bus, clients[2], self._client("sqs"), print_event).start() for bus in self.buses.values()
            ]

    def stop(self) -> None:
        for source in self.event_sources:
            source.stop()
        for pipe in self.pipes:
            pipe.stop()
        for tap in self.taps:
            tap.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self._routing is not None:
            self._routing.__exit__(None, None, None)
            configure_moto(self.aws_url, MOTO_DEFAULT_CONFIG)
        # moto keeps its state per process, not per server: forget it, so a later stack starts clean.
        requests.post(f"{self.aws_url}/moto-api/reset", timeout=5)
        if self.minted is None:
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


def banner(stack: DevStack) -> list[str]:
    """What ``make dev`` prints once it is up (the README shows the same lines)."""
    assert stack.gateway is not None  # noqa: S101 - started with a port
    return [
        f"Partner API      {stack.gateway.url}  (OpenAPI /openapi.json, Swagger UI /swagger)",
        f"Tokens           issuer {stack.issuer.issuer}, audience {stack.issuer.audience} (JWKS {JWKS_PATH}); "
        'make token SCOPES="minted/prices.read ..." prints one',
        minted_line(stack),
        f"moto_server      {stack.aws_url}  (tables {', '.join(stack.tables)}; secrets {', '.join(stack.secrets)})",
        f"Buy workflow     {stack.workflow_arn}  (POST /orders/workflow starts it; make workflow ID=... follows it)",
        "Price schedule   the prices function refreshes the cache as the template's schedule says, and fires the "
        "crossed conditional orders and alerts",
        "Savings plans    due plans go on the run queue every minute, run with the template's MaximumConcurrency",
        "Queues           "
        + ", ".join(f"{s.source.queue} -> {s.source.function.logical_id}" for s in stack.event_sources)
        + ", each consumed as its event source would",
        "Reconciler       settles ledger rows needing attention on the template's schedule; make reconcile runs it now",
        f"Order events     bus {', '.join(stack.buses)}, fed from the ledger's stream; each event is printed here",
        f"Limits           {limits_shown(stack.env)}",
        "Everything lives in memory: stopping the stack forgets every order, quote and price.",
    ]


def minted_line(stack: DevStack) -> str:
    if stack.minted is None:
        user = stack.settings.username
        return f"Minted sandbox   {stack.sandbox.url}  (Digest user {user}; control API under /_sandbox/)"
    return (f"Minted           {stack.minted.base_url}  (MINTED_BASE_URL, Digest user {stack.minted.username}: "
            "the API, the workflow and the schedules use this Minted; no sandbox runs)")  # fmt: skip


def minted_host(environ: Mapping[str, str]) -> MintedHost | None:
    """MINTED_BASE_URL's Minted, or None for the sandbox. The password is read from the env file or a
    prompt, never from the command line (where ps and the shell's history would show it)."""
    base_url = environ.get("MINTED_BASE_URL", "").strip()
    if not base_url:
        return None
    env_file = Path(environ.get("MINTED_ENV_FILE") or MINTED_ENV_FILE)
    values = read_env_file(env_file)
    username = environ.get("MINTED_USERNAME") or values.get("MINTED_USERNAME")
    if not username:
        raise SystemExit(f"make dev: MINTED_BASE_URL is set; set MINTED_USERNAME too (or put it in {env_file.name})")
    password = values.get("MINTED_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise SystemExit(f"make dev: no MINTED_PASSWORD in {env_file} and no terminal to ask for it")
        password = getpass.getpass(f"Minted password for {username} at {base_url}: ")
    if not base_url.startswith(("https://", "http://")):
        raise SystemExit("make dev: MINTED_BASE_URL must start with https:// (or http:// for a local host)")
    return MintedHost(base_url.rstrip("/"), username, password)


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (``#`` comments, optional quotes); a missing file is empty."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    values = {}
    for line in lines:
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def limits_shown(env: dict[str, str]) -> str:
    """The limits the stack runs with (samconfig.toml's ``local`` examples for make dev), in a line."""
    currency = env.get("LIMIT_CURRENCY", "TRY")
    wording = {"LIMIT_ORDER_GRAMS": "g", "LIMIT_ORDER_AMOUNT": f"{currency} an order",
               "LIMIT_CUSTOMER_DAY_AMOUNT": f"{currency} a customer a day",
               "LIMIT_PARTNER_DAY_AMOUNT": f"{currency} the partner a day"}  # fmt: skip
    shown = [f"{env[name]} {unit}" for name, unit in wording.items() if env.get(name)]
    return "; ".join(part for part in shown if part) or "none set (the template's defaults)"


def local_parameters() -> dict[str, str]:
    """samconfig.toml's ``local`` parameter overrides (its example limits among them): make dev's defaults."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = config["local"]["deploy"]["parameters"]["parameter_overrides"]
    return dict(word.split("=", 1) for word in shlex.split(overrides))


class WithoutMetricLines:
    """make dev's stdout without the functions' EMF lines (CloudWatch reads them as metrics; on the
    console they are noise). Powertools prints its cold-start metric even with metrics disabled."""

    EMF_PREFIX = '{"_aws":'
    EMF_KEY = '"_aws":{'

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._dropped = threading.local()

    def write(self, text: str) -> int:
        # print() writes the line, then its newline: both go when the line was a metric.
        # The call lines (minted_gateway.call_timings) are EMF too, their fields first: dropped alike.
        if text.startswith(self.EMF_PREFIX) or (text.startswith("{") and self.EMF_KEY in text):
            self._dropped.line = True
            return len(text)
        if text == "\n" and getattr(self._dropped, "line", False):
            self._dropped.line = False
            return len(text)
        self._dropped.line = False
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stop_as_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM stops the stack as Ctrl-C does. Python runs it in the main thread, between two steps of
    whatever that thread is doing, so it takes no lock that thread could hold."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; the cleanup is not interrupted
    raise KeyboardInterrupt


PORT_TAKEN = 2


def taken_ports(ports: Mapping[str, int]) -> list[str]:
    """The variables (GATEWAY_PORT, ...) whose port on 127.0.0.1 something already listens on."""
    taken = []
    for variable, port in ports.items():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{variable}={port}")
    return taken


def quiet_workflow_interpreter() -> None:
    """moto's Step Functions interpreter logs, as an ERROR, each failure the workflow catches and each IsPresent
    test of a field that is absent: the workflow's normal paths (its events and make workflow ID=... show them)."""
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)


def main() -> None:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", "3000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8080")))
    args = parser.parse_args()
    ports = {"GATEWAY_PORT": args.gateway_port, "SANDBOX_PORT": args.sandbox_port, "MOTO_PORT": args.moto_port}
    if taken := taken_ports(ports):  # said before anything starts, naming what to change
        print(
            f"make dev: port taken: {', '.join(taken)} (another program, or another make dev: see .dev/stacks/). "
            "Start on free ones, e.g. GATEWAY_PORT=3100 SANDBOX_PORT=8180 MOTO_PORT=5100 make dev",
            file=sys.stderr,
        )
        sys.exit(PORT_TAKEN)
    minted = minted_host(os.environ)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the gateway writes its own access log line
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials ..." on every client
    quiet_workflow_interpreter()
    # Powertools warns on each invocation that records no metric; make dev writes none (CONSOLE_ENV).
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    sys.stdout = WithoutMetricLines(sys.stdout)
    stack = DevStack(
        moto_port=args.moto_port,
        sandbox_port=args.sandbox_port,
        gateway_port=args.gateway_port,
        schedule=True,
        order_events=True,
        parameters=local_parameters(),
        progress=lambda step: print(f"make dev: {step}", flush=True),
        extra_env={**CONSOLE_ENV, **({"LOG_LEVEL": os.environ["LOG_LEVEL"]} if os.environ.get("LOG_LEVEL") else {})},
        minted=minted,
    ).start()
    assert stack.gateway is not None  # noqa: S101 - started with a port
    # SIGTERM (a shell's kill, the tests' stop) is handled before anything is recorded: arriving
    # right after the banner, its default action would end the process with its record left behind.
    signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
    key_file = stackfile.signing_key_file(os.getpid())
    try:
        stack.issuer.write_key(key_file)  # for make token; removed at stop
        stackfile.write(
            stackfile.StackAddresses(
                gateway_url=stack.gateway.url,
                sandbox_url=stack.sandbox.url if minted is None else "",
                aws_url=stack.aws_url,
                workflow_arn=stack.workflow_arn,
                pid=os.getpid(),
                issuer=stack.issuer.issuer,
                audience=stack.issuer.audience,
                signing_key_file=str(key_file),
                environment=stack.environment(),
            )
        )
        print("\n".join(["", *banner(stack), "Ctrl-C stops the stack."]), flush=True)
        while True:  # until Ctrl-C or SIGTERM raises KeyboardInterrupt
            # A sleep, not an Event or signal.pause(): a signal the kernel hands to one of the servers'
            # threads wakes neither, so its handler would wait for the main thread forever; a sleep
            # returns within a second and the handler runs then.
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stackfile.remove(os.getpid(), key_file)
        stack.stop()


if __name__ == "__main__":
    main()
