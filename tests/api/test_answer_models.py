"""A request reads a route's parameters and body, never the documented answers' models nor Powertools
(they are the OpenAPI document's alone), and the document stays the same whether or not requests came first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


HTTP_FUNCTIONS = sorted(
    p.name for p in (ROOT / "functions").iterdir() if "def http_api" in _source(p / f"{p.name}_function.py")
)
# Each route once, with a body and path values its validation refuses (a route without any answers
# 500 here: no stack; the answer does not matter, only that the route served a request).
SERVE_AND_DOCUMENT = """
import json, re, sys
import {function}_function as f

def document(app):
    return app.get_openapi_json_schema(title="gateway")

fresh = document(f.http_api.__wrapped__())
for name in [name for name in sys.modules if name.startswith("aws_lambda_powertools.event_handler")]:
    del sys.modules[name]  # the document imported it; the requests below must not
app = f.http_api.__wrapped__()
routes = app.routes
statuses = []
for route in routes:
    path = re.sub(r"<[^>]+>", "!!!", route.path)
    event = {{"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "body": "[]",
              "headers": {{"content-type": "application/json"}}, "isBase64Encoded": False,
              "requestContext": {{"http": {{"method": route.method, "path": path}}, "requestId": "r",
                                  "stage": "$default"}}}}
    statuses.append(app.resolve(event, None)["statusCode"])
powertools = "aws_lambda_powertools.event_handler" in sys.modules
print(json.dumps({{"routes": len(routes), "statuses": statuses, "powertools_imported": powertools,
                  "same_document": document(app) == fresh, "documented_models": fresh.count('"$ref"')}}))
"""


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_requests_read_no_answer_models_and_the_document_is_unchanged_after_them(function: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "layers" / "minted"), "AWS_REGION": "eu-central-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "POWERTOOLS_METRICS_NAMESPACE": "test"}  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SERVE_AND_DOCUMENT.format(function=function)],
        capture_output=True, text=True, check=True, cwd=ROOT / "functions" / function, env=env, timeout=120,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["routes"]:
        pytest.skip(f"{function} serves no route")
    assert result["routes"] == len(result["statuses"])
    assert result["powertools_imported"] is False, result
    assert result["documented_models"] > 0  # the document names the answers' models ...
    assert result["same_document"], result  # ... and names them the same after requests were served
