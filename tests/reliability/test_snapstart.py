"""SnapStart's hooks, on two copies restored from one snapshot (simulated: a process that imported the
function, served requests and ran the before-snapshot hook, then forked twice; each child runs the
after-restore hook and serves requests). A snapshot taken after a Minted call holds its nonce, its
nonce count, the secret and open connections: no two copies may send the same nonce count (Minted
refuses the second as a replay) or write to the same socket.

The sandbox and moto_server close each connection after its answer, so that nothing could be shared;
here both are reached through a keep-alive proxy, as Minted and DynamoDB keep connections open."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from bench.cold import ColdRuntime, XRayDaemon, run_child
from bench.measure import ROOT
from bench.run import http_event
from local.devstack import DevStack
from local.template import function_environment, functions_of, load_template
from tests.bench.test_cold_start import VENV_SITE

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class KeepAliveProxy(BaseHTTPRequestHandler):
    """Forwards each request to ``upstream`` and keeps the caller's connection open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        host, port = self.server.upstream  # type: ignore[attr-defined]
        upstream = http.client.HTTPConnection(host, port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():  # every WWW-Authenticate (one per Digest algorithm)
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def keep_alive() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def proxy(url: str) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveProxy)
        server.upstream = (urlsplit(url).hostname, urlsplit(url).port)  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield proxy
    for server in servers:
        server.shutdown()
        server.server_close()


def restore_two_copies(stack: DevStack, keep_alive: Any) -> dict[str, Any]:
    template = load_template()
    spec = functions_of(template)["PricesFunction"]
    secrets = boto3.client("secretsmanager", endpoint_url=stack.aws_url, region_name="eu-central-1")
    partner = json.loads(secrets.get_secret_value(SecretId=stack.env["PARTNER_SECRET_ID"])["SecretString"])
    probe = f"snapstart-probe-{uuid.uuid4().hex[:8]}"  # the partner's secret, Minted behind the proxy
    secrets.create_secret(Name=probe, SecretString=json.dumps({**partner, "base_url": keep_alive(partner["base_url"])}))
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
           "AWS_ENDPOINT_URL": keep_alive(stack.aws_url), "PARTNER_SECRET_ID": probe}  # fmt: skip
    quote, prices = http_event("prices/post_quotes.json"), http_event("prices/get_prices.json")
    daemon = XRayDaemon()
    try:  # a Minted call (the quote) and a DynamoDB read (the cached prices), before and after
        return run_child(ColdRuntime(sys.executable, VENV_SITE, env),
                         {"kind": "restore", "module": spec.handler.split(".")[0], "warm_events": [quote, prices],
                          "event": quote, "then": [quote, prices], "copies": 2, "wire": True},
                         ROOT / spec.code_uri, daemon)  # fmt: skip
    finally:
        daemon.close()


def test_two_copies_of_one_snapshot_send_no_nonce_count_twice_and_share_no_connection(
    stack: DevStack, keep_alive: Any
) -> None:
    out = restore_two_copies(stack, keep_alive)

    first, second = out["copies"]
    for copy in (first, second):
        assert copy["result"]["statusCode"] == 201
        assert [answer["statusCode"] for answer in copy["then"]] == [201, 200]
    snapshot = out["snapshot_wire"]
    wires = [snapshot, first["wire"], second["wire"]]
    assert any(w["nonce"] for w in snapshot["auth"])  # the snapshot did hold a nonce to renew
    sent = [(w["nonce"], w["nc"]) for wire in wires for w in wire["auth"] if w["nonce"]]
    assert [pair for pair, times in Counter(sent).items() if times > 1] == []
    ports = [Counter(w["port"] for w in wire["connections"]) for wire in wires]
    assert any(times > 1 for times in ports[0].values())  # connections were kept open, so they could be shared
    assert not (set(ports[0]) & set(ports[1]) or set(ports[0]) & set(ports[2]) or set(ports[1]) & set(ports[2]))
    # Each copy was challenged afresh: it forgot the snapshot's nonce rather than guess at a count.
    assert first["wire"]["auth"][0]["nonce"] is None and second["wire"]["auth"][0]["nonce"] is None


@pytest.mark.parametrize(("initialization", "registered"), [("snap-start", "before after"), ("on-demand", "")])
def test_the_hooks_are_registered_only_when_lambda_initialises_for_a_snapshot(
    tmp_path: Any, initialization: str, registered: str
) -> None:
    # Lambda's runtime provides snapshot_restore_py; a stand-in records what is registered.
    (tmp_path / "snapshot_restore_py.py").write_text(
        "hooks = []\n"
        "def register_before_snapshot(hook): hooks.append('before')\n"
        "def register_after_restore(hook): hooks.append('after')\n",
        encoding="utf-8",
    )
    code = "import snapshot_restore_py, buy_function\nprint(' '.join(snapshot_restore_py.hooks))"
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT / 'layers' / 'minted'}", "PATH": "/usr/bin:/bin",
           "AWS_LAMBDA_INITIALIZATION_TYPE": initialization}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,  # noqa: S603
                            cwd=ROOT / "functions" / "buy", env=env)  # fmt: skip
    assert result.stdout.strip() == registered, result.stderr
