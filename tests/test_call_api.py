"""scripts/call-api: a JWT from API_TOKEN as a Bearer token, or a SigV4 signature of exactly what it sends.

The script runs as an operator runs it (a subprocess), against an HTTP server here that records
each request and answers like the partner API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "call-api"
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        status = 404 if self.path.startswith("/orders/no-such") else 200
        answer = json.dumps({"external_id": self.path.rsplit("/", 1)[-1]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's names)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "API_TOKEN"}
    return subprocess.run(  # noqa: S603 (this repository's own script)
        [sys.executable, str(SCRIPT), *args],
        env={**clean, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_jwt_from_the_environment_goes_as_a_bearer_token(api: str) -> None:
    done = call("GET", f"{api}/orders/my-first-order", env={"API_TOKEN": "eyJ.token.sig"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "HTTP 200 OK"
    assert json.loads(done.stdout.splitlines()[1]) == {"external_id": "my-first-order"}
    (request,) = _Recorder.seen
    assert request["headers"]["Authorization"] == "Bearer eyJ.token.sig"


def test_without_a_token_the_request_is_signed_with_sigv4_as_sent(api: str) -> None:
    body = '{"external_id": "cust-0002", "firstname": "Mehmet"}'
    done = call(
        "POST",
        f"{api}/customers?dry=1",
        "-",
        stdin=body,
        env={"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "eu-central-1"},
    )
    assert done.returncode == 0, done.stderr
    (request,) = _Recorder.seen
    assert request["body"] == body.encode() and request["headers"]["Content-Type"] == "application/json"
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/eu-central-1/execute-api/aws4_request" in authorization
    # Recompute the signature over what arrived: method, path, query, the signed headers and the body.
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {k: v for k, v in request["headers"].items() if k.lower() in signed}
    received = AWSRequest(method="POST", url=f"{api}{request['path']}", data=request["body"], headers=headers)
    received.context["timestamp"] = request["headers"]["X-Amz-Date"]
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), "execute-api", "eu-central-1")
    signature = signer.signature(signer.string_to_sign(received, signer.canonical_request(received)), received)
    assert authorization.endswith(f"Signature={signature}")


def test_a_refusal_is_printed_and_exits_non_zero(api: str) -> None:
    done = call("GET", f"{api}/orders/no-such-order", env={"API_TOKEN": "t"})
    assert done.returncode == 1 and done.stdout.startswith("HTTP 404 ")


def test_without_a_token_or_credentials_it_says_what_is_missing(api: str) -> None:
    done = call("GET", f"{api}/orders/x", env={"AWS_REGION": "eu-central-1"})
    assert done.returncode != 0 and "API_TOKEN" in done.stderr
    assert _Recorder.seen == []
